import { describe, expect, test } from "bun:test";
import { QueryError } from "../../src/search/queryParser.ts";
import {
  entryName,
  relativeTarget,
  SEARCH_DIR_MAX_RESULTS,
  searchLookupErrno,
  symlinkEntries,
} from "../../src/search/searchDirEntries.ts";
import { playlistText } from "../../src/search/searchDirEntries.ts";
import { truncateUtf8 } from "../../src/core/names.ts";
import { SearchIndexError } from "../../src/search/searchIndex.ts";
import { asFileId } from "../../src/core/ids.ts";

const t = (fileId: number, artist: string | null, title: string | null, virtualPath = `A/B/${fileId}.flac`) => ({
  fileId: asFileId(fileId), artist, title, format: "flac", virtualPath,
});

describe("search directory entries", () => {
  test("names: number, artist, title, extension; Unknown fallbacks", () => {
    expect(entryName(1, { artist: "Metallica", title: "Enter Sandman", format: "flac" })).toBe("001. Metallica - Enter Sandman.flac");
    expect(entryName(42, { artist: null, title: "  ", format: "mp3" })).toBe("042. Unknown Artist - Unknown Title.mp3");
  });

  test("names never contain / or NUL", () => {
    const n = entryName(3, { artist: "AC/DC", title: "T.N.T\u0000x", format: "flac" });
    expect(n).toBe("003. AC_DC - T.N.T_x.flac");
  });

  test("names follow the tree's naming rule: Windows-unsafe characters, line separators, invisible characters", () => {
    const n = entryName(4, { artist: 'Who?: "A" <B>', title: "x*|y\u2028z\u202Eevil\u200B", format: "flac" });
    expect(n).toBe('004. Who__ _A_ _B_ - x__y zevil.flac');
    // Only invisible characters: the Unknown fallback, as in the tree.
    expect(entryName(5, { artist: "\u200B\u2066", title: "\uFEFF", format: "mp3" })).toBe("005. Unknown Artist - Unknown Title.mp3");
  });

  test("one huge grapheme in a title is shortened, not dropped", () => {
    const n = entryName(6, { artist: "A", title: "a" + "\u0300".repeat(300), format: "mp3" });
    expect(n.startsWith("006. A - \u00e0\u0300")).toBe(true);
    expect(n.endsWith(".mp3")).toBe(true);
    expect(Buffer.byteLength(n)).toBeLessThanOrEqual(255);
  });

  test("names fit in 255 bytes without splitting a character, keeping number and extension", () => {
    const n = entryName(999, { artist: "é".repeat(200), title: "x", format: "flac" });
    expect(Buffer.byteLength(n)).toBeLessThanOrEqual(255);
    expect(n.startsWith("999. éé")).toBe(true);
    expect(n.endsWith(".flac")).toBe(true);
    expect(n).not.toContain("\uFFFD");
    expect(truncateUtf8("aé", 2)).toBe("a");
  });

  test("targets are relative to /.search/<query>/ and reject paths that could escape the mount", () => {
    expect(relativeTarget("Queen/Jazz (1978)/01 - Mustapha.flac")).toBe("../../Queen/Jazz (1978)/01 - Mustapha.flac");
    expect(relativeTarget("/Queen/x.flac")).toBe("../../Queen/x.flac");
    expect(relativeTarget("Queen/../../etc/passwd")).toBeNull();
    expect(relativeTarget("Queen//x.flac")).toBeNull();
    expect(relativeTarget("")).toBeNull();
  });

  test("entries keep rank order, skip unusable paths without gaps, and stop at the limit", () => {
    const e = symlinkEntries([t(5, "A", "One"), t(6, "B", "Bad", "../x.flac"), t(7, "C", "Two")]);
    expect(e).toEqual([
      { fileId: asFileId(5), name: "001. A - One.flac", target: "../../A/B/5.flac" },
      { fileId: asFileId(7), name: "002. C - Two.flac", target: "../../A/B/7.flac" },
    ]);
    const many = symlinkEntries(Array.from({ length: 1500 }, (_, i) => t(i + 1, "A", `T${i}`)));
    expect(many).toHaveLength(SEARCH_DIR_MAX_RESULTS);
    expect(many.at(-1)!.name).toBe("999. A - T998.flac");
    expect(new Set(many.map((x) => x.name)).size).toBe(many.length);
  });

  test("lookup errors: a bad query is EINVAL, a damaged index EIO, a bug propagates", () => {
    expect(searchLookupErrno(new QueryError("empty", "x"))).toBe("EINVAL");
    expect(searchLookupErrno(new SearchIndexError("damaged", "x"))).toBe("EIO");
    expect(searchLookupErrno(new Error("bug"))).toBeNull();
  });
});

describe("playlistText", () => {
  test("extended M3U, entries relative to the playlist's folder, unusable paths left out", () => {
    const text = playlistText([
      { fileId: asFileId(1), artist: "Sólveig Ørn", title: "Norðurljós", format: "flac", virtualPath: "Sólveig Ørn/Sketches (2016) [FLAC]/01 - Norðurljós.flac" },
      { fileId: asFileId(2), artist: null, title: "Bad\nTitle", format: "mp3", virtualPath: "../escape.mp3" },
      { fileId: asFileId(3), artist: "A", title: "Line\nBreak", format: "mp3", virtualPath: "A/B/02 - x.mp3" },
    ]);
    expect(text).toBe(
      "#EXTM3U\n#EXTINF:-1,Sólveig Ørn - Norðurljós\n../Sólveig Ørn/Sketches (2016) [FLAC]/01 - Norðurljós.flac\n#EXTINF:-1,A - Line Break\n../A/B/02 - x.mp3\n",
    );
  });
});
