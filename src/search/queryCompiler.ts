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

export interface CompiledAlternative {
  /** FTS5 expression selecting the rows, or null when the alternative is only year filters (plus exclusions). */
  match: string | null;
  /** The same positive terms restricted to the strong columns (null when match is null). */
  strongMatch: string | null;
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
      strongMatch: null,
      year,
      excludedYears,
      excludeMatch: excluded.length ? excluded.join(" OR ") : null,
    };
  }
  const positive = included.join(" AND ");
  const negative = excluded.map((e) => ` NOT ${e}`).join("");
  return {
    match: `(${positive})${negative}`,
    strongMatch: `(${STRONG_COLUMNS} : (${positive}))${negative}`,
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
  const merged: CompiledAlternative = {
    match: pure.map((a) => `(${a.match})`).join(" OR "),
    strongMatch: pure.map((a) => `(${a.strongMatch})`).join(" OR "),
    year: null,
    excludedYears: [],
    excludeMatch: null,
  };
  return [merged, ...rest];
}
