import { Database as SqliteDatabase, type Statement } from "bun:sqlite";
import { existsSync, mkdirSync, renameSync, statSync } from "node:fs";
import { dirname } from "node:path";
import schemaSql from "../../schema.sql" with { type: "text" };
import type { FileId, FileMeta, OriginId } from "../core/types.ts";
import { errorMessage } from "../core/errors.ts";
import { FILE_COLUMN_LIST, FILE_COLUMNS, fileMetaToValues, MANIFEST_IS_CURRENT, rowToFileMeta } from "./fileColumns.ts";
import { MIGRATIONS, SCHEMA_VERSION } from "./migrations.ts";
import { nextRowId } from "./rowIds.ts";
import { asFileId, asOriginId } from "../core/ids.ts";

/** What metadata.db's WAL is cut back to after each checkpoint (SQLite's own checkpoint threshold is ~4 MiB). */
export const METADATA_WAL_LIMIT_BYTES = 4 * 1024 * 1024;

/** metadata.db could not be used: damaged, not a database, or from a newer musicfs. */
export class DatabaseCorruptError extends Error {
  override readonly name = "DatabaseCorruptError";
  constructor(
    readonly path: string,
    readonly detail: string,
  ) {
    super(`The musicfs database ${path} is damaged (${detail}).`);
  }
}

export class DatabaseTooNewError extends Error {
  override readonly name = "DatabaseTooNewError";
  constructor(
    readonly path: string,
    readonly version: number,
  ) {
    super(
      `The musicfs database ${path} has schema version ${version}, newer than this musicfs understands (${SCHEMA_VERSION}). ` +
        `Upgrade musicfs, or use another --cache-dir.`,
    );
  }
}

/**
 * Data files of retired files wait under ids from here up (retired_manifests.data_key): above any file id SQLite
 * hands out in practice, below 2^53, so no file can take one.
 */
export const RETIRED_DATA_KEYS = 2 ** 44;

export interface StoredManifest {
  manifest: Uint8Array;
  /** Origin size and mtime when the manifest was made: a manifest is only valid while they still match. */
  size: number;
  mtimeMs: number;
}

/** What delta sync compares: the stored identity of each origin file. */
export interface SyncStateRow {
  id: FileId;
  originId: OriginId;
  realPath: string;
  size: number;
  mtimeMs: number;
  etag?: string | null;
  /** Stored before musicfs looked for embedded pictures (schema 6): parsed again once. */
  stale?: boolean;
}

export type IntegrityCheck = "none" | "quick" | "full";

export interface OpenOptions {
  /** Check the file's integrity before using it: "quick" = PRAGMA quick_check, "full" = integrity_check. */
  check?: IntegrityCheck;
}

/** Moves a damaged database (and its -wal/-shm) aside; returns where it went. */
export function moveDatabaseAside(path: string, nowMs = Date.now()): string {
  const stamp = new Date(nowMs).toISOString().replace(/[:.]/g, "-");
  const target = `${path}.corrupt-${stamp}`;
  renameSync(path, target);
  for (const suffix of ["-wal", "-shm"]) {
    if (existsSync(path + suffix)) renameSync(path + suffix, target + suffix);
  }
  return target;
}

const FILE_VALUE_COLUMNS = FILE_COLUMNS.slice(1);

/**
 * The writer connection to metadata.db (main thread only). FUSE workers open their own read-only connections
 * through NodeReader. All SQL on `files` and `nodes` lives in src/db.
 */
export class Database {
  private readonly stmts = new Map<string, Statement>();

  private constructor(
    readonly sqlite: SqliteDatabase,
    readonly path: string,
  ) {}

  static open(path: string, options: OpenOptions = {}): Database {
    mkdirSync(dirname(path), { recursive: true });
    let sqlite: SqliteDatabase;
    try {
      sqlite = new SqliteDatabase(path, { create: true, readwrite: true, strict: true });
    } catch (e) {
      throw new DatabaseCorruptError(path, errorMessage(e));
    }
    const db = new Database(sqlite, path);
    try {
      sqlite.exec("PRAGMA journal_mode = WAL");
      sqlite.exec("PRAGMA synchronous = NORMAL");
      // After a checkpoint the WAL is cut back to this size: without it the file keeps the size of the largest
      // transaction it ever held (a rescan: megabytes) on the cache disk for the rest of the mount.
      sqlite.exec(`PRAGMA journal_size_limit = ${METADATA_WAL_LIMIT_BYTES}`);
      sqlite.exec("PRAGMA foreign_keys = ON");
      sqlite.exec("PRAGMA busy_timeout = 5000");
      sqlite.exec("PRAGMA temp_store = MEMORY");
      sqlite.exec("PRAGMA cache_size = -32768"); // 32 MiB page cache for the writer
      if (options.check && options.check !== "none") {
        const problem = db.integrityProblem(options.check);
        if (problem) throw new DatabaseCorruptError(path, problem);
      }
      db.migrate();
    } catch (e) {
      sqlite.close();
      if (e instanceof DatabaseCorruptError || e instanceof DatabaseTooNewError) throw e;
      throw new DatabaseCorruptError(path, errorMessage(e));
    }
    return db;
  }

  /** null when healthy, else the first problem SQLite reports. */
  integrityProblem(kind: "quick" | "full"): string | null {
    try {
      const pragma = kind === "full" ? "integrity_check(1)" : "quick_check(1)";
      const row = this.sqlite.query(`PRAGMA ${pragma}`).values()[0];
      const verdict = String(row?.[0] ?? "no answer");
      return verdict === "ok" ? null : verdict;
    } catch (e) {
      return errorMessage(e);
    }
  }

  private migrate(): void {
    const version = Number(this.sqlite.query("PRAGMA user_version").values()[0][0]);
    if (version > SCHEMA_VERSION) throw new DatabaseTooNewError(this.path, version);
    if (version === 0) {
      this.sqlite.transaction(() => {
        this.sqlite.exec(schemaSql);
        this.sqlite.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
      })();
      return;
    }
    for (let v = version; v < SCHEMA_VERSION; v++) {
      const step = MIGRATIONS[v];
      if (!step) throw new Error(`no migration from schema version ${v}`);
      this.sqlite.transaction(() => {
        step(this.sqlite);
        this.sqlite.exec(`PRAGMA user_version = ${v + 1}`);
      })();
    }
  }

  /** A cached prepared statement. */
  stmt(sql: string): Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.sqlite.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  transaction<T>(fn: () => T): T {
    return this.sqlite.transaction(fn)();
  }

  // ---- meta ----------------------------------------------------------------------------------------------------

  getMeta(key: string): string | null {
    const row = this.stmt("SELECT value FROM meta WHERE key = ?").values(key)[0];
    return row ? String(row[0]) : null;
  }

  setMeta(key: string, value: string): void {
    this.stmt("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(
      key,
      value,
    );
  }

  deleteMeta(key: string): void {
    this.stmt("DELETE FROM meta WHERE key = ?").run(key);
  }

  // ---- files ---------------------------------------------------------------------------------------------------

  fileCount(): number {
    return Number(this.stmt("SELECT count(*) FROM files").values()[0][0]);
  }

  /**
   * Inserts or updates files by (origin, real path) in one transaction; returns their ids in input order.
   * A file whose size or mtime changed loses its manifest (the cached content is no longer the file's).
   * Placement (virtual path) is left alone here: the tree decides it.
   */
  upsertFiles(files: readonly FileMeta[], nowMs = Date.now()): FileId[] {
    const cols = FILE_VALUE_COLUMNS.join(", ");
    const params = FILE_VALUE_COLUMNS.map(() => "?").join(", ");
    const updates = FILE_VALUE_COLUMNS.filter((c) => c !== "origin_id" && c !== "real_path")
      .map((c) => `${c} = excluded.${c}`)
      .join(", ");
    const upsert = this.stmt(
      `INSERT INTO files (id, ${cols}, added_at, last_sync) VALUES (${nextRowId("files")}, ${params}, ?, ?)
       ON CONFLICT (origin_id, real_path) DO UPDATE SET ${updates}, last_sync = excluded.last_sync,
         chunk_manifest = CASE WHEN files.size = excluded.size AND files.mtime_ms = excluded.mtime_ms
                                    AND files.etag IS excluded.etag
                               THEN files.chunk_manifest ELSE NULL END
       RETURNING id`,
    );
    return this.transaction(() => files.map((f) => asFileId(Number(upsert.values(...fileMetaToValues(f), nowMs, nowMs)[0][0]))));
  }

  /** Deletes files (their tree nodes go with them through the foreign key). */
  deleteFiles(ids: readonly FileId[]): void {
    const del = this.stmt("DELETE FROM files WHERE id = ?");
    this.transaction(() => {
      for (const id of ids) del.run(id);
    });
  }

  /** When the file was first stored (ms): `$added` of the templates. */
  addedAtOf(id: FileId): number | null {
    const row = this.stmt("SELECT added_at FROM files WHERE id = ?").values(id)[0];
    return row ? Number(row[0]) : null;
  }

  getFile(id: FileId): FileMeta | null {
    const row = this.stmt(`SELECT ${FILE_COLUMN_LIST} FROM files WHERE id = ?`).values(id)[0];
    return row ? rowToFileMeta(row as never) : null;
  }

  /** Where a file's bytes are and which version of them the library knows: the content cache's per-request need. */
  fileLocation(id: FileId): { originId: OriginId; realPath: string; size: number; mtimeMs: number } | null {
    const r = this.stmt("SELECT origin_id, real_path, size, mtime_ms FROM files WHERE id = ?").values(id)[0];
    return r ? { originId: asOriginId(String(r[0])), realPath: String(r[1]), size: Number(r[2]), mtimeMs: Number(r[3]) } : null;
  }

  getFileByVirtualPath(virtualPath: string): FileMeta | null {
    const path = virtualPath.replace(/^\/+/, "");
    const row = this.stmt(`SELECT ${FILE_COLUMN_LIST} FROM files WHERE virtual_path = ?`).values(path)[0];
    return row ? rowToFileMeta(row as never) : null;
  }

  getFileByRealPath(originId: OriginId, realPath: string): FileMeta | null {
    const row = this.stmt(`SELECT ${FILE_COLUMN_LIST} FROM files WHERE origin_id = ? AND real_path = ?`).values(
      originId,
      realPath,
    )[0];
    return row ? rowToFileMeta(row as never) : null;
  }

  /** The bulk load: every file, one query, positional decoding. */
  listAllFiles(): FileMeta[] {
    const rows = this.sqlite.query(`SELECT ${FILE_COLUMN_LIST} FROM files ORDER BY id`).values();
    const out: FileMeta[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = rowToFileMeta(rows[i] as never);
    return out;
  }

  /** The stored identity (size, mtime) of every file of an origin, for delta sync: much lighter than listAllFiles. */
  listSyncState(originId: OriginId): SyncStateRow[] {
    const rows = this.stmt("SELECT id, real_path, size, mtime_ms FROM files WHERE origin_id = ?").values(originId);
    return rows.map((r) => ({
      id: asFileId(Number(r[0])),
      originId,
      realPath: String(r[1]),
      size: Number(r[2]),
      mtimeMs: Number(r[3]),
    }));
  }

  /** The stored identity of the files directly in one folder of an origin ("" = its root; else ending in "/"). */
  listSyncStateInDir(originId: OriginId, dir: string): SyncStateRow[] {
    return this.stmt("SELECT id, real_path, size, mtime_ms, etag, picture_length IS NULL FROM files WHERE origin_id = ? AND real_dir = ?")
      .values(originId, dir)
      .map((r) => ({
        id: asFileId(Number(r[0])), originId, realPath: String(r[1]), size: Number(r[2]), mtimeMs: Number(r[3]),
        etag: r[4] === null ? null : String(r[4]), stale: Number(r[5]) === 1,
      }));
  }

  /** Streams (id, path) of the stored files of an origin (below `prefix`, if given) without a million-row array. */
  *iterateStoredPaths(originId: OriginId, prefix?: string): Generator<{ id: FileId; realPath: string }> {
    const rows =
      prefix === undefined || prefix === ""
        ? this.sqlite.prepare("SELECT id, real_path FROM files WHERE origin_id = ?").iterate(originId)
        : this.sqlite
            .prepare("SELECT id, real_path FROM files WHERE origin_id = ?1 AND (real_path = ?2 OR (real_path >= ?2 || '/' AND real_path < ?2 || '0'))")
            .iterate(originId, prefix);
    for (const r of rows as Iterable<{ id: number; real_path: string }>) yield { id: asFileId(Number(r.id)), realPath: String(r.real_path) };
  }

  /** Stored files of one origin. */
  originFileCount(originId: OriginId): number {
    return Number(this.stmt("SELECT count(*) FROM files WHERE origin_id = ?").values(originId)[0][0]);
  }

  /**
   * Distinct origins with stored files. One index seek per origin (files_real_dir starts with origin_id), not a
   * scan of every row: a mount checks this every time.
   */
  listOriginIds(): OriginId[] {
    const next = this.stmt("SELECT min(origin_id) FROM files WHERE origin_id > ?");
    const out: OriginId[] = [];
    for (let v = next.values("")[0][0]; v !== null; v = next.values(String(v))[0][0]) out.push(asOriginId(String(v)));
    return out;
  }

  /** Gives an origin's files another origin id (the origin was renamed in the configuration). */
  renameOrigin(from: OriginId, to: OriginId): number {
    return this.stmt("UPDATE files SET origin_id = ? WHERE origin_id = ?").run(to, from).changes;
  }

  /** Ids of the files of one origin. */
  fileIdsOfOrigin(originId: OriginId): FileId[] {
    return this.stmt("SELECT id FROM files WHERE origin_id = ?").values(originId).map((r) => asFileId(Number(r[0])));
  }

  virtualPathOf(id: FileId): string | null {
    const row = this.stmt("SELECT virtual_path FROM files WHERE id = ?").values(id)[0];
    return row && row[0] !== null ? String(row[0]) : null;
  }

  // ---- manifests -----------------------------------------------------------------------------------------------

  updateManifest(fileId: FileId, manifest: Uint8Array, originSize: number, originMtimeMs: number): void {
    this.stmt(
      "UPDATE files SET chunk_manifest = ?, manifest_size = ?, manifest_mtime_ms = ? WHERE id = ?",
    ).run(manifest, originSize, originMtimeMs, fileId);
  }

  /** The stored manifest, only if it still describes the file as the database knows it (same size and mtime). */
  getManifest(fileId: FileId): StoredManifest | null {
    const row = this.stmt(
      `SELECT chunk_manifest, manifest_size, manifest_mtime_ms FROM files
       WHERE id = ? AND ${MANIFEST_IS_CURRENT}`,
    ).values(fileId)[0];
    if (!row) return null;
    return { manifest: row[0] as Uint8Array, size: Number(row[1]), mtimeMs: Number(row[2]) };
  }

  /** Files whose stored manifest is current, without the manifests themselves (the data file upgrade walks them). */
  listCachedVersions(): { fileId: FileId; size: number; mtimeMs: number }[] {
    return this.stmt(`SELECT id, size, mtime_ms FROM files WHERE ${MANIFEST_IS_CURRENT}`)
      .values()
      .map((r) => ({ fileId: asFileId(Number(r[0])), size: Number(r[1]), mtimeMs: Number(r[2]) }));
  }

  listAllManifests(): Map<FileId, StoredManifest> {
    const rows = this.stmt(
      `SELECT id, chunk_manifest, manifest_size, manifest_mtime_ms FROM files
       WHERE ${MANIFEST_IS_CURRENT}`,
    ).values();
    const out = new Map<FileId, StoredManifest>();
    for (const r of rows) out.set(asFileId(Number(r[0])), { manifest: r[1] as Uint8Array, size: Number(r[2]), mtimeMs: Number(r[3]) });
    return out;
  }

  /**
   * Keeps the current manifests of an origin's files (before they leave the library) under the origin's identity,
   * so that the same origin configured again finds its cached content (docs/origins.md); each one's data file is to
   * move to a reserved id (data_file_moves). Returns the ids of the files whose content is kept.
   */
  retireManifests(originId: OriginId, originKey: string, nowMs = Date.now()): FileId[] {
    return this.transaction(() => {
      const top = Number(this.stmt("SELECT coalesce(max(data_key), 0) FROM retired_manifests").values()[0][0]);
      const base = Math.max(RETIRED_DATA_KEYS, top);
      const rows = this.stmt(
        `SELECT id, real_path, size, mtime_ms, etag, content_hash, chunk_manifest, manifest_size, manifest_mtime_ms
         FROM files WHERE origin_id = ? AND ${MANIFEST_IS_CURRENT} ORDER BY id`,
      ).values(originId);
      const keep = this.stmt(
        `INSERT OR REPLACE INTO retired_manifests (origin_key, real_path, size, mtime_ms, etag, content_hash, chunk_manifest,
           manifest_size, manifest_mtime_ms, retired_at, data_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      const move = this.stmt("INSERT INTO data_file_moves (from_id, to_id, size, mtime_ms) VALUES (?, ?, ?, ?)");
      return rows.map((r, i) => {
        const [id, realPath, size, mtimeMs, etag, hash, manifest, mSize, mMtime] = r;
        keep.run(originKey, realPath, size, mtimeMs, etag, hash, manifest, mSize, mMtime, nowMs, base + i + 1);
        move.run(id, base + i + 1, size, mtimeMs);
        return asFileId(Number(id));
      });
    });
  }

  /** Whether manifests of files of a removed origin with this identity are kept. */
  hasRetiredManifests(originKey: string): boolean {
    return this.stmt("SELECT 1 FROM retired_manifests WHERE origin_key = ? LIMIT 1").values(originKey).length > 0;
  }

  /**
   * Files just stored of an origin that returned: each one that has no manifest and is the same version (path, size,
   * mtime, ETag) as a retired one takes that manifest back (and its data file is to move back to it); the retired
   * row goes. Returns how many were adopted.
   */
  adoptRetiredManifests(originKey: string, ids: readonly FileId[]): number {
    const find = this.stmt(
      `SELECT r.real_path, r.content_hash, r.chunk_manifest, r.manifest_size, r.manifest_mtime_ms, r.data_key, f.size, f.mtime_ms
       FROM files f JOIN retired_manifests r ON r.origin_key = ? AND r.real_path = f.real_path AND r.size = f.size
         AND r.mtime_ms = f.mtime_ms AND r.etag IS f.etag
       WHERE f.id = ? AND f.chunk_manifest IS NULL`,
    );
    const adopt = this.stmt("UPDATE files SET content_hash = ?, chunk_manifest = ?, manifest_size = ?, manifest_mtime_ms = ? WHERE id = ?");
    const drop = this.stmt("DELETE FROM retired_manifests WHERE origin_key = ? AND real_path = ?");
    const move = this.stmt("INSERT INTO data_file_moves (from_id, to_id, size, mtime_ms) VALUES (?, ?, ?, ?)");
    let n = 0;
    this.transaction(() => {
      for (const id of ids) {
        const row = find.values(originKey, id)[0];
        if (!row) continue;
        const [realPath, hash, manifest, mSize, mMtime, dataKey, size, mtimeMs] = row;
        adopt.run(hash, manifest, mSize, mMtime, id);
        drop.run(originKey, realPath);
        if (dataKey !== null) move.run(dataKey, id, size, mtimeMs);
        n++;
      }
    });
    return n;
  }

  /** Content ids whose cached content is to be forgotten (their files left the library), lowest first. */
  pendingForgottenContent(limit = 2000): number[] {
    return this.stmt("SELECT content_id FROM forgotten_content ORDER BY content_id LIMIT ?")
      .values(limit)
      .map((r) => Number(r[0]));
  }

  forgottenContentDone(ids: readonly number[]): void {
    const del = this.stmt("DELETE FROM forgotten_content WHERE content_id = ?");
    this.transaction(() => {
      for (const id of ids) del.run(id);
    });
  }

  /** Data files to give another id, oldest first (carried out by the content cache). */
  pendingDataFileMoves(): { id: number; fromId: number; toId: number; size: number; mtimeMs: number }[] {
    return this.stmt("SELECT id, from_id, to_id, size, mtime_ms FROM data_file_moves ORDER BY id")
      .values()
      .map(([id, fromId, toId, size, mtimeMs]) => ({ id: Number(id), fromId: Number(fromId), toId: Number(toId), size: Number(size), mtimeMs: Number(mtimeMs) }));
  }

  dataFileMoveDone(id: number): void {
    this.stmt("DELETE FROM data_file_moves WHERE id = ?").run(id);
  }

  /** Forgets retired manifests: of one origin identity (it returned and was listed whole), or all (`cache clear`). */
  dropRetiredManifests(originKey?: string): number {
    return (originKey === undefined
      ? this.stmt("DELETE FROM retired_manifests").run()
      : this.stmt("DELETE FROM retired_manifests WHERE origin_key = ?").run(originKey)
    ).changes;
  }

  /** Every retired manifest (their chunks are kept by `cache clear --origin`). */
  listRetiredManifests(): Uint8Array[] {
    return this.stmt("SELECT chunk_manifest FROM retired_manifests").values().map((r) => r[0] as Uint8Array);
  }

  clearManifests(originId?: OriginId): number {
    const res = originId
      ? this.stmt("UPDATE files SET chunk_manifest = NULL WHERE origin_id = ? AND chunk_manifest IS NOT NULL").run(originId)
      : this.stmt("UPDATE files SET chunk_manifest = NULL WHERE chunk_manifest IS NOT NULL").run();
    return res.changes;
  }

  /** Drops the manifests of these files only (a live `cache clear` keeps those of open and pinned files). */
  clearManifestsOf(ids: readonly FileId[]): number {
    const stmt = this.stmt("UPDATE files SET chunk_manifest = NULL WHERE id = ? AND chunk_manifest IS NOT NULL");
    return this.transaction(() => ids.reduce((n, id) => n + stmt.run(id).changes, 0));
  }

  // ---- lifecycle -----------------------------------------------------------------------------------------------

  /** Folds the WAL into the main file and truncates it: after this the .db file alone is the whole state. */
  checkpoint(): void {
    this.sqlite.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }

  close(): void {
    for (const s of this.stmts.values()) s.finalize();
    this.stmts.clear();
    this.sqlite.close();
  }

  /** Size of the database file in bytes (0 if absent). */
  static fileSize(path: string): number {
    try {
      return statSync(path).size;
    } catch {
      return 0;
    }
  }
}
