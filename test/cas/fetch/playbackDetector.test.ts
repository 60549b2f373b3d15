import { expect, test } from "bun:test";
import { mergeRange, observeRead, type PlaybackRanges } from "../../../src/cas/fetch/playbackDetector.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

function play(reads: [number, number][], threshold: number, size: number): { ranges: PlaybackRanges; playback: boolean } {
  let state = { ranges: [] as PlaybackRanges, playback: false };
  for (const [a, b] of reads) {
    state = observeRead(state.ranges, a, b, threshold, size);
    if (state.playback) break;
  }
  return state;
}

test("a player reading from the start is playback once it has covered the threshold", () => {
  const reads: [number, number][] = [];
  for (let o = 0; o < 4 * MiB; o += 128 * KiB) reads.push([o, o + 128 * KiB]);
  expect(play(reads.slice(0, -1), 4 * MiB, 50 * MiB).playback).toBe(false);
  expect(play(reads, 4 * MiB, 50 * MiB).playback).toBe(true);
});

test("coverage counts, not one run: reads that skip pages the kernel already had still add up", () => {
  // The kernel answers re-read pages from its cache: a player's READs arrive out of order and with holes filled later.
  const reads: [number, number][] = [[0, 1 * MiB], [2 * MiB, 4 * MiB], [1 * MiB, 2 * MiB]];
  expect(play(reads, 4 * MiB, 50 * MiB).playback).toBe(true);
});

test("a tag reader's head and tail reads are not playback", () => {
  const s = play([[0, 64 * KiB], [50 * MiB - 128 * KiB, 50 * MiB], [64 * KiB, 256 * KiB]], 4 * MiB, 50 * MiB);
  expect(s.playback).toBe(false);
  expect(s.ranges).toEqual([[0, 256 * KiB], [50 * MiB - 128 * KiB, 50 * MiB]]);
});

test("reading from the middle never counts, however much", () => {
  expect(play([[1, 20 * MiB]], 4 * MiB, 50 * MiB).playback).toBe(false);
});

test("a file smaller than the threshold is playback once it was read whole", () => {
  expect(play([[0, 100 * KiB], [100 * KiB, 300 * KiB]], 4 * MiB, 300 * KiB).playback).toBe(true);
  expect(play([[0, 100 * KiB]], 4 * MiB, 300 * KiB).playback).toBe(false);
});

test("mergeRange keeps sorted, disjoint ranges, merging touching ones, and at most 64", () => {
  expect(mergeRange([[0, 10], [20, 30]], 10, 20)).toEqual([[0, 30]]);
  expect(mergeRange([[0, 10], [40, 50]], 20, 30)).toEqual([[0, 10], [20, 30], [40, 50]]);
  expect(mergeRange([[20, 30]], 0, 5)).toEqual([[0, 5], [20, 30]]);
  let many: PlaybackRanges = [];
  for (let i = 0; i < 100; i++) many = mergeRange(many, i * 10, i * 10 + 5);
  expect(many.length).toBe(64);
  expect(many[0]).toEqual([0, 5]); // the first ones are kept: only coverage from 0 matters
});
