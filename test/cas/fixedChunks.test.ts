import { expect, test } from "bun:test";
import { fixedCuts } from "../../src/cas/fixedChunks.ts";

const K = 1024;

test("cuts at multiples of the chunk size, the last chunk ends at the end of the file", () => {
  expect(fixedCuts(0, 200 * K, 200 * K, 64 * K)).toEqual([
    { offset: 0, length: 64 * K }, { offset: 64 * K, length: 64 * K }, { offset: 128 * K, length: 64 * K }, { offset: 192 * K, length: 8 * K },
  ]);
});

test("only chunks complete within the bytes written so far; the next call continues where the last cut ended", () => {
  const first = fixedCuts(0, 100 * K, 1000 * K, 64 * K);
  expect(first).toEqual([{ offset: 0, length: 64 * K }]);
  expect(fixedCuts(64 * K, 130 * K, 1000 * K, 64 * K)).toEqual([{ offset: 64 * K, length: 64 * K }]);
  expect(fixedCuts(128 * K, 130 * K, 1000 * K, 64 * K)).toEqual([]);
});

test("a resume from an unaligned offset (a FastCDC prefix) starts with one short chunk back to the alignment", () => {
  expect(fixedCuts(100 * K, 256 * K, 1000 * K, 64 * K)).toEqual([
    { offset: 100 * K, length: 28 * K }, { offset: 128 * K, length: 64 * K }, { offset: 192 * K, length: 64 * K },
  ]);
});

test("an empty range or a finished file gives no chunk", () => {
  expect(fixedCuts(0, 0, 0)).toEqual([]);
  expect(fixedCuts(50, 50, 50)).toEqual([]);
  expect(() => fixedCuts(0, 1, 1, 0)).toThrow(RangeError);
});
