import type { Database, SQLQueryBindings } from "bun:sqlite";
import type { FileId } from "../core/types.ts";
import type { CompiledAlternative, CompiledQuery } from "./queryCompiler.ts";

/**
 * Runs a compiled query against the index tables. Read-only SQL only: FUSE workers call this from their own
 * read-only connection, synchronously, so its cost is bounded by design rather than by the query.
 *
 * Why a ranking ladder: FTS5's bm25 costs ~0.6 µs per matching row and phrase, plus a pass over the whole
 * doclist of every phrase (for its IDF): ranking `rock` in a 1M-track library (300k matches) takes 150 ms, and
 * even `the beatles` (few matches) pays for every document containing "the". Counting matches up to a cap costs
 * ~0.05 µs per row and listing them in id order stops early, so we probe first and then:
 *   1. if the matches fit the ranking budget and no phrase is very common (document frequency ≤ DF_CAP): rank all
 *      matches with bm25 (column weights: title > artist > album > composer > genre > year);
 *   2. otherwise go through the alternative's narrower tiers, most specific first — the bare words as one adjacent
 *      phrase (an artist or title typed in full), then all terms within title/artist/album/album artist/composer;
 *      a tier that fits the budget is listed first, ranked by bm25 when that is affordable, else in library order;
 *   3. then the remaining matches in library order (files.id order, which follows the scan: artist, album).
 * Every step is an early-terminating scan or works on a budget's worth of rows.
 */

/** Ranking budget in row × phrase units: ≈ 6 ms of bm25 at the measured ~0.6 µs per row and phrase. */
export const RANK_BUDGET = 10_000;

/** A phrase in more documents than this makes bm25's IDF pass too slow: such queries are ranked by tiers. */
export const DF_CAP = 20_000;

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 10_000;

/** bm25 weights in FTS column order: title, artist, album, albumartist, genre, composer, year. */
const SCORE = "-bm25(search_fts, 10.0, 8.0, 5.0, 5.0, 2.0, 3.0, 1.0)";

export interface SearchOptions {
  limit?: number;
  offset?: number;
  /** Count every match even when there are too many to rank (costs ~15 ms per 300k matches). */
  exactTotal?: boolean;
}

export interface SearchHit {
  fileId: FileId;
  /** Relevance, higher is better; 0 for rows matched only by year or listed in library order. */
  score: number;
}

/** How the results are ordered: see the ladder above. */
export type RankingMode = "ranked" | "tiered" | "library-order";

export interface SearchResult {
  results: SearchHit[];
  /** Number of matching tracks; a lower bound (more than the ranking budget) when totalExact is false. */
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
 * The FROM/WHERE of one alternative, matching `match` (the alternative's own or one of its tiers'). Alternatives
 * without text have no tiers. `forLibraryOrder` keeps year-only scans off the year index, so that
 * `ORDER BY id LIMIT n` walks the table in id order and stops early instead of sorting a whole decade.
 */
function alternativeSql(alt: CompiledAlternative, match: string | null, forLibraryOrder = false): AlternativeSql {
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
  if (match !== null) {
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
    /** Tests lower these to exercise the broad-query steps on a small library. */
    private readonly rankBudget = RANK_BUDGET,
    private readonly dfCap = DF_CAP,
  ) {}

  /** Whether any of these phrases is in more than DF_CAP documents; memoised per query run. */
  private anyCommon(phrases: string[], memo: Map<string, boolean>): boolean {
    return phrases.some((p) => {
      let common = memo.get(p);
      if (common === undefined) {
        const s: AlternativeSql = { id: "search_fts.rowid", score: "0", from: "search_fts", where: "search_fts MATCH ?", params: [p] };
        common = this.countUpTo(s, this.dfCap + 1) > this.dfCap;
        memo.set(p, common);
      }
      return common;
    });
  }

  /** Rows of an alternative with `phrases` phrases that fit the ranking budget. */
  private budgetRows(phrases: number): number {
    return Math.max(1, Math.floor(this.rankBudget / Math.max(1, phrases)));
  }

  run(query: CompiledQuery, opts: SearchOptions = {}): SearchResult {
    const limit = opts.limit ?? DEFAULT_LIMIT;
    const offset = opts.offset ?? 0;
    const alts = query.alternatives;
    if (alts.length === 0 || limit <= 0) return { results: [], total: 0, totalExact: true, ranking: "ranked" };
    const need = offset + limit;

    const all = alts.map((a) => alternativeSql(a, a.match));
    const budgets = alts.map((a) => this.budgetRows(a.phrases));
    const counts = all.map((s, i) => this.countUpTo(s, budgets[i] + 1));
    const memo = new Map<string, boolean>();
    const fits = counts.every((c, i) => c <= budgets[i]);

    if (fits && !alts.some((a) => this.anyCommon(a.dfPhrases, memo))) {
      if (all.length === 1) {
        const results = this.ranked(all[0], limit, offset);
        return { results, total: counts[0], totalExact: true, ranking: "ranked" };
      }
      const merged = this.rankedUnion(all);
      return { results: merged.slice(offset, need), total: merged.length, totalExact: true, ranking: "ranked" };
    }

    // Too broad to rank whole: ranked tiers first, then everything else in library order.
    const results: SearchHit[] = [];
    const seen = new Set<FileId>();
    const add = (hits: SearchHit[]) => {
      for (const h of hits) {
        if (results.length >= need) return;
        if (!seen.has(h.fileId)) {
          seen.add(h.fileId);
          results.push(h);
        }
      }
    };
    const tierLevels = Math.max(...alts.map((a) => a.tiers.length));
    for (let level = 0; level < tierLevels && results.length < need; level++) {
      // Tier `level` of each alternative; an alternative with fewer tiers contributes its broadest one.
      const tierSql = alts
        .filter((a) => a.tiers.length > 0)
        .map((a) => {
          const tier = a.tiers[Math.min(level, a.tiers.length - 1)];
          return { sql: alternativeSql(a, tier.match), budget: this.budgetRows(tier.phrases), dfPhrases: tier.dfPhrases };
        });
      const tierFits = tierSql.length > 0 && tierSql.every((t) => this.countUpTo(t.sql, t.budget + 1) <= t.budget);
      if (!tierFits) continue;
      const sqls = tierSql.map((t) => t.sql);
      if (tierSql.some((t) => this.anyCommon(t.dfPhrases, memo))) add(this.libraryOrder(sqls, need));
      else add(sqls.length === 1 ? this.ranked(sqls[0], need, 0) : this.rankedUnion(sqls));
    }
    const ranking: RankingMode = results.length > 0 ? "tiered" : "library-order";
    if (results.length < need) {
      const libraryAlts = alts.map((a) => alternativeSql(a, a.match, true));
      add(this.libraryOrder(libraryAlts, need + seen.size));
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

  /** All rows of several alternatives (each within its budget), each file once with its best score. */
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
