import type { AlbumId, AlbumMemberTags, AlbumValues, FileId, OriginId } from "../core/types.ts";
import type { Database } from "./database.ts";
import { num, parseArtists, str } from "./fileColumns.ts";
import { asAlbumId, asFileId, asOriginId } from "../core/ids.ts";

/** A file as album identity sees it, with the album it is stored in now. */
export interface AlbumMemberRow extends AlbumMemberTags {
  id: FileId;
  originId: OriginId;
  albumId: AlbumId | null;
}

export type { AlbumId } from "../core/ids.ts";

const MEMBER_COLUMNS =
  "f.id, f.origin_id, f.real_path, f.format, f.artist, f.artists, f.album, f.album_artist, f.compilation, f.mb_album_id, f.year, f.original_year, f.disc, f.disc_total, t.album_id";
const MEMBERS = "files f LEFT JOIN album_tracks t ON t.file_id = f.id";

type Row = (string | number | null)[];

function toMember(r: Row): AlbumMemberRow {
  return {
    id: asFileId(Number(r[0])), originId: asOriginId(String(r[1])), realPath: String(r[2]), format: String(r[3]), artist: str(r[4]),
    artists: r[5] === null ? [] : parseArtists(r[5]), album: str(r[6]), albumArtist: str(r[7]),
    compilation: Number(r[8]) === 1, mbAlbumId: str(r[9]), year: num(r[10]), originalYear: num(r[11]),
    disc: num(r[12]), discTotal: num(r[13]), albumId: r[14] === null ? null : asAlbumId(Number(r[14])),
  };
}

function toValues(r: Row): AlbumValues {
  return { albumArtist: str(r[0]), year: num(r[1]), formats: String(r[2]), tracks: Number(r[3]), discs: Number(r[4]) };
}

/**
 * The `albums` table and files' membership in it (`album_tracks`). SQL only: who belongs to which album is
 * decided by src/library/albums.ts (the rule) and kept in step by src/app/catalog/albumIndex.ts. Main thread,
 * inside the caller's transactions.
 */
export class AlbumStore {
  constructor(private readonly db: Database) {}

  /** How many files each origin folder holds (from the folder index alone: no row is read). */
  folderSizes(): { originId: OriginId; dir: string; files: number }[] {
    const rows = this.db.sqlite.prepare("SELECT origin_id, real_dir, count(*) FROM files GROUP BY origin_id, real_dir").values();
    return rows.map((r) => ({ originId: asOriginId(String(r[0])), dir: String(r[1]), files: Number(r[2]) }));
  }

  /**
   * Every file, in storage order (sequential pages: reading rows in folder order instead costs a random page read
   * per row, 7× slower at 100k), streamed. A first scan stores a folder's files close together.
   */
  *iterateAll(): Generator<AlbumMemberRow> {
    const rows = this.db.sqlite
      .prepare(
        `SELECT id, origin_id, real_path, format, artist, artists, album, album_artist, compilation,
           mb_album_id, year, original_year, disc, disc_total FROM files`,
      )
      .iterate() as Iterable<Record<string, unknown>>;
    // iterate() yields objects; keep one decoding path by mapping them positionally.
    for (const r of rows) {
      yield toMember([
        r.id, r.origin_id, r.real_path, r.format, r.artist, r.artists, r.album, r.album_artist, r.compilation,
        r.mb_album_id, r.year, r.original_year, r.disc, r.disc_total, null,
      ] as Row);
    }
  }

  /** The files directly in one folder of an origin ("" = its root, else ending in "/"), by path. */
  folderMembers(originId: OriginId, dir: string): AlbumMemberRow[] {
    return this.db
      .stmt(`SELECT ${MEMBER_COLUMNS} FROM ${MEMBERS} WHERE f.origin_id = ? AND f.real_dir = ? ORDER BY f.real_path`)
      .values(originId, dir)
      .map((r) => toMember(r as Row));
  }

  albumMembers(albumId: AlbumId): AlbumMemberRow[] {
    return this.db
      .stmt(`SELECT ${MEMBER_COLUMNS} FROM album_tracks t JOIN files f ON f.id = t.file_id WHERE t.album_id = ?`)
      .values(albumId)
      .map((r) => toMember(r as Row));
  }

  /** Where files are (origin + folder) and which albums they are in: read before they are deleted. */
  placesOf(ids: readonly FileId[]): { folders: { originId: OriginId; dir: string }[]; albumIds: AlbumId[] } {
    const q = this.db.stmt("SELECT f.origin_id, f.real_dir, t.album_id FROM files f LEFT JOIN album_tracks t ON t.file_id = f.id WHERE f.id = ?");
    const folders = new Map<string, { originId: OriginId; dir: string }>();
    const albumIds = new Set<AlbumId>();
    for (const id of ids) {
      const r = q.values(id)[0];
      if (!r) continue;
      const originId = asOriginId(String(r[0]));
      const dir = String(r[1]);
      folders.set(`${originId}\0${dir}`, { originId, dir });
      if (r[2] !== null) albumIds.add(asAlbumId(Number(r[2])));
    }
    return { folders: [...folders.values()], albumIds: [...albumIds] };
  }

  idForKey(key: string): AlbumId | null {
    const r = this.db.stmt("SELECT id FROM albums WHERE album_key = ?").values(key)[0];
    return r ? asAlbumId(Number(r[0])) : null;
  }

  insertAlbum(key: string, v: AlbumValues): AlbumId {
    const r = this.db
      .stmt("INSERT INTO albums (album_key, album_artist, year, formats, tracks, discs) VALUES (?, ?, ?, ?, ?, ?) RETURNING id")
      .values(key, v.albumArtist, v.year, v.formats, v.tracks, v.discs)[0];
    return asAlbumId(Number(r[0]));
  }

  updateAlbum(id: AlbumId, v: AlbumValues): void {
    this.db
      .stmt("UPDATE albums SET album_artist = ?, year = ?, formats = ?, tracks = ?, discs = ? WHERE id = ?")
      .run(v.albumArtist, v.year, v.formats, v.tracks, v.discs, id);
  }

  deleteAlbum(id: AlbumId): void {
    this.db.stmt("DELETE FROM albums WHERE id = ?").run(id);
  }

  album(id: AlbumId): AlbumValues | null {
    const r = this.db.stmt("SELECT album_artist, year, formats, tracks, discs FROM albums WHERE id = ?").values(id)[0];
    return r ? toValues(r as Row) : null;
  }

  /** A file's album; null for a file without one. */
  albumIdOfFile(fileId: FileId): AlbumId | null {
    const r = this.db.stmt("SELECT album_id FROM album_tracks WHERE file_id = ?").values(fileId)[0];
    return r ? asAlbumId(Number(r[0])) : null;
  }

  setFileAlbum(fileId: FileId, albumId: AlbumId | null): void {
    if (albumId === null) this.db.stmt("DELETE FROM album_tracks WHERE file_id = ?").run(fileId);
    else this.db.stmt("INSERT OR REPLACE INTO album_tracks (file_id, album_id) VALUES (?, ?)").run(fileId, albumId);
  }

  /** Forgets every album and membership (a full rebuild follows, in the same transaction). */
  deleteAllAlbums(): void {
    this.db.stmt("DELETE FROM album_tracks").run();
    this.db.stmt("DELETE FROM albums").run();
  }

  albumCount(): number {
    return Number(this.db.stmt("SELECT count(*) FROM albums").values()[0][0]);
  }
}
