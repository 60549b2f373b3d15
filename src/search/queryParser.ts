import { UserError } from "../core/errors.ts";

/**
 * The search query language, parsed into a small AST. Pure: no SQL here (see queryCompiler.ts).
 *
 *   words           all must match (AND); the last bare word also matches as a prefix ("beat" → "beatles")
 *   word*           explicit prefix match on any word
 *   "a phrase"      words adjacent, in order; an unclosed quote runs to the end of the query
 *   field:value     title, artist, album, albumartist (album_artist), genre, composer; value may be "a phrase"
 *   year:1986       also year:1980..1989, year:1980.., year:..1989, year:1980s
 *   A OR B          alternatives; OR binds loosest: `a b OR c` = (a AND b) OR c. No parentheses.
 *   -term, NOT term exclusion (a word, phrase, field term or year)
 *
 * Everything else is literal text: parentheses, `NEAR`, `AND`-less operators, `:` after an unknown field name and
 * SQL or FTS5 punctuation are just characters of a word, and every word reaches FTS5 inside double quotes, so user
 * input can never become FTS5 or SQL syntax.
 */

export const MAX_QUERY_BYTES = 256;

export type TextField = "title" | "artist" | "album" | "albumartist" | "genre" | "composer";

/** Field names users may type, mapped to the index column. */
const FIELD_ALIASES: Record<string, TextField | "year"> = {
  title: "title",
  artist: "artist",
  album: "album",
  albumartist: "albumartist",
  album_artist: "albumartist",
  genre: "genre",
  composer: "composer",
  year: "year",
};

export interface TextTerm {
  kind: "text";
  /** null: any column. */
  field: TextField | null;
  /** The user's text, unescaped; FTS5 tokenises it (so "AC/DC" is the phrase "ac dc"). */
  text: string;
  prefix: boolean;
}

/** Inclusive; open ends are 0 and 9999. */
export interface YearTerm {
  kind: "year";
  from: number;
  to: number;
}

export type Term = TextTerm | YearTerm;

export interface Clause {
  term: Term;
  negated: boolean;
}

/** OR of ANDs: each alternative is a list of clauses that must all hold. */
export interface SearchQuery {
  alternatives: Clause[][];
}

export type QueryErrorCode = "empty" | "too-long" | "missing-value" | "bad-year" | "only-exclusions" | "bad-limit" | "invalid-utf8";

/** A query the user must fix; `message` says what and how. Maps to EINVAL on the mount, exit 1 in the CLI. */
export class QueryError extends UserError {
  constructor(
    readonly code: QueryErrorCode,
    message: string,
  ) {
    super(message, "See docs/search.md for the query syntax.");
  }
}

export function byteLength(s: string): number {
  return Buffer.byteLength(s, "utf8");
}

/** A term must contain a letter or digit, or the tokenizer would drop it entirely and FTS5 would see `""`. */
const HAS_TOKEN_CHAR = /[\p{L}\p{N}]/u;

/** Control characters (NUL included) are treated as spaces: they cannot be part of a tag word anyway. */
const CONTROL = /[\u0000-\u001f\u007f]/g;

interface Token {
  text: string;
  /** The token was (or started as) a double-quoted phrase. */
  quoted: boolean;
}

/**
 * Split into tokens: runs of non-space characters, where a `"` opens a phrase that runs to the next `"` (or to the
 * end). A quote inside a word splits it: `artist:"pink floyd"` is the word `artist:` followed by a phrase, glued
 * back together by the parser because the word ends with `:` and nothing separated them.
 */
interface RawToken extends Token {
  /** No whitespace between this token and the previous one. */
  glued: boolean;
}

function tokenize(input: string): RawToken[] {
  const tokens: RawToken[] = [];
  let i = 0;
  let glued = false;
  while (i < input.length) {
    const c = input[i];
    if (/\s/u.test(c)) {
      i++;
      glued = false;
      continue;
    }
    if (c === '"') {
      const end = input.indexOf('"', i + 1);
      const stop = end === -1 ? input.length : end;
      tokens.push({ text: input.slice(i + 1, stop), quoted: true, glued });
      i = stop + 1;
      glued = true;
      continue;
    }
    let j = i;
    while (j < input.length && !/\s/u.test(input[j]) && input[j] !== '"') j++;
    tokens.push({ text: input.slice(i, j), quoted: false, glued });
    i = j;
    glued = true;
  }
  return tokens;
}

const YEAR_HINT = "year: takes a year (year:1986), a range (year:1980..1989, year:1980.., year:..1989) or a decade (year:1980s)";

function parseYearNumber(s: string, raw: string): number {
  if (!/^\d{1,4}$/.test(s)) throw new QueryError("bad-year", `"${raw}" is not a valid year filter: ${YEAR_HINT}.`);
  return Number(s);
}

export function parseYearValue(value: string): YearTerm {
  const raw = `year:${value}`;
  const v = value.trim();
  const decade = /^(\d{3})0s$/.exec(v);
  if (decade) {
    const from = Number(decade[1]) * 10;
    return { kind: "year", from, to: from + 9 };
  }
  const dots = v.indexOf("..");
  if (dots === -1) {
    const y = parseYearNumber(v, raw);
    return { kind: "year", from: y, to: y };
  }
  const left = v.slice(0, dots);
  const right = v.slice(dots + 2);
  if (left === "" && right === "") throw new QueryError("bad-year", `"${raw}" has no years: ${YEAR_HINT}.`);
  const from = left === "" ? 0 : parseYearNumber(left, raw);
  const to = right === "" ? 9999 : parseYearNumber(right, raw);
  if (from > to) throw new QueryError("bad-year", `"${raw}" is backwards: write year:${to}..${from}.`);
  return { kind: "year", from, to };
}

/** `field:` prefix of a bare word, when it names a known field. */
function splitField(word: string): { field: TextField | "year"; rest: string } | null {
  const colon = word.indexOf(":");
  if (colon <= 0) return null;
  const field = FIELD_ALIASES[word.slice(0, colon).toLowerCase()];
  return field ? { field, rest: word.slice(colon + 1) } : null;
}

/**
 * Parse a query. Throws QueryError for queries that cannot mean anything (empty, too long, bad year, a field with
 * no value, an alternative made only of exclusions).
 */
export function parseQuery(input: string): SearchQuery {
  if (byteLength(input) > MAX_QUERY_BYTES) {
    throw new QueryError("too-long", `The query is ${byteLength(input)} bytes; the limit is ${MAX_QUERY_BYTES}.`);
  }
  const tokens = tokenize(input.replace(CONTROL, " "));
  const alternatives: Clause[][] = [[]];
  let negateNext = false;
  /** Where the last positive, unquoted, bare word clause sits, to make it a prefix at the end. */
  let lastWord: TextTerm | null = null;

  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i];
    const current = alternatives[alternatives.length - 1];
    if (!tok.quoted && tok.text === "OR") {
      alternatives.push([]);
      negateNext = false;
      lastWord = null;
      continue;
    }
    if (!tok.quoted && tok.text === "AND") continue;
    if (!tok.quoted && tok.text === "NOT") {
      negateNext = true;
      continue;
    }

    let negated = negateNext;
    negateNext = false;
    let text = tok.text;
    if (!tok.quoted && text.startsWith("-")) {
      negated = true;
      text = text.slice(1);
      if (text === "") {
        // A lone "-" before a quoted phrase: `-"live version"`.
        const next = tokens[i + 1];
        if (next?.quoted && next.glued) {
          negateNext = true;
        }
        continue;
      }
    }

    if (tok.quoted) {
      if (!HAS_TOKEN_CHAR.test(text)) continue;
      current.push({ term: { kind: "text", field: null, text, prefix: false }, negated });
      lastWord = null;
      continue;
    }

    const fielded = splitField(text);
    if (fielded) {
      let value = fielded.rest;
      let valueQuoted = false;
      const next = tokens[i + 1];
      if (value === "" && next?.quoted && next.glued) {
        value = next.text;
        valueQuoted = true;
        i++;
      }
      if (value === "" || (fielded.field !== "year" && !HAS_TOKEN_CHAR.test(value))) {
        throw new QueryError("missing-value", `"${text}" needs a value, e.g. ${fielded.field}:something or ${fielded.field}:"two words".`);
      }
      if (fielded.field === "year") {
        current.push({ term: parseYearValue(value), negated });
        lastWord = null;
        continue;
      }
      const { word, prefix } = valueQuoted ? { word: value, prefix: false } : stripStar(value);
      const term: TextTerm = { kind: "text", field: fielded.field, text: word, prefix };
      current.push({ term, negated });
      lastWord = negated || valueQuoted || prefix ? null : term;
      continue;
    }

    const { word, prefix } = stripStar(text);
    if (!HAS_TOKEN_CHAR.test(word)) continue;
    const term: TextTerm = { kind: "text", field: null, text: word, prefix };
    current.push({ term, negated });
    lastWord = negated || prefix ? null : term;
  }

  // Prefix on the last word: typing "pink flo" should find Pink Floyd. Only when the word is the very last thing
  // typed (a phrase or exclusion after it resets lastWord), and only from 2 characters: a one-letter prefix would
  // match most of the library and the index has no 1-character prefix table.
  const lastTok = tokens[tokens.length - 1];
  if (lastWord && lastTok && !lastTok.quoted && [...lastWord.text].length >= 2) lastWord.prefix = true;

  const nonEmpty = alternatives.filter((a) => a.length > 0);
  if (nonEmpty.length === 0) throw new QueryError("empty", "The query is empty: type a word to search for.");
  for (const alt of nonEmpty) {
    if (alt.every((c) => c.negated)) {
      throw new QueryError(
        "only-exclusions",
        "A query (or each side of OR) needs at least one term to include, not only exclusions: e.g. `rock -live`.",
      );
    }
  }
  return { alternatives: nonEmpty };
}

/** `word*` → prefix match on "word"; stars elsewhere are literal (and tokenised away). */
function stripStar(word: string): { word: string; prefix: boolean } {
  const m = /^(.*?)\*+$/u.exec(word);
  if (m && HAS_TOKEN_CHAR.test(m[1])) return { word: m[1], prefix: true };
  return { word, prefix: false };
}
