import { describe, expect, test } from "bun:test";
import { withSuffix } from "../../src/library/pathAllocator.ts";
import { utf8Length } from "../../src/core/names.ts";

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
});
