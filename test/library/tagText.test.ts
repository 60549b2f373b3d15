import { describe, expect, test } from "bun:test";
import { cleanText, cleanTextList, finiteNumber, positiveInt, repairUtf8ReadAsLatin1, splitArtistList, yearOf } from "../../src/library/tagText.ts";

describe("tag text normalising", () => {
  test("cleanText trims, drops NUL padding, BOMs and control characters, NFC, empty → null", () => {
    expect(cleanText("  Title\0\0\0")).toBe("Title");
    expect(cleanText("\ufeffTitle\u0007")).toBe("Title");
    expect(cleanText("Cafe\u0301")).toBe("Café");
    expect(cleanText("   ")).toBeNull();
    expect(cleanText("\0\0")).toBeNull();
    expect(cleanText(undefined)).toBeNull();
    expect(cleanText("\0First\0Second")).toBe("First");
    expect(cleanText("a\tb\nc")).toBe("a b c");
  });

  test("cleanTextList splits NUL-separated values and removes duplicates and blanks", () => {
    expect(cleanTextList(["A\0B", " A ", "", null, "C"])).toEqual(["A", "B", "C"]);
  });

  test("splitArtistList splits '; ' and ' / ', never AC/DC or &", () => {
    expect(splitArtistList(["Artist A; Artist B"])).toEqual(["Artist A", "Artist B"]);
    expect(splitArtistList(["A / B", "C;D"])).toEqual(["A", "B", "C", "D"]);
    expect(splitArtistList(["AC/DC"])).toEqual(["AC/DC"]);
    expect(splitArtistList(["Simon & Garfunkel"])).toEqual(["Simon & Garfunkel"]);
  });

  test("positiveInt: 0, negatives, garbage and absurd values are not numbers", () => {
    expect(positiveInt(3, 99)).toBe(3);
    expect(positiveInt("07", 99)).toBe(7);
    expect(positiveInt(0, 99)).toBeNull();
    expect(positiveInt(-1, 99)).toBeNull();
    expect(positiveInt("x", 99)).toBeNull();
    expect(positiveInt(100, 99)).toBeNull();
    expect(positiveInt(NaN, 99)).toBeNull();
  });

  test("yearOf: year field, else first four digits of the date", () => {
    expect(yearOf(1986, null)).toBe(1986);
    expect(yearOf(undefined, "1986-05-02")).toBe(1986);
    expect(yearOf(0, "2001")).toBe(2001);
    expect(yearOf(undefined, "May 1986")).toBeNull();
    expect(yearOf(undefined, null)).toBeNull();
  });

  test("yearOf: a date that is not a four-digit year gives no year, whatever the parser derived from it", () => {
    // music-metadata reports these dates with years 1, 9999 and 6427: the decades "0s", "9990s" and "6420s".
    expect(yearOf(1, "1e3")).toBeNull();
    expect(yearOf(9999, "99999")).toBeNull();
    expect(yearOf(6427, "64276-03-08")).toBeNull();
    expect(yearOf(1986, "1986.05.02")).toBe(1986);
    expect(yearOf(1986, "May 1986")).toBe(1986);
    expect(yearOf(12, null)).toBeNull();
    expect(yearOf("1986", null)).toBe(1986);
    expect(yearOf("19x6", null)).toBeNull();
  });

  test("finiteNumber strips ' dB'", () => {
    expect(finiteNumber("-6.54 dB")).toBe(-6.54);
    expect(finiteNumber("+1.2dB")).toBe(1.2);
    expect(finiteNumber(0.98)).toBe(0.98);
    expect(finiteNumber("loud")).toBeNull();
    expect(finiteNumber(Infinity)).toBeNull();
  });

  test("repairUtf8ReadAsLatin1 undoes mojibake and leaves real Latin-1 alone", () => {
    const mojibake = String.fromCharCode(...new TextEncoder().encode("Title é ✓ 東京"));
    expect(repairUtf8ReadAsLatin1(mojibake)).toBe("Title é ✓ 東京");
    expect(repairUtf8ReadAsLatin1("Café")).toBe("Café"); // "é" alone is not valid UTF-8
    expect(repairUtf8ReadAsLatin1("plain")).toBe("plain");
    expect(repairUtf8ReadAsLatin1("東京")).toBe("東京");
  });
});
