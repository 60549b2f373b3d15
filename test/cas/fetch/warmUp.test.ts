import { afterEach, expect, test } from "bun:test";
import { warmUpReadPath } from "../../../src/cas/fetch/warmUp.ts";
import { listFiles, ManifestDb, openTestCache, removeDir, tempDir } from "../helpers.ts";

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

test("the mount's warm-up of the read path leaves nothing in the cache: no chunk, no data file, no record", async () => {
  const cacheDir = tempDir();
  cleanups.push(() => removeDir(cacheDir));
  const cache = openTestCache(cacheDir, new ManifestDb());
  cleanups.push(() => cache.close());
  const before = listFiles(cacheDir);
  await warmUpReadPath(cache.store);
  // (warmUpReadPath resolves after its fetcher closed, which waits for any write it started.)
  const files = (fs: string[]) => fs.filter((f) => !/-(wal|shm)$/.test(f));
  expect(files(listFiles(cacheDir))).toEqual(files(before));
  expect(cache.ledger.getTotals().storedBytes).toBe(0);
  expect(cache.ranges.fileCount()).toBe(0);
  expect(cache.progress.fileCount()).toBe(0);
  // The mount's figures (musicfs status) do not count it either.
  const s = cache.stats.snapshot();
  expect([s.hits, s.misses, s.originBytes]).toEqual([0, 0, 0]);
});
