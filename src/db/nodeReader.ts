import { Database as SqliteDatabase, type Statement } from "bun:sqlite";
import type { AlbumId, FileId, Ino, OriginId } from "../core/types.ts";
import { MANIFEST_IS_CURRENT } from "./fileColumns.ts";
import { NodeKind } from "./treeStore.ts";
import { fileContentId, fileIdOfContent, imageContentId, imageIdOfContent } from "../core/contentIds.ts";
import { asAlbumId, asFileId, asFolderImageId, asIno, asOriginId, type ContentId } from "../core/ids.ts";

/** One node of the virtual tree with what getattr needs. Files carry their origin size and mtime. */
export interface NodeRow {
  ino: Ino;
  parent: Ino;
  name: string;
  kind: number; // NodeKind
  fileId: FileId | null;
  /** File: origin size; directory: 0. */
  size: number;
  /** File: origin mtime; directory: last change of its listing. */
  mtimeMs: number;
  /** File: the origin it comes from; directory: null. */
  originId: OriginId | null;
  /** Directory: the album it is the folder of; cover: the album it is the cover of; else null. */
  albumId: AlbumId | null;
}

/** Where an album cover's bytes are: `length` bytes at `offset` of an origin file (a track, or a folder image). */
export interface CoverLocation {
  /** The content cache's id of the source (coreContentIds: a track's file id, or a folder image's id made negative). */
  contentId: ContentId;
  originId: OriginId;
  realPath: string;
  /** The source file's size and mtime as recorded (a changed source is not read). */
  size: number;
  mtimeMs: number;
  offset: number;
  length: number;
}

/** Where to read a file's bytes from. */
export interface FileLocation {
  fileId: FileId;
  originId: OriginId;
  realPath: string;
  size: number;
  mtimeMs: number;
}

// A file's size, mtime and origin come from the covering index files_stat (schema.sql), never from the wide files
// row: a listing of an album then reads a few dense index pages, and a first walk of the whole tree after the page
// cache was dropped reads ~15× fewer bytes. SQLite would pick the rowid lookup on its own, hence INDEXED BY.
// A cover node's size is its cover's length (album_covers, one primary-key lookup, only for cover nodes).
const NODE_SELECT = `SELECT n.ino, n.parent, n.name, n.kind, n.file_id,
  coalesce(f.size, c.length, 0), coalesce(f.mtime_ms, n.mtime_ms), f.origin_id, n.album_id
  FROM nodes n LEFT JOIN files f INDEXED BY files_stat ON f.id = n.file_id
  LEFT JOIN album_covers c ON n.kind = ${NodeKind.Cover} AND c.album_id = n.album_id`;

type Row = (string | number | null)[];
const toNode = (r: Row): NodeRow => ({
  ino: asIno(Number(r[0])),
  parent: asIno(Number(r[1])),
  name: String(r[2]),
  kind: Number(r[3]),
  fileId: r[4] === null ? null : asFileId(Number(r[4])),
  size: Number(r[5]),
  mtimeMs: Number(r[6]),
  originId: r[7] === null ? null : asOriginId(String(r[7])),
  albumId: r[8] === null ? null : asAlbumId(Number(r[8])),
});

/**
 * Read-only access to the tree for FUSE workers: each worker opens its own connection (WAL readers never block the
 * writer); primary-key lookups cost ~10 µs.
 * Every query is a point lookup or an index range: nothing here is proportional to the library size.
 */
export class NodeReader {
  private readonly sqlite: SqliteDatabase;
  private readonly byIno: Statement;
  private readonly byName: Statement;
  private readonly childrenFrom: Statement;
  private readonly childrenAfter: Statement;
  private readonly location: Statement;
  private readonly manifest: Statement;
  private readonly childCount: Statement;
  private readonly trackById: Statement;
  private readonly recent: Statement;
  private readonly totals: Statement;
  private readonly coverOf: Statement;
  private readonly imageManifest: Statement;
  private readonly dataVersion: Statement;

  constructor(path: string) {
    this.sqlite = new SqliteDatabase(path, { readonly: true });
    this.sqlite.exec("PRAGMA busy_timeout = 2000");
    // No mmap: mapped pages of a 1M-file database would count against the daemon's memory; most lookups never
    // reach us anyway (long kernel TTLs), and a 4 MiB page cache keeps the hot tree levels.
    this.sqlite.exec("PRAGMA cache_size = -4096");
    this.byIno = this.sqlite.prepare(`${NODE_SELECT} WHERE n.ino = ?`);
    this.byName = this.sqlite.prepare(`${NODE_SELECT} WHERE n.parent = ? AND n.name = ?`);
    this.childrenFrom = this.sqlite.prepare(`${NODE_SELECT} WHERE n.parent = ? ORDER BY n.name LIMIT ?`);
    this.childrenAfter = this.sqlite.prepare(
      // The cookie's node may have been removed by a live sync meanwhile: its name is then in removed_nodes.
      `${NODE_SELECT} WHERE n.parent = ?1 AND n.name > coalesce(
         (SELECT name FROM nodes WHERE ino = ?2 AND parent = ?1),
         (SELECT name FROM removed_nodes WHERE ino = ?2 AND parent = ?1)) ORDER BY n.name LIMIT ?3`,
    );
    this.location = this.sqlite.prepare(
      "SELECT id, origin_id, real_path, size, mtime_ms FROM files WHERE id = ?",
    );
    this.manifest = this.sqlite.prepare(`SELECT chunk_manifest FROM files WHERE id = ? AND ${MANIFEST_IS_CURRENT}`);
    this.childCount = this.sqlite.prepare("SELECT count(*) FROM nodes WHERE parent = ?");
    this.totals = this.sqlite.prepare("SELECT count(*), coalesce(sum(size), 0) FROM files");
    this.trackById = this.sqlite.prepare("SELECT artist, title, format, virtual_path FROM files WHERE id = ?");
    this.coverOf = this.sqlite.prepare(
      `SELECT c.file_id, c.image_id, coalesce(f.origin_id, i.origin_id), coalesce(f.real_path, i.real_path),
         coalesce(f.size, i.size), coalesce(f.mtime_ms, i.mtime_ms), c.offset, c.length
       FROM album_covers c LEFT JOIN files f ON f.id = c.file_id LEFT JOIN folder_images i ON i.id = c.image_id
       WHERE c.album_id = ?`,
    );
    this.imageManifest = this.sqlite.prepare(`SELECT chunk_manifest FROM folder_images WHERE id = ? AND ${MANIFEST_IS_CURRENT}`);
    this.dataVersion = this.sqlite.prepare("PRAGMA data_version");
    this.recent = this.sqlite.prepare("SELECT id FROM files WHERE added_at >= ? ORDER BY added_at DESC, id LIMIT ?");
  }

  node(ino: Ino): NodeRow | null {
    const r = this.byIno.values(ino)[0];
    return r ? toNode(r as Row) : null;
  }

  /**
   * The last row `nodeOfRead()` returned and the database's data_version when it was read. A sequential reader's
   * READs ask for the same inode again and again (65 per 64 MiB), and the three-table lookup cost ~120 µs of a FUSE
   * worker's CPU each between READs (docs/benchmarks.md "The workers' CPU per cold MiB"); `PRAGMA data_version`
   * (~10 µs) changes whenever another connection commits, so an unchanged version means the lookup would return
   * the same row.
   */
  private last: { ino: Ino; version: number; row: NodeRow | null } | null = null;

  /**
   * `node()` for READs: remembered while the database is unchanged. Only READs: there one inode comes again and
   * again, where a walk's GETATTRs and LOOKUPs each ask for another one and would pay the version query on top.
   */
  nodeOfRead(ino: Ino): NodeRow | null {
    const version = Number((this.dataVersion.values() as Row[])[0]![0]);
    const last = this.last;
    if (last && last.ino === ino && last.version === version) return last.row && { ...last.row };
    const row = this.node(ino);
    this.last = { ino, version, row };
    return row && { ...row };
  }

  child(parent: Ino, name: string): NodeRow | null {
    const r = this.byName.values(parent, name)[0];
    return r ? toNode(r as Row) : null;
  }

  /**
   * Up to `limit` children of `parent` in name order, starting after the child whose inode is `afterIno`
   * (0 = from the start). Keyset pagination: a 100,000-entry directory costs the same per page as a small one.
   */
  children(parent: Ino, afterIno: Ino, limit: number): NodeRow[] {
    const rows = afterIno === 0 ? this.childrenFrom.values(parent, limit) : this.childrenAfter.values(parent, afterIno, limit);
    return rows.map((r) => toNode(r as Row));
  }

  countChildren(parent: Ino): number {
    return Number(this.childCount.values(parent)[0][0]);
  }

  fileLocation(fileId: FileId): FileLocation | null {
    const r = this.location.values(fileId)[0];
    if (!r) return null;
    return {
      fileId: asFileId(Number(r[0])),
      originId: asOriginId(String(r[1])),
      realPath: String(r[2]),
      size: Number(r[3]),
      mtimeMs: Number(r[4]),
    };
  }

  /**
   * The stored chunk manifest of a file, only while it is current (same size and mtime). Read on its own: OPEN and
   * most READs need only the location, and a long track's manifest is tens of KiB.
   */
  currentManifest(fileId: FileId): Uint8Array | null {
    return (this.manifest.values(fileId)[0]?.[0] as Uint8Array | undefined) ?? null;
  }

  /** Where the bytes of an album's cover are, or null when the album has none (any more). */
  coverLocation(albumId: AlbumId): CoverLocation | null {
    const r = this.coverOf.values(albumId)[0];
    if (!r || r[2] === null) return null;
    return {
      contentId: r[0] !== null ? fileContentId(asFileId(Number(r[0]))) : imageContentId(asFolderImageId(Number(r[1]))),
      originId: asOriginId(String(r[2])), realPath: String(r[3]), size: Number(r[4]), mtimeMs: Number(r[5]),
      offset: Number(r[6]), length: Number(r[7]),
    };
  }

  /** The current chunk manifest of a cover's source: a track's, or a folder image's. */
  contentManifest(contentId: ContentId): Uint8Array | null {
    const imageId = imageIdOfContent(contentId);
    if (imageId === null) return this.currentManifest(fileIdOfContent(contentId)!);
    return (this.imageManifest.values(imageId)[0]?.[0] as Uint8Array | undefined) ?? null;
  }

  /** Files and bytes in the library, for statfs. */
  libraryTotals(): { files: number; bytes: number } {
    const r = this.totals.values()[0];
    return { files: Number(r[0]), bytes: Number(r[1]) };
  }

  /** What a search-result symlink shows of each file, in the given order; files without a place are left out. */
  /** The album tag of each file (for search results). */
  albumsOf(ids: readonly FileId[]): Map<FileId, string | null> {
    const q = this.sqlite.prepare("SELECT album FROM files WHERE id = ?");
    return new Map(ids.map((id) => [id, (q.values(id)[0]?.[0] as string | null) ?? null]));
  }

  tracks(ids: readonly FileId[]): { fileId: FileId; artist: string | null; title: string | null; format: string; virtualPath: string }[] {
    const out = [];
    for (const id of ids) {
      const r = this.trackById.values(id)[0];
      if (!r || r[3] === null) continue;
      out.push({ fileId: id, artist: r[0] as string | null, title: r[1] as string | null, format: String(r[2]), virtualPath: String(r[3]) });
    }
    return out;
  }

  /** Files added at or after `sinceMs`, newest first. */
  recentlyAdded(sinceMs: number, limit: number): FileId[] {
    return this.recent.values(sinceMs, limit).map((r) => asFileId(Number(r[0])));
  }

  /** Raw access for other read-only queries of the worker (search). */
  get connection(): SqliteDatabase {
    return this.sqlite;
  }

  close(): void {
    this.sqlite.close();
  }
}
