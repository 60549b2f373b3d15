import { describe, expect, test } from "bun:test";
import {
  isBlankName,
  MAX_NAME_BYTES,
  RESERVED_ROOT_NAMES,
  sanitizeComponent,
  sanitizeFileName,
  splitExtension,
  truncateUtf8,
  utf8Length,
} from "../../src/core/names.ts";

describe("sanitizeComponent", () => {
  test("slash, backslash, NUL and the Windows set become _", () => {
    expect(sanitizeComponent("AC/DC")).toBe("AC_DC");
    expect(sanitizeComponent("Who Made Who?")).toBe("Who Made Who_");
    expect(sanitizeComponent('a\\b:c*d?e"f<g>h|i\0j')).toBe("a_b_c_d_e_f_g_h_i_j");
  });

  test("control characters are removed, tabs and newlines become spaces", () => {
    expect(sanitizeComponent("Tit\u0007le\u0085")).toBe("Title");
    expect(sanitizeComponent("Line\none\ttwo\u007f")).toBe("Line one two");
  });

  test("NFC: decomposed and composed spellings give the same name", () => {
    const nfd = "Cafe\u0301";
    expect(sanitizeComponent(nfd)).toBe("Caf\u00e9");
    expect(sanitizeComponent(nfd)).toBe(sanitizeComponent("Café"));
  });

  test("never . or .., never hidden, never empty", () => {
    expect(sanitizeComponent(".")).toBe("_");
    expect(sanitizeComponent("..")).toBe("_");
    expect(sanitizeComponent(".hidden")).toBe("hidden");
    expect(sanitizeComponent("...And Justice for All")).toBe("And Justice for All");
    expect(sanitizeComponent("   ")).toBe("_");
    expect(sanitizeComponent("", { fallback: "Unknown Album" })).toBe("Unknown Album");
    expect(sanitizeComponent(". . .", { fallback: ".x" })).toBe("x");
  });

  test("the mount's special directory names cannot be produced", () => {
    for (const reserved of RESERVED_ROOT_NAMES) {
      expect(reserved.startsWith(".")).toBe(true);
      expect(sanitizeComponent(reserved)).not.toBe(reserved);
      expect(sanitizeFileName(reserved)).not.toBe(reserved);
    }
  });

  test("trims whitespace, keeps inner spacing", () => {
    expect(sanitizeComponent("  Two  Spaces  ")).toBe("Two  Spaces");
  });

  test("at most 255 bytes, cut between characters, for multi-byte text", () => {
    const title = "東京".repeat(60); // 360 bytes
    const out = sanitizeComponent(title);
    expect(utf8Length(out)).toBeLessThanOrEqual(MAX_NAME_BYTES);
    expect(utf8Length(out)).toBeGreaterThan(MAX_NAME_BYTES - 3);
    expect(title.startsWith(out)).toBe(true);
    expect(out).not.toContain("\ufffd");
  });

  test("a file name keeps its extension when shortened", () => {
    const name = `01 - ${"Ä".repeat(150)}.flac`; // 5 + 300 + 5 bytes
    const out = sanitizeFileName(name);
    expect(out.endsWith(".flac")).toBe(true);
    expect(utf8Length(out)).toBeLessThanOrEqual(255);
    expect(out.slice(0, -5)).toBe(name.slice(0, out.length - 5));
  });

  test("emoji sequences and accents are not split", () => {
    const family = "👨‍👩‍👧‍👦"; // 25 bytes, one grapheme
    const s = "a".repeat(240) + family;
    expect(truncateUtf8(s, 255)).toBe("a".repeat(240));
    const accented = "e\u0301".repeat(100); // 3 bytes per grapheme
    const cut = truncateUtf8(accented, 10);
    expect(cut).toBe("e\u0301".repeat(3));
  });

  test("one huge grapheme falls back to a code point cut, never to broken UTF-8", () => {
    const zalgo = "a" + "\u0301".repeat(300);
    const out = sanitizeComponent(zalgo);
    expect(utf8Length(out)).toBeLessThanOrEqual(255);
    expect(out.startsWith("\u00e1\u0301")).toBe(true); // NFC composes the first accent
  });

  test("isBlankName", () => {
    expect(isBlankName(" .. ")).toBe(true);
    expect(isBlankName("\u0001")).toBe(true);
    expect(isBlankName("a")).toBe(false);
  });
});

describe("no spoofing", () => {
  test("bidirectional controls are removed: a right-to-left override cannot disguise an extension", () => {
    expect(sanitizeFileName("track\u202Ecalf.mp3")).toBe("trackcalf.mp3");
    for (const ch of ["\u202A", "\u202B", "\u202C", "\u202D", "\u202E", "\u2066", "\u2067", "\u2068", "\u2069", "\u200E", "\u200F", "\u061C"])
      expect(sanitizeComponent(`a${ch}b`)).toBe("ab");
  });

  test("zero-width characters are removed, so names that look the same are the same", () => {
    for (const ch of ["\u200B", "\u200C", "\u200D", "\u2060", "\uFEFF"]) expect(sanitizeComponent(`Ab${ch}ba`)).toBe("Abba");
    // …except a joiner inside an emoji sequence, which is part of the picture.
    expect(sanitizeComponent("👨‍👩‍👧")).toBe("👨‍👩‍👧");
  });

  test("a name made only of invisible characters is blank and takes its fallback", () => {
    const invisible = "\u200B\u202E\uFEFF\u2066\u200D";
    expect(isBlankName(invisible)).toBe(true);
    expect(sanitizeComponent(invisible, { fallback: "Unknown Album" })).toBe("Unknown Album");
    expect(sanitizeFileName(`${invisible}.flac`, { fallback: "track07.flac" })).toBe("track07.flac");
    // Hidden behind invisible characters, a leading dot is still stripped.
    expect(sanitizeComponent("\u200B.search")).toBe("search");
  });

  test("U+2028/U+2029 separate words like a newline", () => {
    expect(sanitizeComponent("one\u2028two\u2029three")).toBe("one two three");
  });
});

describe("file names", () => {
  test("the extension is kept and never counted as the name", () => {
    expect(splitExtension("01 - Song.flac")).toEqual({ stem: "01 - Song", extension: ".flac" });
    expect(splitExtension(".flac")).toEqual({ stem: "", extension: ".flac" });
    expect(splitExtension("noext")).toEqual({ stem: "noext", extension: "" });
    // What a vanished "[$title].$format" renders: not a file called "flac".
    expect(sanitizeFileName(".flac", { fallback: "track07.flac" })).toBe("track07.flac");
    expect(sanitizeFileName(" .flac")).toBe("_.flac");
    expect(sanitizeFileName("", { fallback: "allnul.flac" })).toBe("allnul.flac");
  });

  test("a single grapheme longer than the limit is shortened on a code point boundary, never dropped", () => {
    const title = "a" + "\u0300".repeat(300); // one grapheme, 601 bytes
    expect(utf8Length(title)).toBe(601);
    const out = sanitizeFileName(`00 - ${title}.mp3`);
    expect(out.startsWith("00 - \u00e0\u0300")).toBe(true); // NFC composes the first accent
    expect(out.endsWith(".mp3")).toBe(true);
    expect(utf8Length(out)).toBeLessThanOrEqual(MAX_NAME_BYTES);
    expect(utf8Length(out)).toBeGreaterThan(MAX_NAME_BYTES - 2);
    expect(out).not.toContain("\uFFFD");
    // Real characters are never split: an emoji sequence that does not fit is left out whole.
    const family = "👨‍👩‍👧‍👦";
    expect(truncateUtf8("a".repeat(240) + family, 255)).toBe("a".repeat(240));
  });
});
