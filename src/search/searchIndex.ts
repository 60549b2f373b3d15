import type { Database, Statement } from "bun:sqlite";
import type { FileId, FileMeta } from "../core/types.ts";
import { compileQuery } from "./queryCompiler.ts";
import { parseQuery, QueryError } from "./queryParser.ts";
import { MAX_LIMIT, SearchExecutor, type SearchOptions, type SearchResult } from "./searchExecutor.ts";
import {
  createSearchSchema,
  dropSearchSchema,
  FTS_TABLE,
  readMeta,
  SEARCH_SCHEMA_VERSION,
  tableExists,
  writeMeta,
} from "./searchSchema.ts";

/**
 * The full-text index of the library, in metadata.db. The caller owns the connection (open, pragmas, close);
 * this class owns the search_* tables.
 *
 * Writers (main thread): indexFiles / removeFiles inside the same transaction as the `files` change, so a file
 * row and its index entry commit together (bun's db.transaction nests as a savepoint when one is open).
 * Readers (FUSE workers): `new SearchIndex(readOnlyDb).search(q)` — search() never writes.
 */

/** What `state()` found; anything but "ok" means: rebuild from `files`. */
export type IndexState = "ok" | "missing" | "outdated" | "incomplete" | "damaged";

/** Thrown by search() when the index tables are unusable; the writer should rebuild, a worker answers EIO. */
export class SearchIndexError extends Error {
  override readonly name = "SearchIndexError";
  constructor(
    readonly state: Exclude<IndexState, "ok" | "outdated" | "incomplete">,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface RebuildOptions {
  /** Rows per transaction; each batch commits, and the index is marked complete only after the last one. */
  batchSize?: number;
  onProgress?: (indexed: number) => void;
}

/** The `artist` column: the display artist plus any track artist it does not already spell out. */
export function artistText(f: Pick<FileMeta, "artist" | "artists">): string | null {
  const display = f.artist ?? "";
  const lower = display.toLowerCase();
  const extra = f.artists.filter((a) => a && !lower.includes(a.toLowerCase()));
  const text = [display, ...extra].filter(Boolean).join(" / ");
  return text === "" ? null : text;
}

function isSqliteDamage(e: unknown): boolean {
  const code = String((e as { code?: unknown })?.code ?? "");
  const msg = String((e as Error)?.message ?? e);
  return code.startsWith("SQLITE_CORRUPT") || code.startsWith("SQLITE_NOTADB") || /malformed|corrupt|fts5: /i.test(msg);
}

export class SearchIndex {
  private readonly executor: SearchExecutor;
  private writeStatements: {
    insertFts: Statement;
    deleteFts: Statement;
    upsertDoc: Statement;
    deleteDoc: Statement;
  } | null = null;

  constructor(
    private readonly db: Database,
    opts: { rankBudget?: number; dfCap?: number } = {},
  ) {
    this.executor = new SearchExecutor(db, opts.rankBudget, opts.dfCap);
  }

  /**
   * On every mount (writer connection): create the tables if missing, recreate them if the schema version changed,
   * then report the state. Cheap (no work proportional to the library): damage deep inside the index is found by
   * integrityCheck(), which the caller can run in the background.
   */
  open(): IndexState {
    if (tableExists(this.db, "search_meta") && readMeta(this.db, "schema_version") !== SEARCH_SCHEMA_VERSION) {
      this.db.transaction(() => dropSearchSchema(this.db))();
      this.writeStatements = null;
      createSearchSchema(this.db);
      return "outdated";
    }
    const existed = tableExists(this.db, FTS_TABLE) && tableExists(this.db, "search_docs");
    if (!existed) {
      this.db.transaction(() => {
        dropSearchSchema(this.db);
        createSearchSchema(this.db);
      })();
      this.writeStatements = null;
      return "missing";
    }
    return this.state();
  }

  /** Read-only, cheap: tables present, version current, index complete, and the FTS table answers a query. */
  state(): IndexState {
    try {
      if (!tableExists(this.db, FTS_TABLE) || !tableExists(this.db, "search_docs") || !tableExists(this.db, "search_meta")) {
        return "missing";
      }
      if (readMeta(this.db, "schema_version") !== SEARCH_SCHEMA_VERSION) return "outdated";
      this.db.query(`SELECT rowid FROM ${FTS_TABLE} WHERE ${FTS_TABLE} MATCH '"musicfs"' LIMIT 1`).all();
      if (readMeta(this.db, "complete") !== 1) return "incomplete";
      return "ok";
    } catch {
      return "damaged";
    }
  }

  /**
   * Full check (writer connection; reads the whole index, ~1 s per 1M tracks): FTS5's own integrity-check, and
   * the FTS table holding exactly one entry per search_docs row.
   */
  integrityCheck(): boolean {
    try {
      this.db.run(`INSERT INTO ${FTS_TABLE} (${FTS_TABLE}, rank) VALUES ('integrity-check', 0)`);
      const fts = this.db.query(`SELECT count(*) AS n FROM ${FTS_TABLE}_docsize`).get() as { n: number };
      const docs = this.db.query("SELECT count(*) AS n FROM search_docs").get() as { n: number };
      return fts.n === docs.n;
    } catch {
      return false;
    }
  }

  /** state() is "ok" and the full integrity check passes. */
  isHealthy(): boolean {
    return this.state() === "ok" && this.integrityCheck();
  }

  /** Add or replace the index entries of these files (each must have its `id`). Atomic; nests in the caller's transaction. */
  indexFiles(files: Iterable<FileMeta>): void {
    const s = this.statements();
    this.db.transaction(() => {
      for (const f of files) {
        if (f.id === undefined) throw new Error(`indexFiles: file ${f.originId}:${f.realPath} has no id`);
        // Delete-before-add: the reference re-indexed without it and grew duplicate documents.
        if (s.deleteDoc.run(f.id).changes > 0) s.deleteFts.run(f.id);
        s.insertFts.run(
          f.id, f.title, artistText(f), f.album, f.albumArtist, f.genre, f.composer,
          f.year === null ? null : String(f.year),
        );
        s.upsertDoc.run(f.id, f.year);
      }
    })();
  }

  /** Remove these files' entries (unknown ids are ignored). Atomic; nests in the caller's transaction. */
  removeFiles(ids: Iterable<FileId>): void {
    const s = this.statements();
    this.db.transaction(() => {
      for (const id of ids) if (s.deleteDoc.run(id).changes > 0) s.deleteFts.run(id);
    })();
  }

  /** Drop and rebuild the whole index from `all` (every row of `files`), synchronously. Returns the count. */
  rebuild(all: Iterable<FileMeta>, opts: RebuildOptions = {}): number {
    const batchSize = opts.batchSize ?? 5000;
    this.startRebuild();
    let batch: FileMeta[] = [];
    let n = 0;
    for (const f of all) {
      batch.push(f);
      if (batch.length >= batchSize) {
        n += this.indexBatch(batch, opts);
        batch = [];
      }
    }
    n += this.indexBatch(batch, opts);
    writeMeta(this.db, "complete", 1);
    return n;
  }

  /** Same as rebuild(), yielding to the event loop between batches so the main thread keeps serving. */
  async rebuildAsync(all: Iterable<FileMeta> | AsyncIterable<FileMeta>, opts: RebuildOptions = {}): Promise<number> {
    const batchSize = opts.batchSize ?? 5000;
    this.startRebuild();
    let batch: FileMeta[] = [];
    let n = 0;
    for await (const f of all as AsyncIterable<FileMeta>) {
      batch.push(f);
      if (batch.length >= batchSize) {
        n += this.indexBatch(batch, opts);
        batch = [];
        await new Promise((r) => setImmediate(r));
      }
    }
    n += this.indexBatch(batch, opts);
    writeMeta(this.db, "complete", 1);
    return n;
  }

  private indexed = 0;
  private indexBatch(batch: FileMeta[], opts: RebuildOptions): number {
    this.indexFiles(batch);
    this.indexed += batch.length;
    opts.onProgress?.(this.indexed);
    return batch.length;
  }

  /** Fresh, empty tables marked incomplete: a crash before the end leaves "incomplete" and the next mount rebuilds. */
  private startRebuild(): void {
    this.writeStatements = null;
    this.indexed = 0;
    this.db.transaction(() => {
      dropSearchSchema(this.db);
      createSearchSchema(this.db);
    })();
  }

  /** For a caller that built the index some other way and knows it matches `files`. */
  markComplete(): void {
    writeMeta(this.db, "complete", 1);
  }

  /** Number of indexed files. */
  count(): number {
    return (this.db.query("SELECT count(*) AS n FROM search_docs").get() as { n: number }).n;
  }

  /**
   * Run a query (see queryParser.ts for the syntax). Throws QueryError for a query the user must fix and
   * SearchIndexError when the index is missing or damaged. Read-only.
   */
  search(query: string, opts: SearchOptions = {}): SearchResult {
    const limit = opts.limit ?? undefined;
    if (limit !== undefined && limit > MAX_LIMIT) {
      throw new QueryError("bad-limit", `The result limit ${limit} exceeds the maximum (${MAX_LIMIT}).`);
    }
    const compiled = compileQuery(parseQuery(query));
    try {
      return this.executor.run(compiled, opts);
    } catch (e) {
      if (/no such table/i.test(String((e as Error)?.message))) {
        throw new SearchIndexError("missing", "The search index is missing; it is rebuilt on the next mount.", { cause: e });
      }
      if (isSqliteDamage(e)) {
        throw new SearchIndexError("damaged", "The search index is damaged; it is being rebuilt.", { cause: e });
      }
      throw e;
    }
  }

  /**
   * Decades that have tracks ("1980s" → 1980), ascending. Skip-scan on the year index: one b-tree seek per decade
   * present, not a pass over the library. Years before 1000 are tag junk ("0000") and are ignored.
   */
  decades(): number[] {
    const next = this.db.query("SELECT year FROM search_docs WHERE year >= ? ORDER BY year LIMIT 1");
    const out: number[] = [];
    let from = 1000;
    for (;;) {
      const row = next.get(from) as { year: number } | null;
      if (!row) return out;
      const decade = Math.floor(row.year / 10) * 10;
      out.push(decade);
      from = decade + 10;
    }
  }

  private statements() {
    if (!this.writeStatements) {
      this.writeStatements = {
        insertFts: this.db.prepare(
          `INSERT INTO ${FTS_TABLE} (rowid, title, artist, album, albumartist, genre, composer, year)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        ),
        deleteFts: this.db.prepare(`DELETE FROM ${FTS_TABLE} WHERE rowid = ?`),
        upsertDoc: this.db.prepare("INSERT INTO search_docs (file_id, year) VALUES (?, ?)"),
        deleteDoc: this.db.prepare("DELETE FROM search_docs WHERE file_id = ?"),
      };
    }
    return this.writeStatements;
  }
}
