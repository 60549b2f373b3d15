import { expect, test } from "bun:test";
import { checkPinBudget, formatProgress, pinFetchLimit, progressOf } from "../../../src/app/cache/pinPolicy.ts";
import { UserError } from "../../../src/core/errors.ts";

const GiB = 1024 ** 3;

test("pinning past the pins' share of the cap is refused with the sizes and what to do", () => {
  let err: unknown;
  try {
    checkPinBudget({ label: "/Big Box Set", pinnedBytes: 3 * GiB, addedBytes: 2 * GiB, limitBytes: 4 * GiB, capBytes: 5 * GiB });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(UserError);
  const e = err as UserError;
  expect(e.message).toContain("/Big Box Set");
  expect(e.message).toContain("3.00 GiB pinned + 2.00 GiB");
  expect(e.message).toContain("4.00 GiB");
  expect(e.message).toContain("80 % of the 5.00 GiB cache cap");
  expect(e.hint).toContain("musicfs unpin");
  expect(e.hint).toContain("cache.max_size");
});

test("what fits is allowed, and re-pinning what is already pinned (nothing added) always is", () => {
  expect(() => checkPinBudget({ label: "a", pinnedBytes: GiB, addedBytes: 3 * GiB, limitBytes: 4 * GiB, capBytes: 5 * GiB })).not.toThrow();
  expect(() => checkPinBudget({ label: "a", pinnedBytes: 9 * GiB, addedBytes: 0, limitBytes: 4 * GiB, capBytes: 5 * GiB })).not.toThrow();
});

test("progress: rate from bytes fetched over time, ETA from what is left", () => {
  const p = progressOf({ files: 10, cachedFiles: 4, bytes: 100e6, cachedBytes: 40e6, failedFiles: 0, fetchedBytes: 20e6, fetchingForMs: 2000, lastError: null });
  expect(p.rateBytesPerS).toBe(10e6);
  expect(p.etaS).toBe(6);
  expect(formatProgress(p)).toBe("4/10 files, 38.1 MiB of 95.4 MiB, 10.0 MB/s, ETA 6 s");
  const idle = progressOf({ files: 2, cachedFiles: 2, bytes: 5, cachedBytes: 5, failedFiles: 0, fetchedBytes: 0, fetchingForMs: 0, lastError: null });
  expect(idle.rateBytesPerS).toBeNull();
  expect(idle.etaS).toBeNull();
});

test("pins fetch as many files at once as the fetcher runs, one fewer while a player waits, never none", () => {
  expect(pinFetchLimit(4, false)).toBe(4);
  expect(pinFetchLimit(4, true)).toBe(3);
  expect(pinFetchLimit(1, true)).toBe(1);
});
