import { expect, test } from "bun:test";
import { DeltaClassifier } from "../../src/library/deltaClassify.ts";

const stored = [
  { id: 1, realPath: "a/1.flac", size: 10, mtimeMs: 100 },
  { id: 2, realPath: "a/2.flac", size: 10, mtimeMs: 100 },
  { id: 3, realPath: "b/3.flac", size: 10, mtimeMs: 100 },
  { id: 4, realPath: "locked/4.flac", size: 10, mtimeMs: 100 },
];

test("size and mtime decide unchanged vs modified; unseen stored files are removed", () => {
  const c = new DeltaClassifier(stored);
  expect(c.classify("a/1.flac", 10, 100)).toBe("unchanged");
  expect(c.classify("a/2.flac", 11, 100)).toBe("modified");
  expect(c.classify("b/3.flac", 10, 101)).toBe("modified");
  expect(c.classify("new.flac", 1, 1)).toBe("added");
  expect(c.counts).toEqual({ added: 1, modified: 2, unchanged: 1 });
  expect(c.removed().map((r) => r.id)).toEqual([4]);
});

test("files under folders the walk could not read are never removed", () => {
  const c = new DeltaClassifier(stored);
  c.classify("a/1.flac", 10, 100);
  expect(c.removed(["locked"]).map((r) => r.id)).toEqual([2, 3]);
  expect(c.removed(["."])).toEqual([]); // the origin root itself was unreadable: remove nothing
  expect(c.removed(["a"]).map((r) => r.id)).toEqual([3, 4]); // "a" does not cover "ab/…" or "b/…"
});
