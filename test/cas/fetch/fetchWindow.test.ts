import { expect, test } from "bun:test";
import { nextRequest, type FetchRequest, type FetchRequestParams } from "../../../src/cas/fetch/fetchWindow.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const P: FetchRequestParams = { initialBytes: 256 * KiB, maxRequestBytes: 64 * MiB, blockBytes: 32 * KiB };

/** Every request of a fetch from `from` to `size`, in order. */
function requests(from: number, size: number, earned = 0, p = P): FetchRequest[] {
  const out: FetchRequest[] = [];
  let previous = 0;
  for (let r; (r = nextRequest(from, size, previous, p, earned)); from = r.to) {
    out.push(r);
    previous = r.to - r.from;
  }
  return out;
}

test("a fetch opens with one small request, and each next request is twice the one before: a 64 MiB file in 9 GETs", () => {
  const rs = requests(0, 64 * MiB);
  const sizes = rs.map((r) => r.to - r.from);
  expect(sizes.slice(0, 8)).toEqual([256 * KiB, 512 * KiB, 1 * MiB, 2 * MiB, 4 * MiB, 8 * MiB, 16 * MiB, 32 * MiB]);
  expect(rs.length).toBe(9); // the rest (256 KiB) is the last one
  // Every byte requested once, in order.
  expect(sizes.reduce((a, b) => a + b, 0)).toBe(64 * MiB);
  for (let i = 1; i < rs.length; i++) expect(rs[i].from).toBe(rs[i - 1].to);
});

test("requests never exceed their bound", () => {
  const p = { ...P, maxRequestBytes: 4 * MiB };
  const sizes = requests(0, 100 * MiB, 0, p).map((r) => r.to - r.from);
  expect(Math.max(...sizes)).toBe(4 * MiB);
  expect(sizes.filter((s) => s === 4 * MiB).length).toBeGreaterThan(20);
});

test("a fetch after playback was detected opens with the window the reader's reads had earned", () => {
  expect(nextRequest(4 * MiB, 100 * MiB, 0, P, 1 * MiB)).toEqual({ from: 4 * MiB, to: 5 * MiB });
  expect(nextRequest(0, 200 * MiB, 0, P, 128 * MiB)).toEqual({ from: 0, to: 64 * MiB }); // still bounded
  expect(nextRequest(0, 100 * MiB, 0, P, 0)).toEqual({ from: 0, to: 256 * KiB });
});

test("requests end on block boundaries (a resumed fetch starts mid-block) and at the end of the file", () => {
  const resumed = 3 * MiB + 1000;
  expect(nextRequest(resumed, 100 * MiB, 0, P)).toEqual({ from: resumed, to: 3 * MiB + 288 * KiB });
  const size = 5 * MiB + 12345;
  const rs = requests(0, size);
  expect(rs[rs.length - 1].to).toBe(size);
  expect(requests(size - 100, size)).toEqual([{ from: size - 100, to: size }]);
  expect(nextRequest(size, size, 0, P)).toBeNull();
});

test("with pieces, a request ends on a multiple of its size up to a piece: soon every request starts on a piece boundary", () => {
  const rs = requests(0, 64 * MiB, 0, { ...P, pieceBytes: 1 * MiB });
  expect(rs.map((r) => r.to - r.from).slice(0, 4)).toEqual([256 * KiB, 768 * KiB, 2 * MiB, 4 * MiB]);
  expect(rs.slice(2).every((r) => r.from % MiB === 0)).toBe(true);
  expect(rs[rs.length - 1].to).toBe(64 * MiB);
});
