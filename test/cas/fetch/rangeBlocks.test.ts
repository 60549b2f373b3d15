import { afterEach, expect, test } from "bun:test";
import { RangeBlocks } from "../../../src/cas/fetch/rangeBlocks.ts";
import { newFileFetch } from "../../../src/cas/fetch/fileFetch.ts";
import { resolveOptions, type FetchEnv } from "../../../src/cas/fetch/options.ts";
import { ReadContext } from "../../../src/cas/fetch/readContext.ts";
import { fileRef, makeOrigin, ManifestDb, openTestCache, removeDir, tempDir } from "../helpers.ts";
import { pseudoRandomBytes } from "../testData.ts";
import { SharedHeads } from "../../../src/cas/fetch/sharedHeads.ts";

const KiB = 1024;
let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

function setup(data: Uint8Array) {
  const root = tempDir();
  const cacheDir = tempDir();
  cleanups.push(() => removeDir(root), () => removeDir(cacheDir));
  const origin = makeOrigin(root, { "a.flac": data });
  const file = fileRef(origin, root, "a.flac", 1);
  const open = () => {
    const cache = openTestCache(cacheDir, new ManifestDb());
    cleanups.push(() => cache.close());
    const deps = { store: cache.store, rangeIndex: cache.ranges, stats: cache.stats };
    const background: Promise<unknown>[] = [];
    const env: FetchEnv = { deps, o: resolveOptions(deps), closed: () => false, track: (p) => (background.push(p), p), heads: new SharedHeads() };
    return { blocks: new RangeBlocks(env, () => undefined), settled: () => Promise.allSettled(background) };
  };
  return { origin, file, open };
}

async function read(blocks: RangeBlocks, ff: ReturnType<typeof newFileFetch>, pos: number, end: number): Promise<Uint8Array> {
  const out = new Uint8Array(end - pos);
  await blocks.read(ff, pos, end, out, pos, new ReadContext());
  return out;
}

test("a read fetches only the aligned blocks it covers, contiguous ones in one ranged read", async () => {
  const data = pseudoRandomBytes(2048 * KiB, 11);
  const { origin, file, open } = setup(data);
  const { blocks } = open();
  const ff = newFileFetch(file);
  expect(await read(blocks, ff, 100 * KiB, 300 * KiB)).toEqual(data.subarray(100 * KiB, 300 * KiB));
  expect(origin.counts.read).toBe(1);
  expect(origin.counts.bytesRead).toBe(224 * KiB); // blocks 3..9 of 32 KiB
  // Again, and a part of it: from memory, no origin read.
  expect(await read(blocks, ff, 130 * KiB, 140 * KiB)).toEqual(data.subarray(130 * KiB, 140 * KiB));
  expect(origin.counts.read).toBe(1);
});

test("blocks read for a tag reader are stored and recorded: after a restart they cost no origin read", async () => {
  const data = pseudoRandomBytes(1024 * KiB, 12);
  const { origin, file, open } = setup(data);
  const first = open();
  await read(first.blocks, newFileFetch(file), 900 * KiB, 1024 * KiB);
  await first.settled();
  const reads = origin.counts.read;
  const again = open().blocks; // a new memory, the same cache dir
  expect(await read(again, newFileFetch(file), 900 * KiB, 1024 * KiB)).toEqual(data.subarray(900 * KiB));
  expect(origin.counts.read).toBe(reads);
});

test("a file read as playback does not record its blocks (its chunks will be the record)", async () => {
  const data = pseudoRandomBytes(512 * KiB, 13);
  const { origin, file, open } = setup(data);
  const first = open();
  const ff = newFileFetch(file);
  ff.playback = true;
  await read(first.blocks, ff, 0, 256 * KiB);
  await first.settled();
  const reads = origin.counts.read;
  await read(open().blocks, newFileFetch(file), 0, 256 * KiB);
  expect(origin.counts.read).toBe(reads + 1);
});

test("blocks of reading from offset 0 wait for its outcome: none stored while it may become playback, all once it stops short", async () => {
  const data = pseudoRandomBytes(8192 * KiB, 14);
  const { origin, file, open } = setup(data);
  const first = open();
  const ff = newFileFetch(file);
  // A player's first reads: from offset 0, on (the playback detector's coverage is what the facade records).
  for (let at = 0; at < 512 * KiB; at += 128 * KiB) {
    expect(await read(first.blocks, ff, at, at + 128 * KiB)).toEqual(data.subarray(at, at + 128 * KiB));
    ff.readRanges = [[0, at + 128 * KiB]];
  }
  await first.settled();
  const reads = origin.counts.read;
  expect(await read(open().blocks, newFileFetch(file), 0, 512 * KiB)).toEqual(data.subarray(0, 512 * KiB));
  expect(origin.counts.read).toBe(reads + 1); // nothing was stored: fetched again

  // The same reading stopped short of playback (the file closed): its blocks are stored, a restart reads them back.
  const second = open();
  const ff2 = newFileFetch(file);
  await read(second.blocks, ff2, 0, 256 * KiB);
  second.blocks.storeUnstored(ff2);
  await second.settled();
  const before = origin.counts.read;
  expect(await read(open().blocks, newFileFetch(file), 0, 256 * KiB)).toEqual(data.subarray(0, 256 * KiB));
  expect(origin.counts.read).toBe(before);
});

test("READs in flight together from offset 0 (the kernel's readahead) are all held back, not only the first", async () => {
  const data = pseudoRandomBytes(8192 * KiB, 16);
  const { origin, file, open } = setup(data);
  const first = open();
  const ff = newFileFetch(file);
  // A sequential reader's READs overlap: the second arrives before the first returned, so the coverage the facade
  // records (readRanges) is still empty; it starts where the first one's read-ahead ended.
  const reads = [0, 256, 512].map((k) => {
    const out = new Uint8Array(256 * KiB);
    return first.blocks.read(ff, k * KiB, (k + 256) * KiB, out, k * KiB, new ReadContext(), (k + 256) * KiB).then(() => out);
  });
  const got = await Promise.all(reads);
  expect(Buffer.concat(got)).toEqual(Buffer.from(data.subarray(0, 768 * KiB)));
  await first.settled();
  expect(ff.unstored.length).toBe(3); // all three runs wait for the reading's outcome
  const before = origin.counts.read;
  await read(open().blocks, newFileFetch(file), 0, 768 * KiB);
  expect(origin.counts.read).toBe(before + 1); // none was stored as a chunk file
});

test("a read that does not continue the reading from offset 0 (a tag reader's tail) is stored at once", async () => {
  const data = pseudoRandomBytes(2048 * KiB, 15);
  const { origin, file, open } = setup(data);
  const first = open();
  const ff = newFileFetch(file);
  await read(first.blocks, ff, 0, 64 * KiB);
  ff.readRanges = [[0, 64 * KiB]];
  await read(first.blocks, ff, 1900 * KiB, 2048 * KiB);
  await first.settled();
  const reads = origin.counts.read;
  expect(await read(open().blocks, newFileFetch(file), 1900 * KiB, 2048 * KiB)).toEqual(data.subarray(1900 * KiB));
  expect(origin.counts.read).toBe(reads);
  expect(ff.unstored.length).toBe(1); // the head waits for the reader to close the file
});

test("blocks held back in all files stay within a bound: beyond it, a head read is stored at once", async () => {
  const root = tempDir();
  const cacheDir = tempDir();
  cleanups.push(() => removeDir(root), () => removeDir(cacheDir));
  const files: Record<string, Uint8Array> = {};
  for (let i = 1; i <= 3; i++) files[`${i}.flac`] = pseudoRandomBytes(1024 * KiB, 20 + i);
  const origin = makeOrigin(root, files);
  const open = () => {
    const cache = openTestCache(cacheDir, new ManifestDb());
    cleanups.push(() => cache.close());
    const deps = { store: cache.store, rangeIndex: cache.ranges, stats: cache.stats, retainedBytes: 256 * KiB };
    const background: Promise<unknown>[] = [];
    const env: FetchEnv = { deps, o: resolveOptions(deps), closed: () => false, track: (p) => (background.push(p), p), heads: new SharedHeads() };
    return { blocks: new RangeBlocks(env, () => undefined), settled: () => Promise.allSettled(background) };
  };
  const first = open();
  const ffs = [1, 2, 3].map((i) => newFileFetch(fileRef(origin, root, `${i}.flac`, i)));
  for (const ff of ffs) await read(first.blocks, ff, 0, 128 * KiB); // three files opened and read from offset 0
  await first.settled();
  expect(ffs.map((ff) => ff.unstored.length)).toEqual([1, 1, 0]); // 2 × 128 KiB held, the third stored at once
  const reads = origin.counts.read;
  const again = open().blocks;
  await read(again, newFileFetch(fileRef(origin, root, "3.flac", 3)), 0, 128 * KiB);
  expect(origin.counts.read).toBe(reads);
});
