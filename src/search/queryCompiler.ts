import type { Clause, SearchQuery, TextField, TextTerm, YearTerm } from "./queryParser.ts";

/**
 * Turns a parsed query into what the index executes: per alternative, an FTS5 MATCH expression and year filters on
 * the indexed year column. Pure. Every piece of user text is emitted as an FTS5 string ("..." with " doubled), and
 * column names come from a fixed list, so nothing the user typed can become an FTS5 operator.
 */

/** The FTS5 columns, in table order (bm25 weights follow this order). */
export const FTS_COLUMNS = ["title", "artist", "album", "albumartist", "genre", "composer", "year"] as const;

/**
 * Columns that say what a track *is* (as opposed to genre/year, which thousands of tracks share). When a query
 * matches too many tracks to rank them all, the ones matching in these columns are ranked first.
 */
const STRONG_COLUMNS = "{title artist album albumartist composer}";

export interface YearFilter {
  from: number;
  to: number;
}

/**
 * A narrower form of an alternative, tried when the alternative matches too many rows to rank them all: its
 * matches are a subset of the alternative's, and the most relevant ones.
 */
export interface RankingTier {
  match: string;
  /** Phrases in `match`: what ranking one row costs (bm25 work grows with the phrase count). */
  phrases: number;
  /** Phrases whose document frequency decides whether bm25 is affordable for this tier (see searchExecutor). */
  dfPhrases: string[];
}

export interface CompiledAlternative {
  /** FTS5 expression selecting the rows, or null when the alternative is only year filters (plus exclusions). */
  match: string | null;
  /** Phrases in `match`. */
  phrases: number;
  /** Each phrase of `match` on its own (with its column filter), to probe how common it is. */
  dfPhrases: string[];
  /**
   * Most specific first: the bare words as one phrase ("gru mean clyr" → the artist named so, not three common
   * words anywhere), then every positive term restricted to the strong columns.
   */
  tiers: RankingTier[];
  /** Rows must have a year in this range (the intersection of all year terms), or null for no year condition. */
  year: YearFilter | null;
  /** Rows must not have a year in any of these ranges (rows without a year are kept). */
  excludedYears: YearFilter[];
  /**
   * When `match` is null: an FTS5 expression of rows to leave out (the text exclusions). When match is set the
   * exclusions are already inside it as NOT.
   */
  excludeMatch: string | null;
}

export interface CompiledQuery {
  /** Empty when every alternative was impossible (e.g. `year:1990 year:1980`): no results, not an error. */
  alternatives: CompiledAlternative[];
}

/** An FTS5 string literal: the tokenizer splits it into a phrase; nothing inside is syntax. */
export function ftsString(text: string): string {
  return `"${text.replaceAll('"', '""')}"`;
}

function textTermToFts(t: TextTerm): string {
  const phrase = ftsString(t.text) + (t.prefix ? "*" : "");
  return t.field ? `${columnOf(t.field)} : ${phrase}` : phrase;
}

function columnOf(field: TextField): string {
  // Field names are already whitelisted by the parser; this switch keeps the compiler safe on its own.
  if (!FTS_COLUMNS.includes(field)) throw new Error(`unknown search field ${field}`);
  return field;
}

function intersectYears(terms: YearTerm[]): YearFilter | null | "empty" {
  if (terms.length === 0) return null;
  let from = 0;
  let to = 9999;
  for (const t of terms) {
    from = Math.max(from, t.from);
    to = Math.min(to, t.to);
  }
  return from > to ? "empty" : { from, to };
}

/**
 * The bare words of an alternative as one phrase, AND the other positive terms: only when there are at least two
 * bare words and none but the last is a prefix (an FTS5 phrase can only end in *).
 */
function adjacentWordsTier(clauses: Clause[], negative: string, excluded: string[]): RankingTier | null {
  const positive = clauses.filter((c) => !c.negated && c.term.kind === "text") as { term: TextTerm }[];
  const bare = positive.filter((c) => c.term.field === null && !/"/.test(c.term.text)).map((c) => c.term);
  if (bare.length < 2 || bare.slice(0, -1).some((t) => t.prefix)) return null;
  const others = positive.filter((c) => !bare.includes(c.term)).map((c) => textTermToFts(c.term));
  const phrase = ftsString(bare.map((t) => t.text).join(" ")) + (bare.at(-1)!.prefix ? "*" : "");
  return {
    match: `(${[phrase, ...others].join(" AND ")})${negative}`,
    phrases: 1 + others.length + excluded.length,
    // The adjacent phrase itself is rare whenever the tier is used (it fits the ranking budget); the rest may not be.
    dfPhrases: [...others, ...excluded],
  };
}

function compileAlternative(clauses: Clause[]): CompiledAlternative | null {
  const included: string[] = [];
  const excluded: string[] = [];
  const years: YearTerm[] = [];
  const excludedYears: YearFilter[] = [];
  for (const c of clauses) {
    if (c.term.kind === "year") {
      if (c.negated) excludedYears.push({ from: c.term.from, to: c.term.to });
      else years.push(c.term);
    } else {
      (c.negated ? excluded : included).push(textTermToFts(c.term));
    }
  }
  const year = intersectYears(years);
  if (year === "empty") return null;
  if (included.length === 0) {
    return {
      match: null,
      phrases: 0,
      dfPhrases: [],
      tiers: [],
      year,
      excludedYears,
      excludeMatch: excluded.length ? excluded.join(" OR ") : null,
    };
  }
  const positive = included.join(" AND ");
  const negative = excluded.map((e) => ` NOT ${e}`).join("");
  const phrases = included.length + excluded.length;
  const dfPhrases = [...included, ...excluded];
  const adjacent = adjacentWordsTier(clauses, negative, excluded);
  // A genre: term inside the strong-column filter could never match (genre is not a strong column): no tier.
  const hasGenreTerm = clauses.some((c) => !c.negated && c.term.kind === "text" && c.term.field === "genre");
  const strong = hasGenreTerm ? [] : [{ match: `(${STRONG_COLUMNS} : (${positive}))${negative}`, phrases, dfPhrases }];
  return {
    match: `(${positive})${negative}`,
    phrases,
    dfPhrases,
    tiers: adjacent ? [adjacent, ...strong] : strong,
    year,
    excludedYears,
    excludeMatch: null,
  };
}

export function compileQuery(query: SearchQuery): CompiledQuery {
  const alternatives = query.alternatives
    .map(compileAlternative)
    .filter((a): a is CompiledAlternative => a !== null);
  return { alternatives: mergePureTextAlternatives(alternatives) };
}

/**
 * `a OR b OR c` without year filters becomes one MATCH `(a) OR (b) OR (c)`: one index pass and one bm25 scale,
 * instead of merging per-alternative results. Alternatives with year filters stay separate.
 */
function mergePureTextAlternatives(alts: CompiledAlternative[]): CompiledAlternative[] {
  const pure = alts.filter((a) => a.match !== null && a.year === null && a.excludedYears.length === 0);
  if (pure.length < 2) return alts;
  const rest = alts.filter((a) => !pure.includes(a));
  const orTier = (pickTier: (a: CompiledAlternative) => RankingTier): RankingTier => ({
    match: pure.map((a) => `(${pickTier(a).match})`).join(" OR "),
    phrases: pure.reduce((n, a) => n + pickTier(a).phrases, 0),
    dfPhrases: pure.flatMap((a) => pickTier(a).dfPhrases),
  });
  // A tier of an OR is the OR of the alternatives' tiers; it exists only when every alternative has one.
  const everyHasTier = pure.every((a) => a.tiers.length > 0);
  const first = everyHasTier ? [orTier((a) => a.tiers[0])] : [];
  const strong = everyHasTier ? [orTier((a) => a.tiers.at(-1)!)] : [];
  const merged: CompiledAlternative = {
    match: pure.map((a) => `(${a.match})`).join(" OR "),
    phrases: pure.reduce((n, a) => n + a.phrases, 0),
    dfPhrases: pure.flatMap((a) => a.dfPhrases),
    tiers: first[0]?.match === strong[0]?.match ? strong : [...first, ...strong],
    year: null,
    excludedYears: [],
    excludeMatch: null,
  };
  return [merged, ...rest];
}
