import { describe, expect, test } from "bun:test";
import { isUtf8 } from "node:buffer";
import { displayPath, fsBytesToText, originFsPath, textToFsBytes } from "../../src/core/originPaths.ts";
import { Dice } from "../../src/sample/random.ts";

const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : Buffer.from(p))));

describe("origin path text", () => {
  test("valid UTF-8 names are their own text", () => {
    for (const name of ["Queen/01 - One Vision.flac", "Café/東京.mp3", "👨‍👩‍👧.ogg", ""]) {
      expect(fsBytesToText(Buffer.from(name))).toBe(name);
      expect(originFsPath("/music", name)).toBe(name ? `/music/${name}` : "/music");
    }
  });

  test("bytes that are not UTF-8 become escapes that map back to exactly those bytes", () => {
    const raw = bytes([0xff, 0xfe], ".mp3");
    const text = fsBytesToText(raw);
    expect(text).toBe("\uFFFDff\uFFFDfe.mp3");
    expect(isUtf8(Buffer.from(text))).toBe(true);
    expect(textToFsBytes(text)).toEqual(raw);
    expect(originFsPath("/music", `dir${fsBytesToText(bytes([0xff]))}bad/${text}`)).toEqual(bytes("/music/dir", [0xff], "bad/", [0xff, 0xfe], ".mp3"));
  });

  test("a real U+FFFD is doubled, so a valid name is never read as an escape", () => {
    const valid = Buffer.from("real\uFFFDff.flac");
    const raw = bytes("real", [0xff], ".flac");
    expect(fsBytesToText(valid)).not.toBe(fsBytesToText(raw));
    expect(textToFsBytes(fsBytesToText(valid))).toEqual(valid);
    expect(textToFsBytes(fsBytesToText(raw))).toEqual(raw);
  });

  test("overlong forms, surrogates, truncated sequences and code points above U+10FFFF are escaped byte by byte", () => {
    for (const bad of [[0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80], [0x80], [0xf8, 0x88, 0x80, 0x80, 0x80]]) {
      const raw = bytes("a", bad, "b");
      const text = fsBytesToText(raw);
      expect(text).toBe(`a${bad.map((b) => `\uFFFD${b.toString(16).padStart(2, "0")}`).join("")}b`);
      expect(textToFsBytes(text)).toEqual(raw);
    }
    // Valid sequences next to invalid bytes are kept as text.
    expect(fsBytesToText(bytes("é", [0xff], "€"))).toBe("é\uFFFDff€");
  });

  test("any byte string round-trips (seeded random names)", () => {
    const dice = new Dice(9);
    for (let n = 0; n < 2000; n++) {
      // Mostly ASCII, with high bytes that sometimes form valid sequences and often do not.
      const raw = Buffer.from(Array.from({ length: dice.int(1, 24) }, () => (dice.chance(0.3) ? dice.int(0x80, 0xff) : dice.int(0x20, 0x7e))));
      const text = fsBytesToText(raw);
      expect(isUtf8(Buffer.from(text))).toBe(true);
      expect(textToFsBytes(text)).toEqual(raw);
    }
  });

  test("display: each raw byte shows as one U+FFFD, a real U+FFFD as itself", () => {
    expect(displayPath(fsBytesToText(bytes([0xff, 0xfe], ".mp3")))).toBe("\uFFFD\uFFFD.mp3");
    expect(displayPath(fsBytesToText(Buffer.from("real\uFFFDff.flac")))).toBe("real\uFFFDff.flac");
    expect(displayPath("plain/name.flac")).toBe("plain/name.flac");
  });
});
