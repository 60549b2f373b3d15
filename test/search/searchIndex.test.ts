import { Database } from "bun:sqlite";
import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { QueryError } from "../../src/search/queryParser.ts";
import { SearchIndex, SearchIndexError, artistText } from "../../src/search/searchIndex.ts";
import { corruptFtsBlocks, openMetadataDb, tempDir, track } from "./helpers.ts";
import { asFileId } from "../../src/core/ids.ts";

const dir = tempDir();
afterAll(dir.cleanup);
let dbCount = 0;

function freshIndex(opts: { rankBudget?: number; dfCap?: number } = {}) {
  const path = join(dir.path, `metadata-${++dbCount}.db`);
  const db = openMetadataDb(path);
  const index = new SearchIndex(db, opts);
  expect(index.open()).toBe("missing");
  index.rebuild([]);
  expect(index.state()).toBe("ok");
  return { db, index, path };
}

const LIBRARY = [
  track({ id: asFileId(1), title: "Crazy in Love", artist: "Beyoncé", album: "Dangerously in Love", genre: "R&B", year: 2003 }),
  track({ id: asFileId(2), title: "Halo", artist: "Beyoncé", album: "I Am... Sasha Fierce", genre: "Pop", year: 2008 }),
  track({ id: asFileId(3), title: "Bohemian Rhapsody", artist: "Queen", album: "A Night at the Opera", genre: "Rock", year: 1975 }),
  track({ id: asFileId(4), title: "Under Pressure", artist: "Queen", artists: ["Queen", "David Bowie"], album: "Hot Space", genre: "Rock", year: 1982 }),
  track({ id: asFileId(5), title: "Heroes", artist: "David Bowie", album: "Heroes", genre: "Rock", year: 1977 }),
  track({ id: asFileId(6), title: "Let's Dance", artist: "David Bowie", album: "Let's Dance", genre: "Pop", year: 1983 }),
  track({ id: asFileId(7), title: "Città vuota", artist: "Mina", album: "Studio Uno", genre: "Pop", year: 1963, composer: "Doc Pomus" }),
  track({ id: asFileId(8), title: "So What", artist: "Miles Davis", album: "Kind of Blue", genre: "Jazz", year: 1959 }),
  track({ id: asFileId(9), title: "Jazz", artist: "Queen", album: "Jazz", genre: "Rock", year: 1978 }),
  track({ id: asFileId(10), title: "Live Forever", artist: "Oasis", album: "Definitely Maybe", genre: "Rock", year: 1994 }),
  track({ id: asFileId(11), title: "Bohemian Rhapsody (Live)", artist: "Queen", album: "Live Killers", genre: "Rock", year: 1979 }),
  track({ id: asFileId(12), title: "Untitled", artist: null, album: null, genre: null, year: null }),
];

function ids(index: SearchIndex, q: string): number[] {
  return index.search(q, { limit: 100 }).results.map((r) => r.fileId);
}
const sorted = (a: number[]) => [...a].sort((x, y) => x - y);

describe("SearchIndex queries", () => {
  const { index } = freshIndex();
  index.indexFiles(LIBRARY);

  test("words: all must match", () => {
    expect(sorted(ids(index, "queen rock"))).toEqual([3, 4, 9, 11]);
    expect(ids(index, "queen heroes")).toEqual([]);
  });

  test("prefix on the last word", () => {
    expect(sorted(ids(index, "bohem"))).toEqual([3, 11]);
    expect(sorted(ids(index, "david bow"))).toEqual([4, 5, 6]);
    expect(ids(index, '"bohem"')).toEqual([]); // a phrase is exact
  });

  test("phrases keep words adjacent and in order", () => {
    expect(sorted(ids(index, '"in love"'))).toEqual([1]);
    expect(ids(index, '"love in"')).toEqual([]);
  });

  test("field:value restricts the column", () => {
    expect(sorted(ids(index, "jazz"))).toEqual([8, 9]);
    expect(ids(index, "genre:jazz")).toEqual([8]);
    expect(ids(index, "title:jazz album:jazz")).toEqual([9]);
    expect(ids(index, "composer:pomus")).toEqual([7]);
    expect(sorted(ids(index, 'artist:"david bowie"'))).toEqual([4, 5, 6]); // 4 via the artists list
    expect(ids(index, "albumartist:queen")).toEqual([]); // no album artists in this fixture
  });

  test("year ranges, single years, decades, open ranges, and year words", () => {
    expect(sorted(ids(index, "year:1975..1979"))).toEqual([3, 5, 9, 11]);
    expect(sorted(ids(index, "year:1980s"))).toEqual([4, 6]);
    expect(ids(index, "year:1959")).toEqual([8]);
    expect(sorted(ids(index, "year:2000.."))).toEqual([1, 2]);
    expect(sorted(ids(index, "queen year:..1978"))).toEqual([3, 9]);
    expect(ids(index, "1994")).toEqual([10]); // a bare year matches the year column as text
  });

  test("OR, including alternatives with years", () => {
    expect(sorted(ids(index, "mina OR oasis"))).toEqual([7, 10]);
    expect(sorted(ids(index, "mina OR year:1959"))).toEqual([7, 8]);
    expect(sorted(ids(index, "miles OR year:1959"))).toEqual([8]); // one file once
  });

  test("exclusions: words, phrases, fields, years, and exclusions next to a year only", () => {
    expect(sorted(ids(index, "queen -live"))).toEqual([3, 4, 9]);
    expect(sorted(ids(index, 'bohemian -"rhapsody live"'))).toEqual([3]);
    expect(sorted(ids(index, "rock -artist:queen"))).toEqual([5, 10]);
    expect(sorted(ids(index, "rock -year:1970..1979"))).toEqual([4, 10]);
    expect(sorted(ids(index, "year:1970s -queen"))).toEqual([5]);
  });

  test("case and diacritics insensitive, both ways", () => {
    expect(sorted(ids(index, "Beyonce"))).toEqual([1, 2]);
    expect(sorted(ids(index, "BEYONCÉ"))).toEqual([1, 2]);
    expect(ids(index, "CITTA")).toEqual([7]);
    expect(ids(index, "città")).toEqual([7]);
  });

  test("hostile queries return results or a QueryError, never an SQL/FTS5 error", () => {
    const hostile = [
      'NEAR(queen bowie)', '"', '""', '"""', "(", ")", "*", "queen*", "queen OR", "OR OR", "-", "--", ":", "title:",
      "'; DROP TABLE search_fts; --", "{title}: queen", "title:(queen)", "^queen", "queen + bowie", "a\u0000b",
      "\u{1F3B8} rock", "year:", "year:-1", "x".repeat(256), "x".repeat(300), "NOT", "AND",
    ];
    for (const q of hostile) {
      try {
        const r = index.search(q);
        expect(Array.isArray(r.results)).toBe(true);
      } catch (e) {
        if (!(e instanceof QueryError)) throw new Error(`query ${JSON.stringify(q)} threw ${e}`);
      }
    }
    expect(ids(index, "{title}: queen")).toEqual([]); // the word "title", not a column filter
    expect(index.count()).toBe(LIBRARY.length);
  });

  test("ranking: a title match ranks above an album/genre match, with scores that say so", () => {
    const r = index.search("jazz").results;
    expect(r.map((h) => h.fileId)).toEqual([9, 8].map(asFileId)); // "Jazz" as title+album beats "Jazz" as genre
    expect(r[0].score).toBeGreaterThan(r[1].score);
    const pop = index.search("halo OR pop").results.map((h) => h.fileId);
    expect(pop[0]).toBe(asFileId(2)); // title "Halo" (and genre Pop) first
  });

  test("total, limit and offset", () => {
    const all = index.search("rock");
    expect(all.total).toBe(6);
    expect(all.totalExact).toBe(true);
    const page = index.search("rock", { limit: 2, offset: 2 });
    expect(page.results).toEqual(all.results.slice(2, 4));
    expect(() => index.search("rock", { limit: 10_001 })).toThrow("maximum (10000)");
  });

  test("decades present, skipping empty decades", () => {
    expect(index.decades()).toEqual([1950, 1960, 1970, 1980, 1990, 2000]);
  });

  test("artistText keeps every track artist once", () => {
    expect(artistText({ artist: "Queen", artists: ["Queen", "David Bowie"] })).toBe("Queen / David Bowie");
    expect(artistText({ artist: "Queen & David Bowie", artists: ["Queen", "David Bowie"] })).toBe("Queen & David Bowie");
    expect(artistText({ artist: null, artists: [] })).toBeNull();
  });
});

describe("SearchIndex stays in step with writes", () => {
  test("re-indexing a file replaces its entry: new text found, old text gone, no duplicates", () => {
    const { index } = freshIndex();
    index.indexFiles(LIBRARY);
    index.indexFiles([{ ...LIBRARY[4], title: "Ashes to Ashes", year: 1980 }]);
    index.indexFiles([{ ...LIBRARY[4], title: "Ashes to Ashes", year: 1980 }]);
    expect(ids(index, "ashes")).toEqual([5]);
    expect(ids(index, "title:heroes")).toEqual([]);
    expect(ids(index, "heroes")).toEqual([5]); // still the album title
    expect(sorted(ids(index, "year:1980"))).toEqual([5]);
    expect(index.count()).toBe(LIBRARY.length);
    expect(index.integrityCheck()).toBe(true);
  });

  test("removal removes, unknown ids are ignored", () => {
    const { index } = freshIndex();
    index.indexFiles(LIBRARY);
    index.removeFiles([3, 11, 999].map(asFileId));
    expect(ids(index, "bohemian")).toEqual([]);
    expect(index.decades()).toContain(1970);
    expect(index.count()).toBe(LIBRARY.length - 2);
    expect(index.integrityCheck()).toBe(true);
  });

  test("writes join the caller's transaction: a rolled-back file change leaves no index entry", () => {
    const { db, index } = freshIndex();
    db.run("CREATE TABLE files (id INTEGER PRIMARY KEY, title TEXT)");
    const write = db.transaction((fail: boolean) => {
      db.run("INSERT INTO files (id, title) VALUES (100, 'Rollback Song')");
      index.indexFiles([track({ id: asFileId(100), title: "Rollback Song" })]);
      if (fail) throw new Error("scan batch failed");
    });
    expect(() => write(true)).toThrow("scan batch failed");
    expect(ids(index, "rollback")).toEqual([]);
    write(false);
    expect(ids(index, "rollback")).toEqual([100]);
  });

  test("a file without an id is a programming error", () => {
    const { index } = freshIndex();
    expect(() => index.indexFiles([{ ...track({}), id: undefined }])).toThrow("has no id");
  });
});

describe("the ranking ladder for broad queries", () => {
  // 60 matches of "blue" with a budget of 20: 55 in the genre only (broad), 5 in titles (strong).
  const { index } = freshIndex({ rankBudget: 20 });
  const rows = [];
  for (let i = 1; i <= 55; i++) rows.push(track({ id: asFileId(i), title: `Song ${i}`, artist: "Band", genre: "Blue" }));
  for (let i = 56; i <= 60; i++) rows.push(track({ id: asFileId(i), title: `Blue ${i}`, artist: "Band", genre: "Rock" }));
  for (let i = 61; i <= 90; i++) rows.push(track({ id: asFileId(i), title: `Other ${i}`, artist: "Band", genre: "Rock", year: 1990 }));
  index.indexFiles(rows);

  test("more matches than the budget: strong-column matches ranked first, then the rest in library order", () => {
    const r = index.search("blue", { limit: 100 });
    expect(r.ranking).toBe("tiered");
    expect(sorted(r.results.slice(0, 5).map((h) => h.fileId))).toEqual([56, 57, 58, 59, 60]);
    expect(r.results.slice(5).map((h) => h.fileId)).toEqual(Array.from({ length: 55 }, (_, i) => i + 1).map(asFileId));
    expect(r.totalExact).toBe(false);
    expect(r.total).toBeGreaterThan(20);
    expect(index.search("blue", { exactTotal: true }).total).toBe(60);
  });

  test("pages of a broad query do not overlap", () => {
    const a = index.search("blue", { limit: 30 }).results.map((h) => h.fileId);
    const b = index.search("blue", { limit: 30, offset: 30 }).results.map((h) => h.fileId);
    expect(new Set([...a, ...b]).size).toBe(60);
  });

  test("strong matches over the budget too: library order", () => {
    const r = index.search("band", { limit: 100 });
    expect(r.ranking).toBe("library-order");
    expect(r.results.map((h) => h.fileId)).toEqual(Array.from({ length: 90 }, (_, i) => i + 1).map(asFileId));
  });

  test("words typed together rank their adjacent occurrence (an artist's name) first", () => {
    const { index } = freshIndex({ rankBudget: 20 }); // 2 phrases: 10 rows
    const rows = [];
    for (let i = 1; i <= 30; i++) rows.push(track({ id: asFileId(i), title: `Red River under a grey sky ${i}`, artist: "Band" }));
    for (let i = 31; i <= 33; i++) rows.push(track({ id: asFileId(i), title: `Song ${i}`, artist: "Red Sky" }));
    index.indexFiles(rows);
    const r = index.search("red sky", { limit: 100 });
    expect(r.ranking).toBe("tiered");
    expect(sorted(r.results.slice(0, 3).map((h) => h.fileId))).toEqual([31, 32, 33]);
    expect(r.results.slice(3).map((h) => h.fileId)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1).map(asFileId));
  });

  test("a very common word is not ranked by bm25 (its IDF pass is too slow); the adjacent name still comes first", () => {
    const { index } = freshIndex({ rankBudget: 1000, dfCap: 10 });
    const rows = [];
    for (let i = 1; i <= 30; i++) rows.push(track({ id: asFileId(i), title: `The Song ${i}`, artist: "Band", album: "The Beat" }));
    for (let i = 31; i <= 33; i++) rows.push(track({ id: asFileId(i), title: `Help ${i}`, artist: "The Beatles" }));
    index.indexFiles(rows);
    const r = index.search("the beatles", { limit: 100 });
    expect(r.ranking).toBe("tiered");
    expect(sorted(r.results.map((h) => h.fileId))).toEqual([31, 32, 33]);
    expect(r.total).toBe(3);
    const the = index.search("the", { limit: 100 });
    expect(the.ranking).toBe("tiered");
    expect(the.results.map((h) => h.fileId)).toEqual(Array.from({ length: 33 }, (_, i) => i + 1).map(asFileId)); // library order
    expect(the.results.every((h) => h.score === 0)).toBe(true);
  });

  test("a broad year range lists in library order", () => {
    const r = index.search("year:1990", { limit: 10 });
    expect(r.results.map((h) => h.fileId)).toEqual(Array.from({ length: 10 }, (_, i) => i + 61).map(asFileId));
  });
});

describe("damage, rebuild, read-only readers, crashes", () => {
  test("a fresh database reports missing, then ok after building", () => {
    const { index } = freshIndex();
    expect(index.open()).toBe("ok");
  });

  test("an interrupted rebuild is seen as incomplete", () => {
    const { index } = freshIndex();
    const failing = (function* () {
      yield LIBRARY[0];
      throw new Error("killed");
    })();
    expect(() => index.rebuild(failing, { batchSize: 1 })).toThrow("killed");
    expect(index.state()).toBe("incomplete");
    index.rebuild(LIBRARY);
    expect(index.state()).toBe("ok");
  });

  test("garbled index blocks on disk: searches fail with SearchIndexError, integrity check fails, rebuild repairs", () => {
    const { db, index, path } = freshIndex();
    index.indexFiles(LIBRARY);
    expect(index.isHealthy()).toBe(true);
    db.close();
    corruptFtsBlocks(path);
    const db2 = openMetadataDb(path);
    const index2 = new SearchIndex(db2);
    let thrown: unknown;
    try {
      index2.search("queen");
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(SearchIndexError);
    expect((thrown as SearchIndexError).state).toBe("damaged");
    expect(index2.isHealthy()).toBe(false);
    index2.rebuild(LIBRARY);
    expect(index2.isHealthy()).toBe(true);
    expect(sorted(ids(index2, "queen"))).toEqual([3, 4, 9, 11]);
    db2.close();
  });

  test("the FTS table missing altogether: open() recreates, state incomplete until rebuilt", () => {
    const { db, index } = freshIndex();
    db.run("DROP TABLE search_fts");
    expect(index.state()).toBe("missing");
    expect(() => index.search("queen")).toThrow(SearchIndexError);
    expect(index.open()).toBe("missing");
    expect(index.state()).toBe("incomplete");
  });

  test("an older schema version is recreated", () => {
    const { db, index } = freshIndex();
    index.indexFiles(LIBRARY);
    db.run("UPDATE search_meta SET value = 0 WHERE key = 'schema_version'");
    expect(index.state()).toBe("outdated");
    expect(index.open()).toBe("outdated");
    expect(index.count()).toBe(0);
  });

  test("a read-only connection can search (and a writer's later commit becomes visible)", () => {
    const { path, index } = freshIndex();
    index.indexFiles(LIBRARY);
    const ro = new Database(path, { readonly: true });
    const reader = new SearchIndex(ro);
    expect(reader.state()).toBe("ok");
    expect(sorted(reader.search("beyonce").results.map((r) => r.fileId))).toEqual([1, 2]);
    expect(reader.search("year:1980s").total).toBe(2);
    index.indexFiles([track({ id: asFileId(50), title: "Fresh Track" })]);
    expect(reader.search("fresh").results.map((r) => r.fileId)).toEqual([50].map(asFileId));
    expect(reader.integrityCheck()).toBe(false); // the full check needs the writer
    ro.close();
  });

  test("kill -9 after a commit loses nothing", async () => {
    const path = join(dir.path, "killed.db");
    const script = `
      import { SearchIndex } from ${JSON.stringify(join(import.meta.dir, "../../src/search/searchIndex.ts"))};
      import { openMetadataDb, track } from ${JSON.stringify(join(import.meta.dir, "helpers.ts"))};
      const db = openMetadataDb(${JSON.stringify(path)});
      const index = new SearchIndex(db);
      index.open();
      index.rebuild([track({ id: 1, title: "Survivor" })]);
      index.indexFiles([track({ id: 2, title: "Stayin Alive" })]);
      process.kill(process.pid, "SIGKILL");
    `;
    const proc = Bun.spawn([process.execPath, "-e", script], { stderr: "pipe" });
    expect(await proc.exited).not.toBe(0);
    expect(proc.signalCode).toBe("SIGKILL");
    const db = openMetadataDb(path);
    const index = new SearchIndex(db);
    expect(index.open()).toBe("ok");
    expect(index.isHealthy()).toBe(true);
    expect(ids(index, "survivor OR stayin")).toEqual([1, 2]);
    db.close();
  });
});
