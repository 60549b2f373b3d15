import { expect, test } from "bun:test";
import { NO_READ_AHEAD, nextReadAhead, type ReadAheadState } from "../../../src/cas/fetch/readAheadWindow.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const P = { initialBytes: 64 * KiB, maxBytes: 1 * MiB };
const SIZE = 100 * MiB;

/** Feeds reads in order; returns the ranged fetches each one asked for ahead of itself (fetchTo − end). */
function aheads(reads: [number, number][], size = SIZE): number[] {
  let s: ReadAheadState = NO_READ_AHEAD;
  return reads.map(([a, b]) => {
    const r = nextReadAhead(s, a, b, size, P);
    s = r.state;
    return r.fetchTo - b;
  });
}

function sequential(from: number, step: number, n: number): [number, number][] {
  return Array.from({ length: n }, (_, i) => [from + i * step, from + (i + 1) * step] as [number, number]);
}

test("a first read, and reads that jump (a tag reader's head, then its tail), fetch nothing ahead", () => {
  expect(aheads([[0, 32 * KiB], [90 * MiB, 90 * MiB + 32 * KiB], [4 * KiB, 36 * KiB]])).toEqual([0, 0, 0]);
});

test("reading on opens a small window that doubles each time half of it is used, up to the bound", () => {
  const reads = sequential(0, 32 * KiB, 80);
  let s: ReadAheadState = NO_READ_AHEAD;
  const windows: number[] = [];
  const refills: number[] = [];
  let fetchedTo = 0;
  for (const [a, b] of reads) {
    const r = nextReadAhead(s, a, b, SIZE, P);
    if (r.fetchTo > b) refills.push(r.fetchTo);
    fetchedTo = Math.max(fetchedTo, r.fetchTo);
    expect(fetchedTo - b).toBeLessThanOrEqual(1 * MiB); // never more than the bound ahead of the reader
    s = r.state;
    windows.push(s.windowBytes);
  }
  expect(windows[0]).toBe(0);
  expect(windows[1]).toBe(64 * KiB); // small first request
  expect([...new Set(windows)]).toEqual([0, 64 * KiB, 128 * KiB, 256 * KiB, 512 * KiB, 1 * MiB]);
  // Refills are ranged requests of many blocks, not one per read: 80 reads of 32 KiB, a handful of refills.
  expect(refills.length).toBeLessThan(20);
});

test("it stops when the reader stops or jumps: a jump resets the window to nothing", () => {
  const reads = [...sequential(0, 32 * KiB, 20), [50 * MiB, 50 * MiB + 32 * KiB] as [number, number]];
  let s: ReadAheadState = NO_READ_AHEAD;
  for (const [a, b] of reads) s = nextReadAhead(s, a, b, SIZE, P).state;
  expect(s.windowBytes).toBe(0);
  expect(s.nextOffset).toBe(50 * MiB + 32 * KiB);
});

test("never past the end of the file", () => {
  const size = 200 * KiB;
  let s: ReadAheadState = NO_READ_AHEAD;
  for (const [a, b] of sequential(0, 32 * KiB, 6)) {
    const r = nextReadAhead(s, a, b, size, P);
    expect(r.fetchTo).toBeLessThanOrEqual(size);
    s = r.state;
  }
});

test("in a file being played, a jump is a seek: the window opens at the jump, and reading on doubles it", () => {
  const seeking = { ...P, seeking: true };
  let s: ReadAheadState = { nextOffset: 4 * MiB, windowBytes: 1 * MiB, aheadEnd: 5 * MiB };
  const seek = nextReadAhead(s, 40 * MiB, 40 * MiB + 64 * KiB, SIZE, seeking);
  expect(seek.fetchTo).toBe(40 * MiB + 128 * KiB); // the seek's own GET brings the next 64 KiB too
  s = seek.state;
  const widths: number[] = [];
  for (const [a, b] of sequential(40 * MiB + 64 * KiB, 64 * KiB, 40)) {
    const r = nextReadAhead(s, a, b, SIZE, seeking);
    s = r.state;
    widths.push(s.windowBytes);
  }
  expect(Math.max(...widths)).toBe(1 * MiB);
  // Not being played (a tag reader's seek to the tail): nothing ahead.
  expect(nextReadAhead(NO_READ_AHEAD, 40 * MiB, 40 * MiB + 64 * KiB, SIZE, P).fetchTo).toBe(40 * MiB + 64 * KiB);
});

test("a reader of 1 MiB reads (dd bs=1M, cp) has its next read asked for while this one is answered", () => {
  // Before: the window opened at 64 KiB and grew to 1 MiB, never a whole read ahead, so every read waited for a GET
  // of its own (one round trip per MiB until playback was detected).
  const reads = sequential(0, 1 * MiB, 6);
  let s: ReadAheadState = NO_READ_AHEAD;
  let fetchedTo = 0;
  const waitedForOwnGet: boolean[] = [];
  for (const [a, b] of reads) {
    waitedForOwnGet.push(fetchedTo < b); // its bytes were not asked for by an earlier read
    const r = nextReadAhead(s, a, b, SIZE, P);
    fetchedTo = Math.max(fetchedTo, r.fetchTo);
    expect(fetchedTo - b).toBeLessThanOrEqual(2 * MiB); // bounded: two reads ahead
    s = r.state;
  }
  // The first read (nothing sequential yet) and the second (the one that shows it) fetch their own; none after.
  expect(waitedForOwnGet).toEqual([true, true, false, false, false, false]);
  expect(s.windowBytes).toBe(2 * MiB);
  // A read larger than FUSE's 1 MiB (from another caller) gets no more than twice the window's bound ahead.
  const big = nextReadAhead({ nextOffset: 8 * MiB, windowBytes: 0, aheadEnd: 8 * MiB }, 8 * MiB, 16 * MiB, SIZE, P);
  expect(big.fetchTo - 16 * MiB).toBe(2 * MiB);
});
