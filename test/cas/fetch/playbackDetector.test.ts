import { expect, test } from "bun:test";
import { DEFAULT_COPY_PARAMS, mergeRange, NO_COPY_RUN, observeCopyRead, observeRead, type PlaybackRanges } from "../../../src/cas/fetch/playbackDetector.ts";

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

// READs measured through a mount of files not cached (direct I/O: each READ is one read of the program), 2026-12-07.
const MEASURED: Record<string, [number, number][]> = {
  "cp, cat": seq(0, 128 * KiB, 10),
  rsync: seq(0, 256 * KiB, 6),
  "gio copy, dd bs=1M": seq(0, 1 * MiB, 3),
  // 32 KiB, then the embedded picture in one read of its size (the kernel's 1 MiB READs), then 32 KiB on.
  "ffprobe -show_format, FLAC with a 2.8 MB picture": [[0, 32768], [32768, 1081326], [1081326, 2129902], [2129902, 2910358], [2910358, 2943126]],
  // MPD's scan of an MP3 with a 2.8 MB picture: 256 KiB, then 262,143 bytes and 1 byte, on through the ID3 tag.
  "MPD scan, MP3": [[0, 262144], [262144, 524287], [524287, 524288], [524288, 786431], [786431, 1048575], [1048575, 1048576], [1048576, 1310720], [1310720, 1572863]],
  "MPD scan, FLAC": [[0, 4096], [0, 262144], [20046550, 20046582]],
  // mpv: 128 KiB, then the picture, then 64 KiB reads (played: the coverage threshold decides, as before).
  "mpv, FLAC": [[0, 131072], [131072, 1177390], [1177390, 2225966], [2225966, 2910358], [2910358, 3041430], [3041430, 3106966]],
  "mpv, MP3": [[0, 131072], [131072, 262144], [262144, 524288], [524288, 1048576], [1048576, 2093819]],
};

function seq(from: number, size: number, n: number): [number, number][] {
  return Array.from({ length: n }, (_, i): [number, number] => [from + i * size, from + (i + 1) * size]);
}

/** The index of the read at whose arrival the reading is judged a copy, or -1. */
function copyAt(reads: [number, number][]): number {
  let run = NO_COPY_RUN;
  for (const [i, [a, b]] of reads.entries()) {
    const seen = observeCopyRead(run, a, b, DEFAULT_COPY_PARAMS);
    if (seen.copy) return i;
    run = seen.run;
  }
  return -1;
}

test("a copier (equal reads of 128 KiB or more, back to back from offset 0) is a copy once it covered 1 MiB", () => {
  expect(copyAt(MEASURED["cp, cat"])).toBe(7); // the 8th read of 128 KiB, at its arrival: 1 MiB covered
  expect(copyAt(MEASURED.rsync)).toBe(3);
  expect(copyAt(MEASURED["gio copy, dd bs=1M"])).toBe(1); // the second read, not the first: one head read is no copy
});

test("scanners and players measured through a mount are not copies: their first reads differ in size", () => {
  for (const name of ["ffprobe -show_format, FLAC with a 2.8 MB picture", "MPD scan, MP3", "MPD scan, FLAC", "mpv, FLAC", "mpv, MP3"])
    expect({ name, at: copyAt(MEASURED[name]) }).toEqual({ name, at: -1 });
});

test("a copy run needs whole pages, no jump and no re-read; a large read at offset 0 starts a new run", () => {
  expect(copyAt(seq(0, 300_000, 5))).toBe(-1); // not whole pages: a tag reader's buffer, not a copier's
  expect(copyAt(seq(0, 64 * KiB, 32))).toBe(-1); // below 128 KiB
  expect(copyAt([[0, 256 * KiB], [512 * KiB, 768 * KiB], [768 * KiB, 1024 * KiB], [1024 * KiB, 1280 * KiB]])).toBe(-1); // a jump
  expect(copyAt([[0, 256 * KiB], [0, 256 * KiB], [256 * KiB, 512 * KiB]])).toBe(-1); // a re-read from 0 starts over: not 1 MiB yet
  // A scanner read the head before; cp starts at 0 and is judged by its own reads.
  expect(copyAt([[0, 32 * KiB], [5 * MiB, 5 * MiB + 32 * KiB], ...seq(0, 1 * MiB, 2)])).toBe(3);
});
