import { describe, expect, test } from "bun:test";
import { compileQuery, ftsString } from "../../src/search/queryCompiler.ts";
import { parseQuery, QueryError, type Clause } from "../../src/search/queryParser.ts";

const text = (t: string, extra: Partial<{ field: string | null; prefix: boolean; negated: boolean }> = {}): Clause => ({
  term: { kind: "text", field: (extra.field ?? null) as never, text: t, prefix: extra.prefix ?? false },
  negated: extra.negated ?? false,
});

function errorCode(q: string): string | undefined {
  try {
    parseQuery(q);
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(QueryError);
    return (e as QueryError).code;
  }
}

describe("parseQuery", () => {
  test("words are ANDed and the last word becomes a prefix", () => {
    expect(parseQuery("pink floyd").alternatives).toEqual([[text("pink"), text("floyd", { prefix: true })]]);
  });

  test("a one-letter last word stays exact (no 1-letter prefix table)", () => {
    expect(parseQuery("pink f").alternatives[0][1]).toEqual(text("f"));
  });

  test("explicit star makes any word a prefix; a lone star is dropped", () => {
    expect(parseQuery("beat* help").alternatives[0]).toEqual([text("beat", { prefix: true }), text("help", { prefix: true })]);
    expect(parseQuery("rock *").alternatives[0]).toEqual([text("rock", { prefix: true })]);
  });

  test("phrases are not prefixed, even at the end", () => {
    expect(parseQuery('"dark side"').alternatives).toEqual([[text("dark side")]]);
  });

  test("an unclosed quote runs to the end of the query", () => {
    expect(parseQuery('queen "bohemian rhap').alternatives[0]).toEqual([text("queen"), text("bohemian rhap")]);
  });

  test("field:value, field:\"phrase\", album_artist alias, case-insensitive field names", () => {
    expect(parseQuery('artist:"pink floyd" Title:money album_artist:queen').alternatives[0]).toEqual([
      text("pink floyd", { field: "artist" }),
      text("money", { field: "title" }),
      text("queen", { field: "albumartist", prefix: true }),
    ]);
  });

  test("an unknown field is literal text", () => {
    expect(parseQuery("re:stacks").alternatives[0]).toEqual([text("re:stacks", { prefix: true })]);
  });

  test("year forms", () => {
    const y = (q: string) => parseQuery(q).alternatives[0][0].term;
    expect(y("year:1986")).toEqual({ kind: "year", from: 1986, to: 1986 });
    expect(y("year:1980..1989")).toEqual({ kind: "year", from: 1980, to: 1989 });
    expect(y("year:1980..")).toEqual({ kind: "year", from: 1980, to: 9999 });
    expect(y("year:..1969")).toEqual({ kind: "year", from: 0, to: 1969 });
    expect(y("year:1990s")).toEqual({ kind: "year", from: 1990, to: 1999 });
    expect(y('year:"1975"')).toEqual({ kind: "year", from: 1975, to: 1975 });
  });

  test("bad years are errors that say what to write", () => {
    expect(errorCode("year:abc")).toBe("bad-year");
    expect(errorCode("year:1989..1980")).toBe("bad-year");
    expect(errorCode("year:..")).toBe("bad-year");
    expect(errorCode("year:19860")).toBe("bad-year");
    expect(() => parseQuery("year:1989..1980")).toThrow("year:1980..1989");
  });

  test("OR separates alternatives; lowercase or is a word; AND is a no-op", () => {
    expect(parseQuery("queen OR bowie").alternatives).toEqual([[text("queen")], [text("bowie", { prefix: true })]]);
    expect(parseQuery("this or that").alternatives[0]).toHaveLength(3);
    expect(parseQuery("rock AND roll").alternatives[0]).toEqual([text("rock"), text("roll", { prefix: true })]);
  });

  test("exclusions: -word, -\"phrase\", -field:value, NOT word, -year", () => {
    const alt = parseQuery('queen -live -"greatest hits" -genre:pop NOT remix -year:1990..1999').alternatives[0];
    expect(alt.map((c) => c.negated)).toEqual([false, true, true, true, true, true]);
    expect(alt[2].term).toEqual({ kind: "text", field: null, text: "greatest hits", prefix: false });
    expect(alt[0].term).toMatchObject({ prefix: false });
  });

  test("hyphenated words are words, not exclusions", () => {
    expect(parseQuery("x-ray spex").alternatives[0][0]).toEqual(text("x-ray"));
  });

  test("errors: empty, only exclusions, field without value, too long", () => {
    expect(errorCode("")).toBe("empty");
    expect(errorCode("   ")).toBe("empty");
    expect(errorCode("* ( ) :")).toBe("empty");
    expect(errorCode("-live")).toBe("only-exclusions");
    expect(errorCode("rock OR -live")).toBe("only-exclusions");
    expect(errorCode("artist:")).toBe("missing-value");
    expect(errorCode('artist:""')).toBe("missing-value");
    expect(errorCode("a".repeat(257))).toBe("too-long");
    expect(errorCode("é".repeat(129))).toBe("too-long"); // 258 bytes in UTF-8, 129 characters
    expect(errorCode("a".repeat(256))).toBeUndefined();
    expect(() => parseQuery("x".repeat(300))).toThrow("limit is 256");
  });

  test("unicode words pass through untouched (the tokenizer folds case and accents)", () => {
    expect(parseQuery("Città Beyoncé 東京").alternatives[0].map((c) => (c.term as { text: string }).text)).toEqual([
      "Città", "Beyoncé", "東京",
    ]);
  });
});

describe("compileQuery: user text never becomes FTS5 syntax", () => {
  const match = (q: string) => compileQuery(parseQuery(q)).alternatives.map((a) => a.match);

  test("every term is a quoted FTS5 string", () => {
    expect(match("pink floyd")).toEqual(['("pink" AND "floyd"*)']);
    expect(match('artist:"pink floyd" -live')).toEqual(['(artist : "pink floyd") NOT "live"']);
  });

  test("hostile input: FTS5 operators, parentheses, NEAR, column filters, SQL quotes", () => {
    expect(match('a NEAR(b c) {title}: d')).toEqual(['("a" AND "NEAR(b" AND "c)" AND "{title}:" AND "d")']);
    // Tokens without a letter or digit (';  --) are dropped: FTS5 would see an empty phrase.
    expect(match("'; DROP TABLE files; --")).toEqual(['("DROP" AND "TABLE" AND "files;"*)']);
    expect(match("it's")).toEqual(['("it\'s"*)']);
    expect(match('title:x"y')).toEqual(['(title : "x" AND "y")']); // the stray quote opens a phrase
    expect(ftsString('say "hi"')).toBe('"say ""hi"""');
  });

  test("OR of plain-text alternatives becomes one MATCH; year alternatives stay separate", () => {
    expect(match("queen OR bowie")).toEqual(['(("queen")) OR (("bowie"*))']);
    const c = compileQuery(parseQuery("queen OR year:1980..1989 OR bowie"));
    expect(c.alternatives).toHaveLength(2);
    expect(c.alternatives[1]).toMatchObject({ match: null, year: { from: 1980, to: 1989 } });
  });

  test("year terms intersect; an impossible alternative disappears (no results, no error)", () => {
    expect(compileQuery(parseQuery("year:1980..1989 year:1985..1995 rock")).alternatives[0].year).toEqual({ from: 1985, to: 1989 });
    expect(compileQuery(parseQuery("year:1970 year:1980")).alternatives).toEqual([]);
  });

  test("ranking tiers: adjacent bare words first, then the strong columns", () => {
    const alt = compileQuery(parseQuery("pink floyd album:animals -live")).alternatives[0];
    expect(alt.tiers.map((t) => t.match)).toEqual([
      '("pink floyd" AND album : "animals") NOT "live"',
      '({title artist album albumartist composer} : ("pink" AND "floyd" AND album : "animals")) NOT "live"',
    ]);
    expect(alt.phrases).toBe(4);
    // genre is not a strong column: a strong tier with a genre term could never match, so there is none.
    expect(compileQuery(parseQuery("pink floyd genre:rock")).alternatives[0].tiers.map((t) => t.match)).toEqual([
      '("pink floyd" AND genre : "rock"*)',
    ]);
    expect(compileQuery(parseQuery("floyd")).alternatives[0].tiers).toHaveLength(1);
    expect(compileQuery(parseQuery("beat* help")).alternatives[0].tiers).toHaveLength(1); // no phrase with a * inside
  });

  test("exclusions without included text become an exclusion match next to the year filter", () => {
    expect(compileQuery(parseQuery("year:1980s -pop -genre:rock")).alternatives[0]).toMatchObject({
      match: null,
      excludeMatch: '"pop" OR genre : "rock"',
    });
  });
});
