import { expect, test } from "bun:test";
import { advanceWindow, nextRequest, openWindow, type FetchWindow } from "../../../src/cas/fetch/fetchWindow.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const P = { initialBytes: 256 * KiB, maxBytes: 8 * MiB, requestBytes: 1 * MiB, blockBytes: 32 * KiB };

/**
 * A fetch from `from` to `size` whose requests all answer in the order made, one at a time: the requests it makes
 * (sizes), and how many were in flight when each was made.
 */
function simulate(from: number, size: number, earned = 0): { sizes: number[]; depth: number[] } {
  let w: FetchWindow = openWindow(from, P, earned);
  let next = from;
  let stream = from;
  const inFlight: number[] = [];
  const sizes: number[] = [];
  const depth: number[] = [];
  for (;;) {
    w = advanceWindow(w, stream, P);
    for (let r; (r = nextRequest(next, stream, size, w, P)); next = r.to) {
      sizes.push(r.to - r.from);
      inFlight.push(r.to);
      depth.push(inFlight.length);
    }
    if (inFlight.length === 0) return { sizes, depth };
    stream = inFlight.shift()!; // the oldest request's bytes are taken
  }
}

test("a fetch opens with one small request, and the window doubles as the stream takes the bytes, up to the bound", () => {
  const { sizes, depth } = simulate(0, 64 * MiB);
  expect(sizes[0]).toBe(256 * KiB);
  expect(depth[0]).toBe(1);
  // The window grows 256 KiB → 512 KiB → … → 8 MiB: requests grow to a segment, then several are in flight.
  expect(sizes.slice(0, 4)).toEqual([256 * KiB, 512 * KiB, 1 * MiB, 1 * MiB]);
  expect(Math.max(...sizes)).toBe(1 * MiB);
  expect(Math.max(...depth)).toBeGreaterThanOrEqual(8);
  expect(Math.max(...depth)).toBeLessThanOrEqual(9);
  // Every byte requested once, in order.
  expect(sizes.reduce((a, b) => a + b, 0)).toBe(64 * MiB);
});

test("the window never exceeds its bound ahead of the stream", () => {
  let w = openWindow(0, P);
  for (let s = 0; s < 100 * MiB; s += 100 * KiB) {
    w = advanceWindow(w, s, P);
    expect(w.bytes).toBeLessThanOrEqual(P.maxBytes);
  }
  expect(w.bytes).toBe(P.maxBytes);
  expect(nextRequest(20 * MiB, 12 * MiB, 100 * MiB, w, P)).toBeNull(); // 8 MiB ahead already
  expect(nextRequest(19 * MiB, 12 * MiB, 100 * MiB, w, P)).toEqual({ from: 19 * MiB, to: 20 * MiB });
});

test("a fetch after playback was detected opens with the window the reader's reads had earned", () => {
  expect(openWindow(0, P, 1 * MiB).bytes).toBe(1 * MiB);
  expect(openWindow(0, P, 64 * MiB).bytes).toBe(P.maxBytes);
  expect(openWindow(0, P, 0).bytes).toBe(P.initialBytes);
});

test("requests end on block boundaries (a resumed fetch starts mid-block) and at the end of the file", () => {
  const resumed = 3 * MiB + 1000;
  const w = openWindow(resumed, P);
  expect(nextRequest(resumed, resumed, 100 * MiB, w, P)).toEqual({ from: resumed, to: 3 * MiB + 288 * KiB });
  const size = 5 * MiB + 12345;
  const { sizes } = simulate(0, size);
  expect(sizes.reduce((a, b) => a + b, 0)).toBe(size);
  const tail = simulate(size - 100, size);
  expect(tail.sizes).toEqual([100]);
});
