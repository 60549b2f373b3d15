/**
 * The chunk ledger: sizes and last-access times of stored chunks, and the logical size of every file whose manifest
 * was built, in a small SQLite database of its own (`<chunks>/access.db`). It feeds LRU eviction and statistics.
 *
 * It is NOT the authority on presence: a chunk exists when its file exists. The ledger can lag behind the files (it
 * is written in batches, so a kill -9 loses up to one batch) and `reconcileLedger` repairs it from a walk.
 * Main thread only; FUSE workers report their accesses to the main thread (ChunkReader.takeAccessedChunkHexes).
 */
import type { ContentId } from "../core/ids.ts";
import type { Database } from "bun:sqlite";
import { openAccessDb } from "./accessDb.ts";
import { errorMessage } from "../core/errors.ts";
import { log } from "../core/logger.ts";
import type { ChunkHex } from "./chunkHash.ts";

export interface LedgerOptions {
  /** Flush when this many changes are pending (the periodic flush is driven by `startAutoFlush`). */
  flushEvery?: number;
  now?: () => number;
}

export interface LedgerTotals {
  /** Bytes of chunk files (as recorded). */
  storedBytes: number;
  storedChunks: number;
  /** Bytes of files with a manifest (content referenced by manifests, duplicates counted each time). */
  logicalBytes: number;
}

/** A candidate for eviction: oldest access first. */
export interface LedgerEntry {
  hex: ChunkHex;
  size: number;
  lastAccessMs: number;
}

type PendingChange = { kind: "add"; size: number; at: number } | { kind: "touch"; at: number } | { kind: "remove" };

export class ChunkLedger {
  private readonly db: Database;
  private readonly pending = new Map<ChunkHex, PendingChange>();
  private readonly flushEvery: number;
  private readonly now: () => number;
  private totals: LedgerTotals;
  private timer: ReturnType<typeof setInterval> | undefined;
  private flushFailing = false;
  /** Chunks whose row changed since beginReconciliation (undefined when no reconciliation runs). */
  private changedDuringReconciliation: Set<ChunkHex> | undefined;

  constructor(path: string, options: LedgerOptions = {}) {
    this.flushEvery = options.flushEvery ?? 1000;
    this.now = options.now ?? Date.now;
    this.db = openAccessDb(path);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS chunks (
        id TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        last_access INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS chunks_by_access ON chunks (last_access, id);
      CREATE TABLE IF NOT EXISTS manifests (
        file_id INTEGER PRIMARY KEY,
        bytes INTEGER NOT NULL
      );
    `);
    const c = this.db.query("SELECT COALESCE(SUM(size), 0) AS bytes, COUNT(*) AS n FROM chunks").get() as {
      bytes: number;
      n: number;
    };
    const m = this.db.query("SELECT COALESCE(SUM(bytes), 0) AS bytes FROM manifests").get() as { bytes: number };
    this.totals = { storedBytes: c.bytes, storedChunks: c.n, logicalBytes: m.bytes };
  }

  /** Live totals, including changes not yet flushed. */
  getTotals(): LedgerTotals {
    return { ...this.totals };
  }

  /** A chunk file was written. Callers report each new file once (the store deduplicates). */
  recordAdded(hex: ChunkHex, size: number): void {
    const prev = this.pending.get(hex);
    if (prev?.kind === "add") return;
    this.totals.storedBytes += size;
    this.totals.storedChunks += 1;
    this.queue(hex, { kind: "add", size, at: this.now() });
  }

  /** A chunk file was deleted (or found missing). Totals shrink by the size the ledger knew, if it knew it. */
  recordRemoved(hex: ChunkHex): void {
    const prev = this.pending.get(hex);
    let size: number | undefined;
    if (prev?.kind === "add") size = prev.size;
    else if (prev?.kind !== "remove") {
      const row = this.db.query("SELECT size FROM chunks WHERE id = ?").get(hex) as { size: number } | null;
      size = row?.size;
    }
    if (size !== undefined) {
      this.totals.storedBytes -= size;
      this.totals.storedChunks -= 1;
    }
    this.queue(hex, { kind: "remove" });
  }

  /** Chunks were read (by the fetcher here or by a FUSE worker): they move to the young end of the LRU. */
  recordAccess(hexes: Iterable<ChunkHex>): void {
    const at = this.now();
    for (const hex of hexes) {
      const prev = this.pending.get(hex);
      if (prev?.kind === "add") prev.at = at;
      else if (prev?.kind !== "remove") this.queue(hex, { kind: "touch", at });
    }
  }

  /** A file's manifest was built (or rebuilt): its size counts as logical bytes for the dedup ratio. */
  recordManifest(fileId: ContentId, bytes: number): void {
    const old = this.db.query("SELECT bytes FROM manifests WHERE file_id = ?").get(fileId) as { bytes: number } | null;
    this.db.query("INSERT OR REPLACE INTO manifests (file_id, bytes) VALUES (?, ?)").run(fileId, bytes);
    this.totals.logicalBytes += bytes - (old?.bytes ?? 0);
  }

  /** A file left the library (delta sync removed it, or its manifest was invalidated). */
  forgetManifest(fileId: ContentId): void {
    const old = this.db.query("SELECT bytes FROM manifests WHERE file_id = ?").get(fileId) as { bytes: number } | null;
    if (!old) return;
    this.db.query("DELETE FROM manifests WHERE file_id = ?").run(fileId);
    this.totals.logicalBytes -= old.bytes;
  }

  /** Oldest chunks first, paged by (last_access, id) so that skipped (pinned) entries are not returned again. */
  oldest(limit: number, after?: LedgerEntry): LedgerEntry[] {
    this.flush();
    const rows = after
      ? this.db
          .query(
            "SELECT id, size, last_access FROM chunks WHERE (last_access, id) > (?, ?) ORDER BY last_access, id LIMIT ?",
          )
          .values(after.lastAccessMs, after.hex, limit)
      : this.db.query("SELECT id, size, last_access FROM chunks ORDER BY last_access, id LIMIT ?").values(limit);
    return rows.map(([hex, size, at]) => ({ hex: hex as string, size: size as number, lastAccessMs: at as number }));
  }

  /** All recorded chunks (for reconciliation with the files on disk). */
  allEntries(): Map<ChunkHex, LedgerEntry> {
    this.flush();
    const out = new Map<ChunkHex, LedgerEntry>();
    for (const [hex, size, at] of this.db.query("SELECT id, size, last_access FROM chunks").values())
      out.set(hex as string, { hex: hex as string, size: size as number, lastAccessMs: at as number });
    return out;
  }

  /**
   * Start of a reconciliation walk: every recorded chunk, and from now on a note of each chunk whose row changes
   * (added, touched, removed) until applyReconciliation. No clock is involved, so the rule stays exact when a row is
   * written in the millisecond the walk starts or the wall clock steps back.
   */
  beginReconciliation(): Map<ChunkHex, LedgerEntry> {
    const rows = this.allEntries();
    this.changedDuringReconciliation = new Set();
    return rows;
  }

  /**
   * Replaces what a reconciliation found wrong: rows without files go, files without rows come in. For a chunk whose
   * row changed since beginReconciliation the ledger's own record wins (its file may have been written after the
   * walk passed its folder, or deleted after the walk saw it).
   */
  applyReconciliation(missingRows: LedgerEntry[], unknownFiles: LedgerEntry[]): { removed: number; added: number } {
    this.flush();
    const changed = this.changedDuringReconciliation ?? new Set<ChunkHex>();
    this.endReconciliation();
    const gone = missingRows.filter((e) => !changed.has(e.hex));
    const found = unknownFiles.filter((e) => !changed.has(e.hex));
    const del = this.db.query("DELETE FROM chunks WHERE id = ?");
    const ins = this.db.query("INSERT OR IGNORE INTO chunks (id, size, last_access) VALUES (?, ?, ?)");
    this.db.transaction(() => {
      for (const e of gone) del.run(e.hex);
      for (const e of found) ins.run(e.hex, e.size, e.lastAccessMs);
    })();
    const c = this.db.query("SELECT COALESCE(SUM(size), 0) AS bytes, COUNT(*) AS n FROM chunks").get() as {
      bytes: number;
      n: number;
    };
    this.totals.storedBytes = c.bytes;
    this.totals.storedChunks = c.n;
    return { removed: gone.length, added: found.length };
  }

  /** A reconciliation ended without applying (its walk failed): stop noting changes. */
  endReconciliation(): void {
    this.changedDuringReconciliation = undefined;
  }

  /** Writes pending changes in one transaction. Cheap when nothing is pending. */
  flush(): void {
    if (this.pending.size === 0) return;
    const changes = [...this.pending];
    this.pending.clear();
    const add = this.db.query(
      "INSERT INTO chunks (id, size, last_access) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET size = excluded.size, last_access = excluded.last_access",
    );
    const touch = this.db.query("UPDATE chunks SET last_access = MAX(last_access, ?) WHERE id = ?");
    const remove = this.db.query("DELETE FROM chunks WHERE id = ?");
    try {
      this.db.transaction(() => {
        for (const [hex, c] of changes) {
          if (c.kind === "add") add.run(hex, c.size, c.at);
          else if (c.kind === "touch") touch.run(c.at, hex);
          else remove.run(hex);
        }
      })();
      this.flushFailing = false;
    } catch (e) {
      // Typically a full disk. Keep the batch (newer changes win) and try again at the next flush.
      for (const [hex, c] of changes) if (!this.pending.has(hex)) this.pending.set(hex, c);
      if (!this.flushFailing) log.warn(`chunk cache ledger: cannot save access times (${errorMessage(e)}); will retry`);
      this.flushFailing = true;
    }
  }

  /** Flushes every `intervalMs` (10 s by default) in addition to the size-triggered flushes. */
  startAutoFlush(intervalMs = 10_000): void {
    this.stopAutoFlush();
    this.timer = setInterval(() => this.flush(), intervalMs);
    this.timer.unref?.();
  }

  stopAutoFlush(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Final flush and close: part of the ordered shutdown. */
  close(): void {
    this.stopAutoFlush();
    this.flush();
    this.db.close();
  }

  private queue(hex: ChunkHex, change: PendingChange): void {
    this.changedDuringReconciliation?.add(hex);
    const prev = this.pending.get(hex);
    // A removal followed by a re-add in the same batch must still write the row: "add" wins over "remove".
    if (prev?.kind === "add" && change.kind === "touch") return;
    this.pending.set(hex, change);
    if (this.pending.size >= this.flushEvery * (this.flushFailing ? 10 : 1)) this.flush();
  }
}
