import { afterEach, expect, test } from "bun:test";
import { msFromEnv } from "../../src/core/testKnobs.ts";

const NAME = "MUSICFS_TEST_KNOB_PROBE_MS";
afterEach(() => {
  delete process.env[NAME];
});

test("a test knob gives its milliseconds, and anything that is not a positive number leaves the product's default", () => {
  expect(msFromEnv(NAME)).toBeUndefined();
  process.env[NAME] = "250";
  expect(msFromEnv(NAME)).toBe(250);
  // A typo or an empty value must never make an interval 0 (a busy loop) or NaN (a timer that fires at once).
  for (const bad of ["", "0", "-5", "abc", "Infinity", "1e400"]) {
    process.env[NAME] = bad;
    expect(msFromEnv(NAME)).toBeUndefined();
  }
});
