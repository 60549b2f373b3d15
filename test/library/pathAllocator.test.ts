import { describe, expect, test } from "bun:test";
import { assignPaths, nameKey, PathAllocator, suffixNumber, withSuffix, type PathRequest } from "../../src/library/pathAllocator.ts";
import { utf8Length } from "../../src/library/sanitize.ts";

const req = (id: string, path: string, current?: string): PathRequest<string> => ({
  id,
  desired: path.split("/"),
  current: current ? current.split("/") : null,
});
const joined = (m: Map<string, readonly string[]>) => Object.fromEntries([...m].map(([k, v]) => [k, v.join("/")]));

describe("withSuffix", () => {
  test("goes before the extension", () => {
    expect(withSuffix("01 - Intro.flac", 2)).toBe("01 - Intro (2).flac");
    expect(withSuffix("Intro", 3)).toBe("Intro (3)");
    expect(withSuffix("Intro.flac", 1)).toBe("Intro.flac");
  });
  test("stays within 255 bytes without splitting characters", () => {
    const long = "東".repeat(83) + ".flac"; // 249 + 5 bytes
    const out = withSuffix(long, 12);
    expect(utf8Length(out)).toBeLessThanOrEqual(255);
    expect(out.endsWith(" (12).flac")).toBe(true);
    expect(out).not.toContain("\ufffd");
  });
  test("suffixNumber recognises its own output only", () => {
    expect(suffixNumber("A.flac", "A (2).flac")).toBe(2);
    expect(suffixNumber("A.flac", "a.FLAC")).toBe(1);
    expect(suffixNumber("A.flac", "B (2).flac")).toBeNull();
    expect(suffixNumber("A (2).flac", "A (2).flac")).toBe(1);
  });
});

describe("assignPaths", () => {
  test("two files with the same name: both visible, the later one suffixed, in caller order", () => {
    const out = assignPaths([req("a", "X/Al/01 - T.flac"), req("b", "X/Al/01 - T.flac"), req("c", "X/Al/01 - T.flac")]);
    expect(joined(out)).toEqual({ a: "X/Al/01 - T.flac", b: "X/Al/01 - T (2).flac", c: "X/Al/01 - T (3).flac" });
  });

  test("deterministic: same input, same output; different order, different winner", () => {
    const input = [req("a", "X/1.mp3"), req("b", "X/1.mp3")];
    expect(joined(assignPaths(input))).toEqual(joined(assignPaths(input)));
    expect(joined(assignPaths([...input].reverse()))).toEqual({ b: "X/1.mp3", a: "X/1 (2).mp3" });
  });

  test("NFC and case variants collide; directories merge under the first spelling", () => {
    const out = assignPaths([req("a", "ABBA/Gold/Song.flac"), req("b", "Abba/Gold/song.flac"), req("c", "Abba/Gold/Cafe\u0301.flac"), req("d", "ABBA/Gold/Café.flac")]);
    expect(joined(out)).toEqual({
      a: "ABBA/Gold/Song.flac",
      b: "ABBA/Gold/song (2).flac",
      c: "ABBA/Gold/Cafe\u0301.flac",
      d: "ABBA/Gold/Café (2).flac",
    });
    expect(nameKey("Cafe\u0301")).toBe(nameKey("CAFÉ"));
  });

  test("occupied paths are respected", () => {
    const out = assignPaths([req("n", "X/1.mp3")], [["X", "1.mp3"], ["X", "1 (2).mp3"]]);
    expect(joined(out)).toEqual({ n: "X/1 (3).mp3" });
  });

  test("stable across remounts: a stored suffixed path is kept even after the first file is gone", () => {
    const first = assignPaths([req("a", "X/1.mp3"), req("b", "X/1.mp3")]);
    expect(joined(first).b).toBe("X/1 (2).mp3");
    // Remount: "a" was deleted from the origin; "b" keeps its name, and a new file takes the free plain name.
    const second = assignPaths([req("new", "X/1.mp3"), req("b", "X/1.mp3", "X/1 (2).mp3")]);
    expect(joined(second)).toEqual({ b: "X/1 (2).mp3", new: "X/1.mp3" });
  });

  test("stored paths win over earlier files in the batch", () => {
    const out = assignPaths([req("a", "X/1.mp3"), req("b", "X/1.mp3", "X/1.mp3")]);
    expect(joined(out)).toEqual({ b: "X/1.mp3", a: "X/1 (2).mp3" });
  });

  test("a retagged file moves: its stored path no longer fits its desired path", () => {
    const out = assignPaths([req("a", "Y/New.mp3", "X/Old.mp3")]);
    expect(joined(out)).toEqual({ a: "Y/New.mp3" });
  });

  test("two files claiming the same stored path: the first keeps it", () => {
    const out = assignPaths([req("a", "X/1.mp3", "X/1.mp3"), req("b", "X/1.mp3", "X/1.mp3")]);
    expect(joined(out)).toEqual({ a: "X/1.mp3", b: "X/1 (2).mp3" });
  });

  test("an allocator carries over batches", () => {
    const alloc = new PathAllocator();
    alloc.assign([req("a", "X/1.mp3")]);
    const out = alloc.assign([req("b", "x/1.MP3")]);
    expect(joined(out)).toEqual({ b: "X/1 (2).MP3" });
    expect(alloc.isTaken(["x", "1 (2).mp3"])).toBe(true);
  });
});
