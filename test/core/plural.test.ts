import { describe, expect, test } from "bun:test";
import { plural } from "../../src/core/plural.ts";

describe("plural", () => {
  test("one is singular, everything else plural; irregular forms are given", () => {
    expect(plural(1, "track")).toBe("1 track");
    expect(plural(0, "track")).toBe("0 tracks");
    expect(plural(2, "track")).toBe("2 tracks");
    expect(plural(1, "match", "matches")).toBe("1 match");
    expect(plural(3, "match", "matches")).toBe("3 matches");
  });
});
