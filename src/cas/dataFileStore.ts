/**
 * Data files (main thread): a cached file's bytes in file order, one file per file version, in `<cache>/data/`.
 * A complete data file is what FUSE workers serve (FUSE passthrough where the kernel allows it, else pread): a
 * cached file then costs the daemon nothing per READ, and the kernel's readahead and page cache work as for a local
 * file. The chunk manifest stays the record of what the file's bytes are: a data file gets its final name only after
 * it was checked against the manifest (`dataFileCheck.ts`), so its presence means "complete and verified when
 * written".
 *
 * Bookkeeping in `access.db`, table `data_files` (one row per file id: its current version's name, size and last
 * access) serves eviction (LRU) and the size of the cache. Like the chunk ledger it can lag the files (access times
 * are batched); `reconcile` repairs it from the directory at start.
 */
import { existsSync, mkdirSync, openSync, closeSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { open, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { ContentId } from "../core/ids.ts";
import type { Database, Statement } from "bun:sqlite";
import { errnoCode, errorMessage } from "../core/errors.ts";
import { log } from "../core/logger.ts";
import { readFullySync } from "../core/readFully.ts";
import { openAccessDb } from "./accessDb.ts";
import { checkDataFileAsync, type DataFileCheck } from "./dataFileCheck.ts";
import {
  dataFileDir, dataFileName, dataFilePath, dataFileTempPath, dataTempWriterPid, parseDataFileName, parsePartialName,
  partialDataFileName,
} from "./dataFilePaths.ts";
import { StoreFullError, type ChunkAdmission } from "./chunkStore.ts";
import { sha256Matches, type ChunkId } from "./chunkHash.ts";
import { readChecksum } from "./manifestCodec.ts";
import type { Manifest } from "./manifestCodec.ts";

/** A file version as the library records it. */
export interface DataFileRef {
  fileId: ContentId;
  size: number;
  mtimeMs: number;
}

export interface DataFileEntry {
  fileId: ContentId;
  name: string;
  bytes: number;
  lastAccessMs: number;
}

/** Why a data file could not be written: the disk is full (the file stays served from its chunks), or the bytes did not verify. */
export type MaterializeOutcome = "written" | "present" | "disk-full" | "source-missing" | { damaged: DataFileCheck };

export interface DataFileStoreOptions {
  now?: () => number;
}

export class DataFileStore {
  private readonly db: Database;
  private readonly now: () => number;
  private readonly touched = new Map<number, number>();
  /** Data files deleted whose row could not be removed yet (full disk); removed by the next flush. */
  private readonly unrecordedRemovals = new Set<number>();
  private flushFailing = false;
  private bytes: number;
  private files: number;
  private readonly q: {
    upsert: Statement; remove: Statement; byId: Statement; oldest: Statement; oldestAfter: Statement; touch: Statement; all: Statement;
    leastVerified: Statement; verified: Statement;
  };
  /** Writes under way, by file id: one materialization per file at a time. */
  private readonly writing = new Map<number, Promise<MaterializeOutcome>>();
  /** Partial data files being written by a whole-file fetch: fd and the bytes they hold (their end). */
  private readonly partials = new Map<number, { fd: number; name: string; end: number }>();
  /** Asked before each write into a partial data file: the cap and the free-space reserve (set by the wiring). */
  admission: ChunkAdmission | undefined;

  constructor(
    readonly dataDir: string,
    accessDbPath: string,
    options: DataFileStoreOptions = {},
  ) {
    mkdirSync(dataDir, { recursive: true });
    this.now = options.now ?? Date.now;
    this.db = openAccessDb(accessDbPath);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS data_files (
        file_id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        last_access INTEGER NOT NULL,
        verified_at INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX IF NOT EXISTS data_files_by_access ON data_files (last_access, file_id);
      CREATE INDEX IF NOT EXISTS data_files_by_check ON data_files (verified_at, file_id);
    `);
    this.q = {
      upsert: this.db.query("INSERT OR REPLACE INTO data_files (file_id, name, bytes, last_access, verified_at) VALUES (?, ?, ?, ?, ?)"),
      // Complete data files only: a partial one (".…partial", a whole-file fetch under way or cut off) has nothing to
      // check yet, and removing it would throw away the fetch's bytes.
      leastVerified: this.db.query(
        "SELECT file_id AS fileId, name, bytes, last_access AS lastAccessMs FROM data_files WHERE name NOT LIKE '.%' ORDER BY verified_at, file_id LIMIT 1",
      ),
      verified: this.db.query("UPDATE data_files SET verified_at = ? WHERE file_id = ? AND name = ?"),
      remove: this.db.query("DELETE FROM data_files WHERE file_id = ?"),
      byId: this.db.query("SELECT file_id AS fileId, name, bytes, last_access AS lastAccessMs FROM data_files WHERE file_id = ?"),
      oldest: this.db.query("SELECT file_id AS fileId, name, bytes, last_access AS lastAccessMs FROM data_files ORDER BY last_access, file_id LIMIT ?"),
      oldestAfter: this.db.query(
        "SELECT file_id AS fileId, name, bytes, last_access AS lastAccessMs FROM data_files WHERE (last_access, file_id) > (?, ?) ORDER BY last_access, file_id LIMIT ?",
      ),
      touch: this.db.query("UPDATE data_files SET last_access = ? WHERE file_id = ?"),
      all: this.db.query("SELECT file_id AS fileId, name, bytes, last_access AS lastAccessMs FROM data_files"),
    };
    const t = this.db.query("SELECT COALESCE(SUM(bytes), 0) AS bytes, COUNT(*) AS n FROM data_files").get() as { bytes: number; n: number };
    this.bytes = t.bytes;
    this.files = t.n;
  }

  pathOf(ref: DataFileRef): string {
    return dataFilePath(this.dataDir, ref.fileId, ref.size, ref.mtimeMs);
  }

  /** A complete, verified copy of this version is on disk. */
  has(ref: DataFileRef): boolean {
    return existsSync(this.pathOf(ref));
  }

  /** Bytes and count of the data files recorded (including access times not yet flushed). */
  totals(): { bytes: number; files: number } {
    return { bytes: this.bytes, files: this.files };
  }

  /**
   * Bytes [offset, end) of a complete data file, or null when there is none (then the chunks or the origin serve).
   * Synchronous pread: for the fetcher's rare reads of a file the workers did not serve (a READ deferred just before
   * the data file appeared); workers read data files themselves.
   */
  read(ref: DataFileRef, offset: number, end: number): Uint8Array | null {
    let fd: number;
    try {
      fd = openSync(this.pathOf(ref), "r");
    } catch {
      return null;
    }
    try {
      const out = new Uint8Array(end - offset);
      const got = readFullySync(fd, out, offset);
      if (got !== out.length) return null;
      this.touch(ref.fileId);
      return out;
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Writes the complete copy of a file version from its chunks (`chunkBytes(i)`: the verified bytes of chunk i, or
   * null when the chunk is not in the store), checks it against the manifest, and gives it its final name.
   * Idempotent per version; concurrent calls for one file share one write.
   */
  materialize(ref: DataFileRef, m: Manifest, chunkBytes: (index: number) => Promise<Uint8Array | null>): Promise<MaterializeOutcome> {
    const running = this.writing.get(ref.fileId);
    if (running) return running;
    const p = this.materializeOnce(ref, m, chunkBytes).finally(() => this.writing.delete(ref.fileId));
    this.writing.set(ref.fileId, p);
    return p;
  }

  private async materializeOnce(ref: DataFileRef, m: Manifest, chunkBytes: (index: number) => Promise<Uint8Array | null>): Promise<MaterializeOutcome> {
    const final = this.pathOf(ref);
    if (existsSync(final)) {
      this.record(ref, m.originSize);
      return "present";
    }
    mkdirSync(dataFileDir(this.dataDir, ref.fileId), { recursive: true });
    const temp = dataFileTempPath(this.dataDir, ref.fileId, ref.size, ref.mtimeMs, process.pid);
    const handle = await open(temp, "w+");
    let renamed = false;
    try {
      for (let i = 0; i < m.chunkCount; i++) {
        const bytes = await chunkBytes(i);
        if (!bytes) return "source-missing";
        let done = 0;
        while (done < bytes.length) {
          const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, m.offsets[i] + done);
          done += bytesWritten;
        }
      }
      // Verified as read back from the file (the page cache, usually): what the kernel will serve is what is checked.
      const check = await checkDataFileAsync(handle, m);
      if (!check.ok) return { damaged: check };
      await handle.close();
      await rename(temp, final);
      renamed = true;
      this.dropOtherVersions(ref);
      this.record(ref, m.originSize);
      return "written";
    } catch (e) {
      const code = errnoCode(e);
      if (code === "ENOSPC" || code === "EDQUOT") return "disk-full";
      throw e;
    } finally {
      await handle.close().catch(() => {});
      if (!renamed) await unlink(temp).catch(() => {});
    }
  }

  // ---- partial data files: the bytes of a whole-file fetch, written where they belong as they arrive ----------------

  private partialOf(ref: DataFileRef): { fd: number; name: string; end: number } {
    const name = partialDataFileName(ref.fileId, ref.size, ref.mtimeMs);
    let p = this.partials.get(ref.fileId);
    if (p && p.name !== name) {
      this.closePartial(ref.fileId);
      p = undefined;
    }
    if (!p) {
      mkdirSync(dataFileDir(this.dataDir, ref.fileId), { recursive: true });
      const path = join(dataFileDir(this.dataDir, ref.fileId), name);
      const fd = openSync(path, "a+"); // created if missing; kept if a fetch cut off by a restart left it
      closeSync(fd);
      const rw = openSync(path, "r+");
      const row = this.q.byId.get(ref.fileId) as DataFileEntry | null;
      if (row && row.name !== name) this.delete(ref.fileId); // another version's file, or a complete one being replaced
      const size = statSync(path).size;
      if (!this.q.byId.get(ref.fileId)) {
        this.q.upsert.run(ref.fileId, name, size, this.now(), this.now());
        this.bytes += size;
        this.files++;
      }
      p = { fd: rw, name, end: size };
      this.partials.set(ref.fileId, p);
    }
    return p;
  }

  /**
   * Writes bytes of a whole-file fetch at their offset in the file's partial data file (created on first use). The
   * write is admitted first (cap, free-space reserve): StoreFullError when there is no room (the bytes are then
   * served without being cached, and the file does not complete).
   */
  async writePartial(ref: DataFileRef, offset: number, bytes: Uint8Array): Promise<void> {
    const admission = this.admission;
    if (admission && !(await admission.admit(bytes.length))) throw new StoreFullError("NOROOM", this.dataDir);
    try {
      const p = this.partialOf(ref);
      let done = 0;
      while (done < bytes.length) done += writeSync(p.fd, bytes, done, bytes.length - done, offset + done);
      const end = offset + bytes.length;
      if (end > p.end) {
        this.bytes += end - p.end;
        p.end = end;
      }
    } catch (e) {
      const code = errnoCode(e);
      if (code === "ENOSPC" || code === "EDQUOT") throw new StoreFullError(code, this.dataDir);
      throw e;
    } finally {
      admission?.settle(bytes.length);
    }
  }

  /**
   * `length` bytes at `offset` of the partial data file, checked against the chunk's read checksum (or, without
   * one, its SHA-256 id); null when they are not there or do not match (the caller fetches them again).
   */
  readPartial(ref: DataFileRef, offset: number, length: number, check: { checksum?: bigint; id: ChunkId }): Uint8Array | null {
    const live = this.partials.get(ref.fileId);
    let fd = live && live.name === partialDataFileName(ref.fileId, ref.size, ref.mtimeMs) ? live.fd : undefined;
    const own = fd === undefined;
    if (own) {
      try {
        fd = openSync(this.partialPathOf(ref), "r");
      } catch {
        return null;
      }
    }
    const out = new Uint8Array(length);
    let got: number;
    try {
      got = readFullySync(fd!, out, offset);
    } finally {
      if (own) closeSync(fd!);
    }
    if (got !== length) return null;
    const ok = check.checksum !== undefined ? readChecksum(out) === check.checksum : sha256Matches(out, check.id);
    return ok ? out : null;
  }

  partialPathOf(ref: DataFileRef): string {
    return join(dataFileDir(this.dataDir, ref.fileId), partialDataFileName(ref.fileId, ref.size, ref.mtimeMs));
  }

  /**
   * The fetch reached the end: the partial data file is checked against the manifest and renamed to its final name.
   * False (and the partial file deleted) when it does not match: the file is then fetched again. `checkedFrom`: the
   * chunks from that offset on were checked already as read back from this file (the hash worker), only its length
   * and the chunks before are checked here.
   */
  async completePartial(ref: DataFileRef, m: Manifest, checkedFrom = Infinity): Promise<DataFileCheck> {
    this.partialOf(ref); // its row exists (a file of zero bytes has had no write)
    this.closePartial(ref.fileId);
    const partialPath = this.partialPathOf(ref);
    // Read back through the thread pool in 1 MiB reads: a long file does not hold the main thread for the whole check.
    const handle = await open(partialPath, "r");
    let check: DataFileCheck;
    try {
      check = await checkDataFileAsync(handle, m, checkedFrom);
    } finally {
      await handle.close();
    }
    if (!check.ok) {
      this.delete(ref.fileId);
      return check;
    }
    renameSync(partialPath, this.pathOf(ref));
    this.record(ref, m.originSize);
    return check;
  }

  /** A fetch ended without completing: its fd is closed (the partial file stays for a later resume). */
  closePartial(fileId: ContentId): void {
    const p = this.partials.get(fileId);
    if (!p) return;
    this.partials.delete(fileId);
    try {
      closeSync(p.fd);
    } catch {
      /* already closed */
    }
    this.q.touch.run(this.now(), fileId);
    this.db.query("UPDATE data_files SET bytes = ? WHERE file_id = ? AND name = ?").run(p.end, fileId, p.name);
  }

  /** Another version's data file of the same file id is useless now (the row names only the current one). */
  private dropOtherVersions(ref: DataFileRef): void {
    const row = this.q.byId.get(ref.fileId) as DataFileEntry | null;
    if (row && row.name !== dataFileName(ref.fileId, ref.size, ref.mtimeMs)) this.deleteFile(ref.fileId, row.name);
  }

  private record(ref: DataFileRef, bytes: number): void {
    const name = dataFileName(ref.fileId, ref.size, ref.mtimeMs);
    const row = this.q.byId.get(ref.fileId) as DataFileEntry | null;
    if (row) {
      this.bytes -= row.bytes;
      this.files--;
    }
    this.q.upsert.run(ref.fileId, name, bytes, this.now(), this.now());
    this.touched.delete(ref.fileId);
    this.bytes += bytes;
    this.files++;
  }

  /** A data file was read or opened: LRU order. Batched; written by `flush`. */
  touch(fileId: ContentId): void {
    this.touched.set(fileId, this.now());
    if (this.touched.size >= 1000) this.flush();
  }

  /**
   * Writes the batched access times, and the rows of deletions that could not be written at once. On a full disk
   * (SQLite cannot grow its WAL) nothing is lost but bookkeeping: the batch is kept for the next flush, one warning
   * is logged, and eviction goes on (it must: that is what makes room).
   */
  flush(): void {
    if (this.touched.size === 0 && this.unrecordedRemovals.size === 0) return;
    const entries = [...this.touched];
    const removals = [...this.unrecordedRemovals];
    try {
      this.db.transaction(() => {
        for (const [fileId, at] of entries) this.q.touch.run(at, fileId);
        for (const fileId of removals) this.q.remove.run(fileId);
      })();
      this.touched.clear();
      this.unrecordedRemovals.clear();
      this.flushFailing = false;
    } catch (e) {
      if (!this.flushFailing) log.warn(`content cache: cannot save data file bookkeeping (${errorMessage(e)}); will retry`);
      this.flushFailing = true;
    }
  }

  /** Least recently used first (after `flush`), `limit` at a time; `after` continues a walk. */
  oldest(limit: number, after?: DataFileEntry): DataFileEntry[] {
    return (after ? this.q.oldestAfter.all(after.lastAccessMs, after.fileId, limit) : this.q.oldest.all(limit)) as DataFileEntry[];
  }

  /** The complete data file checked longest ago (the scrub's next one), or null when there is none. */
  leastRecentlyVerified(): DataFileEntry | null {
    return (this.q.leastVerified.get() as DataFileEntry | null) ?? null;
  }

  markVerified(entry: DataFileEntry): void {
    this.q.verified.run(this.now(), entry.fileId, entry.name);
  }

  /** The file's current data file as recorded: its path and the version it holds. */
  pathOfEntry(entry: DataFileEntry): string {
    return join(dataFileDir(this.dataDir, entry.fileId), entry.name);
  }

  /** Every recorded data file, complete or partial (a walk at start; after `flush` for current access times). */
  entries(): DataFileEntry[] {
    return this.q.all.all() as DataFileEntry[];
  }

  entry(fileId: ContentId): DataFileEntry | null {
    return (this.q.byId.get(fileId) as DataFileEntry | null) ?? null;
  }

  /**
   * Deletes a file's data file (eviction, a file that left the library or changed, damage found). Returns the bytes
   * freed. A worker that has it open keeps reading the unlinked file until it closes it (POSIX), so an open never
   * sees its bytes vanish; the next open finds no data file and is served from chunks or the origin.
   */
  delete(fileId: ContentId): number {
    const row = this.q.byId.get(fileId) as DataFileEntry | null;
    if (!row || this.unrecordedRemovals.has(fileId)) return 0;
    // A partial file being written: its bytes so far are counted in memory, not yet in its row.
    const live = this.partials.get(fileId);
    const bytes = live && live.name === row.name ? live.end : row.bytes;
    if (live) {
      this.partials.delete(fileId);
      try {
        closeSync(live.fd);
      } catch {
        /* already closed */
      }
    }
    this.deleteFile(fileId, row.name);
    try {
      this.q.remove.run(fileId);
    } catch {
      // A full disk: the file is gone (its room is free), its row goes at the next flush that can write.
      this.unrecordedRemovals.add(fileId);
    }
    this.touched.delete(fileId);
    this.bytes -= bytes;
    this.files--;
    return bytes;
  }

  /**
   * Gives a complete data file another file id (a file retired with its origin, or taken back when the origin
   * returns: docs/origins.md), keeping its place in the LRU. Only the version named (size, mtime) moves; a stale one
   * at the target id is deleted first. Returns false when there is nothing to move (evicted, never complete).
   */
  rekey(fromId: ContentId, toId: ContentId, size: number, mtimeMs: number): boolean {
    this.flush(); // access times still in memory go with the row
    const row = this.q.byId.get(fromId) as DataFileEntry | null;
    if (!row || row.name !== dataFileName(fromId, size, mtimeMs)) return false;
    const verifiedAt = Number(this.db.query("SELECT verified_at FROM data_files WHERE file_id = ?").values(fromId)[0]?.[0] ?? 0);
    this.delete(toId);
    mkdirSync(dataFileDir(this.dataDir, toId), { recursive: true });
    renameSync(join(dataFileDir(this.dataDir, fromId), row.name), dataFilePath(this.dataDir, toId, size, mtimeMs));
    this.db.transaction(() => {
      this.q.remove.run(fromId);
      this.q.upsert.run(toId, dataFileName(toId, size, mtimeMs), row.bytes, row.lastAccessMs, verifiedAt);
    })();
    return true;
  }

  private deleteFile(fileId: ContentId, name: string): void {
    try {
      unlinkSync(join(dataFileDir(this.dataDir, fileId), name));
    } catch (e) {
      if (errnoCode(e) !== "ENOENT") throw e;
    }
  }

  /**
   * Startup repair: rows whose file is gone are dropped, complete files without a row are recorded (mtime as last
   * access), temp files of writers that are no longer running are deleted.
   */
  reconcile(isAlive: (pid: number) => boolean = pidAlive): { added: number; removed: number; staleTempFiles: number } {
    const report = { added: 0, removed: 0, staleTempFiles: 0 };
    const onDisk = new Map<number, { name: string; bytes: number; mtimeMs: number }>();
    for (const shard of safeReaddir(this.dataDir)) {
      const dir = join(this.dataDir, shard);
      for (const name of safeReaddir(dir)) {
        const pid = dataTempWriterPid(name);
        if (pid !== undefined) {
          if (!isAlive(pid)) {
            try {
              unlinkSync(join(dir, name));
              report.staleTempFiles++;
            } catch {
              /* gone already */
            }
          }
          continue;
        }
        const parsed = parseDataFileName(name) ?? parsePartialName(name);
        if (!parsed) continue;
        const st = statSync(join(dir, name));
        onDisk.set(parsed.fileId, { name, bytes: st.size, mtimeMs: st.mtimeMs });
      }
    }
    const rows = this.q.all.all() as DataFileEntry[];
    this.db.transaction(() => {
      for (const row of rows) {
        const f = onDisk.get(row.fileId);
        if (f && f.name === row.name) {
          onDisk.delete(row.fileId);
          continue;
        }
        this.q.remove.run(row.fileId);
        this.bytes -= row.bytes;
        this.files--;
        report.removed++;
      }
      for (const [fileId, f] of onDisk) {
        this.q.upsert.run(fileId, f.name, f.bytes, Math.floor(f.mtimeMs), 0);
        this.bytes += f.bytes;
        this.files++;
        report.added++;
      }
    })();
    return report;
  }

  close(): void {
    try {
      this.flush();
    } finally {
      this.db.close();
    }
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoCode(e) === "EPERM";
  }
}
