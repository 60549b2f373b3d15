import type { Database, SQLQueryBindings } from "bun:sqlite";
import type { FileId } from "../core/types.ts";
import type { CompiledAlternative, CompiledQuery } from "./queryCompiler.ts";

/**
 * Runs a compiled query against the index tables. Read-only SQL only: FUSE workers call this from their own
 * read-only connection, synchronously, so its cost is bounded by design rather than by the query.
 *
 * Why the ranking ladder: bm25 costs ~1 µs per matching row, so ranking "rock" (a quarter of a 1M-track library)
 * would take 250 ms and stall a FUSE worker. Counting matches up to a budget costs ~0.05 µs per row, so we first
 * probe how many rows match (stopping at RANK_BUDGET + 1), then:
 *   1. ≤ budget: rank all matches with bm25 (column weights: title > artist > album > composer > genre > year);
 *   2. else, rank the matches in the "strong" columns (title, artist, album, album artist, composer), if those fit
 *      the budget, and follow them with the other matches in library order (files.id order);
 *   3. else, strong matches in library order, then the rest in library order.
 * Every step is an early-terminating scan or works on ≤ budget rows, so a query costs at most a few budgets.
 */

/** Rows a query may rank with bm25 (≈ 10 ms at 1 µs/row). */
export const RANK_BUDGET = 10_000;

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 10_000;

/** bm25 weights in FTS column order: title, artist, album, albumartist, genre, composer, year. */
const SCORE = "-bm25(search_fts, 10.0, 8.0, 5.0, 5.0, 2.0, 3.0, 1.0)";

export interface SearchOptions {
  limit?: number;
  offset?: number;
  /** Count every match even when there are more than RANK_BUDGET (costs ~15 ms per 300k matches). */
  exactTotal?: boolean;
}

export interface SearchHit {
  fileId: FileId;
  /** Relevance, higher is better; 0 for rows matched only by year or listed in library order. */
  score: number;
}

/** How the results are ordered: see the ladder above. */
export type RankingMode = "ranked" | "strong-ranked" | "library-order";

export interface SearchResult {
  results: SearchHit[];
  /** Number of matching tracks; a lower bound (RANK_BUDGET + 1) when totalExact is false. */
  total: number;
  totalExact: boolean;
  ranking: RankingMode;
}

interface AlternativeSql {
  id: string;
  score: string;
  from: string;
  where: string;
  params: SQLQueryBindings[];
}

/**
 * The FROM/WHERE of one alternative. `variant` "strong" uses the strong-column MATCH; alternatives without text
 * have no strong variant. `forLibraryOrder` keeps year-only scans off the year index, so that `ORDER BY id LIMIT n`
 * walks the table in id order and stops early instead of sorting a whole decade.
 */
function alternativeSql(alt: CompiledAlternative, variant: "all" | "strong", forLibraryOrder = false): AlternativeSql | null {
  const where: string[] = [];
  const params: SQLQueryBindings[] = [];
  const year = (col: string) => {
    if (alt.year) {
      where.push(`${col} BETWEEN ? AND ?`);
      params.push(alt.year.from, alt.year.to);
    }
    for (const ex of alt.excludedYears) {
      where.push(`(d.year IS NULL OR d.year NOT BETWEEN ? AND ?)`);
      params.push(ex.from, ex.to);
    }
  };
  if (alt.match !== null) {
    const match = variant === "strong" ? alt.strongMatch : alt.match;
    const needsDocs = alt.year !== null || alt.excludedYears.length > 0;
    where.push("search_fts MATCH ?");
    params.push(match);
    year("d.year");
    return {
      id: "search_fts.rowid",
      score: SCORE,
      from: needsDocs ? "search_fts JOIN search_docs d ON d.file_id = search_fts.rowid" : "search_fts",
      where: where.join(" AND "),
      params,
    };
  }
  if (variant === "strong") return null;
  year(forLibraryOrder ? "+d.year" : "d.year");
  if (alt.excludeMatch !== null) {
    where.push("d.file_id NOT IN (SELECT rowid FROM search_fts WHERE search_fts MATCH ?)");
    params.push(alt.excludeMatch);
  }
  return { id: "d.file_id", score: "0", from: "search_docs d", where: where.join(" AND ") || "1", params };
}

export class SearchExecutor {
  constructor(
    private readonly db: Database,
    /** Tests lower it to exercise the broad-query steps on a small library. */
    private readonly rankBudget = RANK_BUDGET,
  ) {}

  run(query: CompiledQuery, opts: SearchOptions = {}): SearchResult {
    const limit = opts.limit ?? DEFAULT_LIMIT;
    const offset = opts.offset ?? 0;
    const alts = query.alternatives;
    if (alts.length === 0 || limit <= 0) return { results: [], total: 0, totalExact: true, ranking: "ranked" };
    const need = offset + limit;

    const all = alts.map((a) => alternativeSql(a, "all")!);
    const counts = all.map((s) => this.countUpTo(s, this.rankBudget + 1));
    const probed = counts.reduce((a, b) => a + b, 0);

    if (probed <= this.rankBudget) {
      if (all.length === 1) {
        const results = this.ranked(all[0], limit, offset);
        return { results, total: counts[0], totalExact: true, ranking: "ranked" };
      }
      const merged = this.rankedUnion(all);
      return { results: merged.slice(offset, need), total: merged.length, totalExact: true, ranking: "ranked" };
    }

    // Broad query: strong-column matches first, then everything in library order.
    const strong = alts.map((a) => alternativeSql(a, "strong")).filter((s): s is AlternativeSql => s !== null);
    const strongCount = strong.reduce((n, s) => n + this.countUpTo(s, this.rankBudget + 1), 0);
    let head: SearchHit[];
    let ranking: RankingMode;
    if (strongCount <= this.rankBudget) {
      head = strong.length === 1 ? this.ranked(strong[0], need, 0) : this.rankedUnion(strong).slice(0, need);
      ranking = "strong-ranked";
    } else {
      head = this.libraryOrder(strong, need);
      ranking = "library-order";
    }
    const results = head.slice(0, need);
    if (results.length < need) {
      const seen = new Set(results.map((h) => h.fileId));
      const libraryAlts = alts.map((a) => alternativeSql(a, "all", true)!);
      for (const hit of this.libraryOrder(libraryAlts, need + seen.size)) {
        if (results.length >= need) break;
        if (!seen.has(hit.fileId)) results.push(hit);
      }
    }
    const total = opts.exactTotal ? this.countAll(all) : Math.max(...counts);
    return { results: results.slice(offset), total, totalExact: !!opts.exactTotal, ranking };
  }

  private countUpTo(s: AlternativeSql, cap: number): number {
    const sql = `SELECT count(*) AS n FROM (SELECT ${s.id} FROM ${s.from} WHERE ${s.where} LIMIT ?)`;
    return (this.db.query(sql).get(...s.params, cap) as { n: number }).n;
  }

  private countAll(alts: AlternativeSql[]): number {
    if (alts.length === 1) {
      const s = alts[0];
      return (this.db.query(`SELECT count(*) AS n FROM ${s.from} WHERE ${s.where}`).get(...s.params) as { n: number }).n;
    }
    const union = alts.map((s) => `SELECT ${s.id} FROM ${s.from} WHERE ${s.where}`).join(" UNION ");
    return (this.db.query(`SELECT count(*) AS n FROM (${union})`).get(...alts.flatMap((s) => s.params)) as { n: number }).n;
  }

  private ranked(s: AlternativeSql, limit: number, offset: number): SearchHit[] {
    const sql = `SELECT ${s.id} AS fileId, ${s.score} AS score FROM ${s.from} WHERE ${s.where}
                 ORDER BY score DESC, fileId LIMIT ? OFFSET ?`;
    return this.db.query(sql).all(...s.params, limit, offset) as SearchHit[];
  }

  /** All rows of several alternatives (≤ RANK_BUDGET in total), each file once with its best score. */
  private rankedUnion(alts: AlternativeSql[]): SearchHit[] {
    const best = new Map<FileId, number>();
    for (const s of alts) {
      const rows = this.db.query(`SELECT ${s.id} AS fileId, ${s.score} AS score FROM ${s.from} WHERE ${s.where}`)
        .all(...s.params) as SearchHit[];
      for (const r of rows) {
        const prev = best.get(r.fileId);
        if (prev === undefined || r.score > prev) best.set(r.fileId, r.score);
      }
    }
    return [...best].map(([fileId, score]) => ({ fileId, score }))
      .sort((a, b) => b.score - a.score || a.fileId - b.fileId);
  }

  /** The first `limit` distinct ids across alternatives, in id order: each scan stops after `limit` rows. */
  private libraryOrder(alts: AlternativeSql[], limit: number): SearchHit[] {
    const ids = new Set<FileId>();
    for (const s of alts) {
      const rows = this.db.query(`SELECT ${s.id} AS fileId FROM ${s.from} WHERE ${s.where} ORDER BY ${s.id} LIMIT ?`)
        .values(...s.params, limit) as [FileId][];
      for (const [id] of rows) ids.add(id);
    }
    return [...ids].sort((a, b) => a - b).slice(0, limit).map((fileId) => ({ fileId, score: 0 }));
  }
}
