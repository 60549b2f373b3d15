/**
 * The whole-file fetch into a data file hands each ranged read's bytes to the hash worker, which writes them and
 * hashes them from memory (no read-back): what is on disk is checked against the manifest once, at completion.
 */
import { afterEach, expect, spyOn, test } from "bun:test";
import { openSync, closeSync, writeSync, readFileSync, existsSync } from "node:fs";
import { fileRef, makeOrigin, ManifestDb, openTestCache, readAll, removeDir, tempDir } from "./helpers.ts";
import { pseudoRandomBytes } from "./testData.ts";

const MiB = 1024 * 1024;
let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

function dir(): string {
  const d = tempDir();
  cleanups.push(() => removeDir(d));
  return d;
}

test("a whole-file fetch writes every byte where it belongs (the worker writes), and the file completes", async () => {
  const root = dir();
  const data = pseudoRandomBytes(5 * MiB + 12_345, 31);
  const origin = makeOrigin(root, { "a.flac": data });
  const db = new ManifestDb();
  const cache = openTestCache(dir(), db);
  cleanups.push(() => cache.close());
  const file = fileRef(origin, root, "a.flac", 3);
  expect(await readAll((o, s) => cache.fetcher.read(file, o, s), file.size, MiB)).toEqual(data);
  await cache.fetcher.prefetch(file);
  expect(db.events).toBe(1);
  expect(new Uint8Array(readFileSync(cache.dataFiles.pathOf(file)))).toEqual(data);
  expect(origin.counts.bytesRead).toBe(data.length);
});

test("bytes on disk that are not those received are found at completion: not announced, fetched again, never served", async () => {
  const root = dir();
  const data = pseudoRandomBytes(3 * MiB, 32);
  const origin = makeOrigin(root, { "a.flac": data });
  const db = new ManifestDb();
  const cache = openTestCache(dir(), db);
  cleanups.push(() => cache.close());
  const file = fileRef(origin, root, "a.flac", 4);
  // A stray write (or a write the disk lost) after the worker wrote the bytes, before the completion check.
  const complete = cache.dataFiles.completePartial.bind(cache.dataFiles);
  const spy = spyOn(cache.dataFiles, "completePartial").mockImplementationOnce(async (ref, m, from) => {
    const fd = openSync(cache.dataFiles.partialPathOf(ref), "r+");
    writeSync(fd, new Uint8Array([data[2 * MiB + 7] ^ 0xff]), 0, 1, 2 * MiB + 7);
    closeSync(fd);
    return complete(ref, m, from);
  });
  await cache.fetcher.prefetch(file);
  expect(spy).toHaveBeenCalledTimes(1);
  expect(db.events).toBe(0); // no manifest: the file is not cached
  expect(existsSync(cache.dataFiles.pathOf(file))).toBe(false);
  // The next read fetches it again, right this time.
  expect(await readAll((o, s) => cache.fetcher.read(file, o, s), file.size, MiB)).toEqual(data);
  await cache.fetcher.prefetch(file);
  expect(db.events).toBe(1);
  expect(new Uint8Array(readFileSync(cache.dataFiles.pathOf(file)))).toEqual(data);
});
