import { describe, expect, test } from "bun:test";
import { DeltaClassifier, dirOf, type StoredIdentity, type StoredLookup, sameContent } from "../../src/library/deltaClassify.ts";
import { asFileId } from "../../src/core/ids.ts";

const stored: StoredIdentity[] = [
  { id: asFileId(1), realPath: "a/1.flac", size: 10, mtimeMs: 100 },
  { id: asFileId(2), realPath: "a/2.flac", size: 10, mtimeMs: 100 },
  { id: asFileId(3), realPath: "b/3.flac", size: 10, mtimeMs: 100 },
  { id: asFileId(4), realPath: "locked/4.flac", size: 10, mtimeMs: 100 },
  { id: asFileId(5), realPath: "gone/deep/5.flac", size: 10, mtimeMs: 100 },
  { id: asFileId(6), realPath: "ab/6.flac", size: 10, mtimeMs: 100 },
];

/** A lookup that also counts how many rows it handed out per folder query (memory stays per folder). */
function lookup(rows = stored): StoredLookup & { dirQueries: string[] } {
  const dirQueries: string[] = [];
  return {
    dirQueries,
    inDir: (dir) => {
      dirQueries.push(dir);
      return rows.filter((r) => dirOf(r.realPath) === dir);
    },
    all: () => rows.map((r) => ({ id: r.id, realPath: r.realPath })),
  };
}

test("size and mtime decide unchanged vs modified; unseen stored files, also of unwalked folders, are removed", () => {
  const l = lookup();
  const c = new DeltaClassifier(l);
  expect(c.classify("a/1.flac", 10, 100)).toBe("unchanged");
  expect(c.classify("a/2.flac", 11, 100)).toBe("modified");
  expect(c.classify("b/3.flac", 10, 101)).toBe("modified");
  expect(c.classify("new.flac", 1, 1)).toBe("added");
  expect(c.counts).toEqual({ added: 1, modified: 2, unchanged: 1 });
  expect(l.dirQueries).toEqual(["a/", "b/", ""]); // one query per folder walked
  expect(c.removed().sort()).toEqual([4, 5, 6].map(asFileId));
});

test("a file gone from a walked folder is removed", () => {
  const c = new DeltaClassifier(lookup());
  c.classify("a/1.flac", 10, 100);
  c.classify("b/3.flac", 10, 100);
  expect(c.removed()).toContain(asFileId(2));
});

test("files under paths the walk could not read are never removed; '.' protects the whole origin", () => {
  const c = new DeltaClassifier(lookup());
  c.classify("a/1.flac", 10, 100);
  expect(c.removed(["locked"]).sort()).toEqual([2, 3, 5, 6].map(asFileId));
  const d = new DeltaClassifier(lookup());
  expect(d.removed(["."])).toEqual([]);
  const e = new DeltaClassifier(lookup());
  expect(e.removed(["a"]).sort()).toEqual([3, 4, 5, 6].map(asFileId)); // "a" does not cover "ab/…"
});

test("a scoped walk judges only its scope: a single changed file does not condemn its folder", () => {
  const c = new DeltaClassifier(lookup(), ["a/2.flac", "gone"]);
  expect(c.classify("a/2.flac", 10, 100)).toBe("unchanged");
  expect(c.removed().sort()).toEqual([5].map(asFileId)); // a/1.flac is outside the scope; gone/deep/5.flac was in it and is gone
});

describe("content identity with an ETag (object stores)", () => {
  const stored = { id: 1, realPath: "a.flac", size: 10, mtimeMs: 5000, etag: "abc" };
  test("the ETag decides when both sides have one; otherwise the mtime does", () => {
    expect(sameContent(stored, 10, 9000, "abc")).toBe(true); // a store that reports other times for the same object
    expect(sameContent(stored, 10, 5000, "def")).toBe(false); // replaced within the same second
    expect(sameContent(stored, 11, 5000, "abc")).toBe(false);
    expect(sameContent({ ...stored, etag: null }, 10, 5000, "abc")).toBe(true);
    expect(sameContent({ ...stored, etag: null }, 10, 6000, undefined)).toBe(false);
  });
});
