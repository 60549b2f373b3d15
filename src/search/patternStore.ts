import { Database } from "bun:sqlite";
import { boundWal } from "../core/boundedWal.ts";
import { openSqliteReadOnly } from "../core/sqliteReadOnly.ts";
import type { FileId } from "../core/types.ts";

/**
 * Listening history in patterns.db: which file was played after which, kept for 30 days. It answers "what is
 * likely to be played next after X" for the prefetcher. Each play commits on its own (WAL, synchronous NORMAL),
 * so a kill -9 loses at most the play being written.
 *
 * Transitions are stored one row per observation (not as counters) so that they age out exactly: a pair seen 20
 * times two months ago and never since must stop being predicted.
 */

export const HISTORY_DAYS = 30;
const DAY_MS = 86_400_000;

export interface PatternStoreOptions {
  /** A play counts as following the previous one if it started within this time. Default 30 min. */
  transitionWindowMs?: number;
  /** History kept. Default 30 days. */
  historyMs?: number;
  /** A successor is predicted only after this many observations. Default 2. */
  minObservations?: number;
  /** Prune old history every this many plays (and on open). Default 500. */
  pruneEvery?: number;
}

export interface PatternStats {
  plays: number;
  transitions: number;
  distinctFiles: number;
  lastPlayAt: number | null;
}

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS plays (
     id      INTEGER PRIMARY KEY,
     file_id INTEGER NOT NULL,
     at_ms   INTEGER NOT NULL
   )`,
  `CREATE INDEX IF NOT EXISTS plays_at ON plays (at_ms)`,
  `CREATE TABLE IF NOT EXISTS transitions (
     from_id INTEGER NOT NULL,
     to_id   INTEGER NOT NULL,
     at_ms   INTEGER NOT NULL
   )`,
  `CREATE INDEX IF NOT EXISTS transitions_from ON transitions (from_id, to_id, at_ms)`,
  `CREATE INDEX IF NOT EXISTS transitions_at ON transitions (at_ms)`,
];

export class PatternStore {
  private readonly transitionWindowMs: number;
  private readonly historyMs: number;
  private readonly minObservations: number;
  private readonly pruneEvery: number;
  private playsSincePrune = 0;
  private readOnly = false;

  private constructor(
    private readonly db: Database,
    opts: PatternStoreOptions,
  ) {
    this.transitionWindowMs = opts.transitionWindowMs ?? 30 * 60_000;
    this.historyMs = opts.historyMs ?? HISTORY_DAYS * DAY_MS;
    this.minObservations = opts.minObservations ?? 2;
    this.pruneEvery = opts.pruneEvery ?? 500;
  }

  static open(path: string, opts: PatternStoreOptions & { nowMs?: number } = {}): PatternStore {
    const db = new Database(path, { create: true });
    db.run("PRAGMA journal_mode = WAL");
    db.run("PRAGMA synchronous = NORMAL");
    // Every play commits: a bounded WAL, whose room the content cache keeps free on this disk (boundedWal.ts).
    boundWal(db);
    for (const sql of SCHEMA) db.run(sql);
    const store = new PatternStore(db, opts);
    store.prune(opts.nowMs ?? Date.now());
    return store;
  }

  /** For reading figures (`musicfs status`): writes nothing, so it works on a full disk. */
  static openReadOnly(path: string): PatternStore {
    const store = new PatternStore(openSqliteReadOnly(path), {});
    store.readOnly = true;
    return store;
  }

  /** Record a play and, if the previous play was recent and of another file, the transition to it. */
  recordPlay(fileId: FileId, atMs: number): void {
    this.db.transaction(() => {
      const prev = this.db.query("SELECT file_id AS fileId, at_ms AS atMs FROM plays ORDER BY at_ms DESC, id DESC LIMIT 1")
        .get() as { fileId: FileId; atMs: number } | null;
      if (prev && prev.fileId !== fileId && atMs >= prev.atMs && atMs - prev.atMs <= this.transitionWindowMs) {
        this.db.run("INSERT INTO transitions (from_id, to_id, at_ms) VALUES (?, ?, ?)", [prev.fileId, fileId, atMs]);
      }
      this.db.run("INSERT INTO plays (file_id, at_ms) VALUES (?, ?)", [fileId, atMs]);
    })();
    if (++this.playsSincePrune >= this.pruneEvery) this.prune(atMs);
  }

  /** The files most often played right after `fileId` in the last 30 days, seen at least twice; best first. */
  predictNext(fileId: FileId, n = 3, nowMs = Date.now()): FileId[] {
    const rows = this.db.query(
      `SELECT to_id AS id, count(*) AS seen, max(at_ms) AS last FROM transitions
       WHERE from_id = ? AND at_ms >= ?
       GROUP BY to_id HAVING seen >= ?
       ORDER BY seen DESC, last DESC, to_id LIMIT ?`,
    ).all(fileId, nowMs - this.historyMs, this.minObservations, n) as { id: FileId }[];
    return rows.map((r) => r.id);
  }

  /** Forget history older than 30 days. */
  prune(nowMs = Date.now()): void {
    const cutoff = nowMs - this.historyMs;
    this.db.transaction(() => {
      this.db.run("DELETE FROM plays WHERE at_ms < ?", [cutoff]);
      this.db.run("DELETE FROM transitions WHERE at_ms < ?", [cutoff]);
    })();
    this.playsSincePrune = 0;
  }

  stats(): PatternStats {
    const p = this.db.query("SELECT count(*) AS plays, count(DISTINCT file_id) AS distinctFiles, max(at_ms) AS lastPlayAt FROM plays")
      .get() as { plays: number; distinctFiles: number; lastPlayAt: number | null };
    const t = this.db.query("SELECT count(*) AS n FROM transitions").get() as { n: number };
    return { plays: p.plays, transitions: t.n, distinctFiles: p.distinctFiles, lastPlayAt: p.lastPlayAt };
  }

  /** Shutdown: fold the WAL into the database file. */
  close(): void {
    try {
      if (!this.readOnly) this.db.run("PRAGMA wal_checkpoint(TRUNCATE)");
    } finally {
      this.db.close(); // also when the checkpoint failed (full disk): the WAL is folded in at the next open
    }
  }
}
