import { afterEach, expect, test } from "bun:test";
import { joinAdjacent } from "../../../src/cas/fetch/sequentialFetch.ts";
import { Fetcher } from "../../../src/cas/fetch/index.ts";
import { decodeManifest } from "../../../src/cas/manifestCodec.ts";
import { fileRef, makeOrigin, ManifestDb, openTestCache, removeDir, tempDir } from "../helpers.ts";
import { pseudoRandomBytes } from "../testData.ts";

const MiB = 1024 * 1024;
let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

test("joinAdjacent hands on adjacent views of one buffer as one piece, others as they are", () => {
  const buf = new Uint8Array(300);
  const other = new Uint8Array(50);
  const joined = joinAdjacent([buf.subarray(0, 100), buf.subarray(100, 200), other, buf.subarray(250, 300)]);
  expect(joined.map((p) => [p.byteOffset, p.length])).toEqual([[0, 200], [0, 50], [250, 50]]);
  expect(joined[0].buffer).toBe(buf.buffer);
});

test("a prefetch streams the file once in segment-sized ranged reads and emits its manifest", async () => {
  const root = tempDir();
  const cacheDir = tempDir();
  cleanups.push(() => removeDir(root), () => removeDir(cacheDir));
  const data = pseudoRandomBytes(5 * MiB + 12345, 21);
  const origin = makeOrigin(root, { "a.flac": data });
  const file = fileRef(origin, root, "a.flac", 1);
  const db = new ManifestDb();
  const cache = openTestCache(cacheDir, db);
  cleanups.push(() => cache.close());
  const fetcher: Fetcher = cache.fetcher;
  await fetcher.prefetch(file);
  expect(db.events).toBe(1);
  const m = decodeManifest(db.manifests.get(1)!);
  expect(m.originSize).toBe(data.length);
  expect(origin.counts.bytesRead).toBe(data.length); // every byte once
  expect(origin.counts.read).toBe(6); // 1 MiB segments
  expect(await fetcher.read(file, 5 * MiB, 12345)).toEqual(data.subarray(5 * MiB));
  expect(origin.counts.read).toBe(6); // served from the store
});
