import type { AlbumId, FileId, FolderImageId, ImageType, Ino, OriginId } from "../core/types.ts";
import type { Database } from "./database.ts";
import { MANIFEST_IS_CURRENT } from "./fileColumns.ts";
import { NodeKind } from "./treeStore.ts";
import { nextRowId } from "./rowIds.ts";
import { asAlbumId, asFileId, asFolderImageId, asIno, asOriginId } from "../core/ids.ts";

/** A folder image as stored (folder_images). */
export interface StoredFolderImage {
  id: FolderImageId;
  originId: OriginId;
  realPath: string;
  size: number;
  mtimeMs: number;
  etag: string | null;
  type: ImageType | null;
}

/** Where an album's cover bytes are: a whole folder image, or a byte range of one of its tracks. */
export interface AlbumCover {
  imageId: FolderImageId | null;
  fileId: FileId | null;
  offset: number;
  length: number;
  type: ImageType;
}

/** An embedded picture of one of an album's tracks, as album_covers needs it. */
export interface TrackPicture {
  fileId: FileId;
  realPath: string;
  offset: number;
  length: number;
  type: ImageType;
  front: boolean;
  mtimeMs: number;
}

const IMAGE_COLUMNS = "id, origin_id, real_path, size, mtime_ms, etag, type";
type Row = (string | number | null)[];
const toImage = (r: Row): StoredFolderImage => ({
  id: asFolderImageId(Number(r[0])), originId: asOriginId(String(r[1])), realPath: String(r[2]), size: Number(r[3]), mtimeMs: Number(r[4]),
  etag: r[5] === null ? null : String(r[5]), type: r[6] === null ? null : (String(r[6]) as ImageType),
});

/**
 * The tables of cover art: folder images found on the origins and each album's chosen cover. SQL only: which image
 * is a cover is decided by src/library/coverChoice.ts, kept in step by src/app/catalog/coverIndex.ts. Main thread, inside the
 * caller's transactions. Picture bytes never come here: only where they are.
 */
export class CoverStore {
  constructor(private readonly db: Database) {}

  /** The stored folder images of an origin (below `prefix` when given: a scoped sync). */
  imagesOfOrigin(originId: OriginId, prefix = ""): StoredFolderImage[] {
    const rows = prefix
      ? this.db
          .stmt(`SELECT ${IMAGE_COLUMNS} FROM folder_images WHERE origin_id = ?1 AND (real_path = ?2 OR (real_path >= ?2 || '/' AND real_path < ?2 || '0'))`)
          .values(originId, prefix)
      : this.db.stmt(`SELECT ${IMAGE_COLUMNS} FROM folder_images WHERE origin_id = ?`).values(originId);
    return rows.map((r) => toImage(r as Row));
  }

  /** Records a folder image (new or changed: a changed one loses its cached manifest). */
  upsertImage(originId: OriginId, e: { realPath: string; size: number; mtimeMs: number; etag?: string | null }, type: ImageType | null): void {
    this.db
      .stmt(
        `INSERT INTO folder_images (id, origin_id, real_path, size, mtime_ms, etag, type) VALUES (${nextRowId("folder_images")}, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (origin_id, real_path) DO UPDATE SET size = excluded.size, mtime_ms = excluded.mtime_ms,
           etag = excluded.etag, type = excluded.type, chunk_manifest = NULL, manifest_size = NULL, manifest_mtime_ms = NULL`,
      )
      .run(originId, e.realPath, e.size, e.mtimeMs, e.etag ?? null, type);
  }

  deleteImage(id: FolderImageId): void {
    this.db.stmt("DELETE FROM folder_images WHERE id = ?").run(id);
  }

  image(id: FolderImageId): StoredFolderImage | null {
    const r = this.db.stmt(`SELECT ${IMAGE_COLUMNS} FROM folder_images WHERE id = ?`).values(id)[0];
    return r ? toImage(r as Row) : null;
  }

  /** The origin folders an album's tracks are in. */
  albumFolders(albumId: AlbumId): { originId: OriginId; dir: string }[] {
    return this.db
      .stmt("SELECT DISTINCT f.origin_id, f.real_dir FROM album_tracks t JOIN files f ON f.id = t.file_id WHERE t.album_id = ?")
      .values(albumId)
      .map((r) => ({ originId: asOriginId(String(r[0])), dir: String(r[1]) }));
  }

  /** Folder images directly in one origin folder ("" = root, else ending in "/"). */
  imagesInFolder(originId: OriginId, dir: string): StoredFolderImage[] {
    return this.db
      .stmt(`SELECT ${IMAGE_COLUMNS} FROM folder_images WHERE origin_id = ? AND real_dir = ?`)
      .values(originId, dir)
      .map((r) => toImage(r as Row));
  }

  /**
   * For every album at once (a first scan): the folder images of its tracks' folders and its tracks' pictures, in two
   * queries instead of three per album.
   */
  allAlbumSources(): Map<AlbumId, { images: StoredFolderImage[]; pictures: TrackPicture[] }> {
    const out = new Map<AlbumId, { images: StoredFolderImage[]; pictures: TrackPicture[] }>();
    const of = (albumId: AlbumId) => {
      let v = out.get(albumId);
      if (!v) out.set(albumId, (v = { images: [], pictures: [] }));
      return v;
    };
    const images = this.db.sqlite
      .prepare(
        // From the images (one per album folder at most, usually) to the files of their folders: 5× faster than
        // from every track to its folder's images (10k tracks: 10 ms against 50 ms).
        `SELECT t.album_id, ${IMAGE_COLUMNS.split(", ").map((c) => `i.${c}`).join(", ")}
         FROM folder_images i JOIN files f INDEXED BY files_real_dir ON f.origin_id = i.origin_id AND f.real_dir = i.real_dir
         JOIN album_tracks t ON t.file_id = f.id GROUP BY t.album_id, i.id`,
      )
      .values();
    for (const r of images) of(asAlbumId(Number(r[0]))).images.push(toImage(r.slice(1) as Row));
    for (const [albumId, picture] of this.picturesWhere("f.picture_length > 0")) of(albumId).pictures.push(picture);
    return out;
  }

  /** The embedded pictures of an album's tracks. */
  albumPictures(albumId: AlbumId): TrackPicture[] {
    return this.picturesWhere("t.album_id = ? AND f.picture_length > 0", albumId).map(([, p]) => p);
  }

  private picturesWhere(condition: string, ...params: number[]): [AlbumId, TrackPicture][] {
    return this.db.sqlite
      .prepare(
        `SELECT t.album_id, f.id, f.real_path, f.picture_offset, f.picture_length, f.picture_type, f.picture_front, f.mtime_ms
         FROM album_tracks t JOIN files f ON f.id = t.file_id WHERE ${condition}`,
      )
      .values(...params)
      .map((r) => [
        asAlbumId(Number(r[0])),
        {
          fileId: asFileId(Number(r[1])), realPath: String(r[2]), offset: Number(r[3]), length: Number(r[4]),
          type: String(r[5]) as ImageType, front: Number(r[6]) === 1, mtimeMs: Number(r[7]),
        },
      ]);
  }

  /** Every album folder of the tree, by album. */
  allAlbumDirs(): Map<AlbumId, Ino[]> {
    const out = new Map<AlbumId, Ino[]>();
    for (const r of this.db.sqlite.prepare(`SELECT ino, album_id FROM nodes WHERE kind = ${NodeKind.Dir} AND album_id IS NOT NULL`).values()) {
      const albumId = asAlbumId(Number(r[1]));
      const dirs = out.get(albumId);
      if (dirs) dirs.push(asIno(Number(r[0])));
      else out.set(albumId, [asIno(Number(r[0]))]);
    }
    return out;
  }

  /** The albums with tracks directly in one origin folder. */
  albumsInFolder(originId: OriginId, dir: string): AlbumId[] {
    return this.db
      .stmt("SELECT DISTINCT t.album_id FROM files f JOIN album_tracks t ON t.file_id = f.id WHERE f.origin_id = ? AND f.real_dir = ?")
      .values(originId, dir)
      .map((r) => asAlbumId(Number(r[0])));
  }

  cover(albumId: AlbumId): AlbumCover | null {
    const r = this.db.stmt("SELECT image_id, file_id, offset, length, type FROM album_covers WHERE album_id = ?").values(albumId)[0];
    if (!r) return null;
    return {
      imageId: r[0] === null ? null : asFolderImageId(Number(r[0])), fileId: r[1] === null ? null : asFileId(Number(r[1])),
      offset: Number(r[2]), length: Number(r[3]), type: String(r[4]) as ImageType,
    };
  }

  setCover(albumId: AlbumId, cover: AlbumCover | null): void {
    if (!cover) this.db.stmt("DELETE FROM album_covers WHERE album_id = ?").run(albumId);
    else
      this.db
        .stmt("INSERT OR REPLACE INTO album_covers (album_id, image_id, file_id, offset, length, type) VALUES (?, ?, ?, ?, ?, ?)")
        .run(albumId, cover.imageId, cover.fileId, cover.offset, cover.length, cover.type);
  }

  allAlbumIds(): AlbumId[] {
    return this.db.stmt("SELECT id FROM albums").values().map((r) => asAlbumId(Number(r[0])));
  }

  /** Albums that have a cover row but no longer exist (their last track left). */
  orphanCoverAlbumIds(): AlbumId[] {
    return this.db.stmt("SELECT album_id FROM album_covers WHERE album_id NOT IN (SELECT id FROM albums)").values().map((r) => asAlbumId(Number(r[0])));
  }

  /** Where a folder image is and which version of it the library knows (the content cache's need). */
  imageLocation(id: FolderImageId): { originId: OriginId; realPath: string; size: number; mtimeMs: number } | null {
    const r = this.db.stmt("SELECT origin_id, real_path, size, mtime_ms FROM folder_images WHERE id = ?").values(id)[0];
    return r ? { originId: asOriginId(String(r[0])), realPath: String(r[1]), size: Number(r[2]), mtimeMs: Number(r[3]) } : null;
  }

  /** Folder images whose stored manifest is current (the data file upgrade walks them). */
  cachedImageVersions(): { id: FolderImageId; size: number; mtimeMs: number }[] {
    return this.db
      .stmt(`SELECT id, size, mtime_ms FROM folder_images WHERE ${MANIFEST_IS_CURRENT}`)
      .values()
      .map((r) => ({ id: asFolderImageId(Number(r[0])), size: Number(r[1]), mtimeMs: Number(r[2]) }));
  }

  /** A folder image's manifest, while it is current (the image has the size and mtime it was cached from). */
  imageManifest(id: FolderImageId): Uint8Array | null {
    const r = this.db
      .stmt(`SELECT chunk_manifest FROM folder_images WHERE id = ? AND ${MANIFEST_IS_CURRENT}`)
      .values(id)[0];
    return (r?.[0] as Uint8Array | undefined) ?? null;
  }

  updateImageManifest(id: FolderImageId, manifest: Uint8Array, size: number, mtimeMs: number): void {
    this.db
      .stmt("UPDATE folder_images SET chunk_manifest = ?, manifest_size = ?, manifest_mtime_ms = ? WHERE id = ? AND size = ? AND mtime_ms = ?")
      .run(manifest, size, mtimeMs, id, size, mtimeMs);
  }
}
