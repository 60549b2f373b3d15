import { afterEach, expect, test } from "bun:test";
import { statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { joinAdjacent } from "../../../src/cas/fetch/sequentialFetch.ts";
import { Fetcher } from "../../../src/cas/fetch/index.ts";
import { decodeManifest } from "../../../src/cas/manifestCodec.ts";
import { fileRef, makeOrigin, ManifestDb, openTestCache, removeDir, tempDir } from "../helpers.ts";
import { pseudoRandomBytes } from "../testData.ts";
import { asContentId, asOriginId } from "../../../src/core/ids.ts";
import { LocalOrigin } from "../../../src/origins/localOrigin.ts";
import { eventually } from "../../support/eventually.ts";

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

test("a prefetch fetches the file once in requests that start small and double, and emits its manifest", async () => {
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
  const sizes: number[] = [];
  const read = origin.read.bind(origin);
  origin.read = (path, offset, length, opts) => (sizes.push(length), read(path, offset, length, opts));
  await fetcher.prefetch(file);
  expect(db.events).toBe(1);
  const m = decodeManifest(db.manifests.get(1)!);
  expect(m.originSize).toBe(data.length);
  expect(origin.counts.bytesRead).toBe(data.length); // every byte once
  // The requests (fetchWindow.ts): a 256 KiB first one, doubling (up to 2 MiB); from the second on they end on a
  // multiple of their size (up to a 1 MiB piece): then on piece boundaries.
  expect(sizes).toEqual([256 * 1024, 768 * 1024, 2 * MiB, 2 * MiB, 12345]);
  const reads = origin.counts.read;
  expect(await fetcher.read(file, 5 * MiB, 12345)).toEqual(data.subarray(5 * MiB));
  expect(origin.counts.read).toBe(reads); // served from the store
});

test("a bulk prefetch (a pin: nobody waits for its first bytes) opens with requests as large as any", async () => {
  const root = tempDir();
  const cacheDir = tempDir();
  cleanups.push(() => removeDir(root), () => removeDir(cacheDir));
  const data = pseudoRandomBytes(5 * MiB + 12345, 22);
  const origin = makeOrigin(root, { "a.flac": data });
  const file = fileRef(origin, root, "a.flac", 1);
  const db = new ManifestDb();
  const cache = openTestCache(cacheDir, db);
  cleanups.push(() => cache.close());
  const sizes: number[] = [];
  const read = origin.read.bind(origin);
  origin.read = (path, offset, length, opts) => (sizes.push(length), read(path, offset, length, opts));
  await cache.fetcher.prefetch(file, { bulk: true });
  expect(db.events).toBe(1);
  expect(origin.counts.bytesRead).toBe(data.length); // every byte once
  expect(sizes).toEqual([2 * MiB, 2 * MiB, 1 * MiB + 12345]); // 3 requests where the one above makes 5
});

test("a whole-file fetch started by playback stops when its last reader closes the file; a prefetch's runs on", async () => {
  const root = tempDir();
  const cacheDir = tempDir();
  cleanups.push(() => removeDir(root), () => removeDir(cacheDir));
  const played = pseudoRandomBytes(24 * MiB, 31);
  const prefetched = pseudoRandomBytes(6 * MiB, 32);
  const origin = makeOrigin(root, { "played.flac": played, "next.flac": prefetched });
  origin.setMode({ kind: "delay", ms: 20 });
  const db = new ManifestDb();
  const cache = openTestCache(cacheDir, db);
  cleanups.push(() => cache.close());
  const a = fileRef(origin, root, "played.flac", 1);
  const b = fileRef(origin, root, "next.flac", 2);
  for (let o = 0; o < 4 * MiB; o += 128 * 1024) await cache.fetcher.read(a, o, 128 * 1024); // playback: fetched whole
  expect(cache.fetcher.fetching(asContentId(1))).toBe(true);
  cache.fetcher.readerClosed(asContentId(1)); // the player skipped the track
  expect(cache.fetcher.fetching(asContentId(1))).toBe(false);

  // A file read to its end: what is left is finished anyway, the reader closing changes nothing.
  const short = pseudoRandomBytes(3 * MiB, 33);
  writeFileSync(join(root, "short.flac"), short);
  const c = fileRef(origin, root, "short.flac", 3);
  for (let o = 0; o < short.length; o += 128 * 1024) await cache.fetcher.read(c, o, 128 * 1024);
  cache.fetcher.readerClosed(asContentId(3));
  expect(cache.fetcher.fetching(asContentId(3)) || db.manifests.has(3)).toBe(true);

  const whole = cache.fetcher.prefetch(b);
  cache.fetcher.readerClosed(asContentId(2)); // nobody reads a prefetched file: it is fetched to the end anyway
  expect(cache.fetcher.fetching(asContentId(2))).toBe(true);
  await whole;
  expect(db.manifests.has(2)).toBe(true);
  expect(db.manifests.has(1)).toBe(false);

  // Reading on is served right, and the file can still be completed (from what was stored, plus the rest).
  origin.setMode({ kind: "healthy" });
  const rest = await cache.fetcher.read(a, 4 * MiB, 128 * 1024);
  expect(rest).toEqual(played.subarray(4 * MiB, 4 * MiB + 128 * 1024));
  await cache.fetcher.prefetch(a);
  expect(db.manifests.has(1)).toBe(true);
  expect(await cache.fetcher.read(a, 20 * MiB, 4096)).toEqual(played.subarray(20 * MiB, 20 * MiB + 4096));
});

test("a reader that pauses (the file stays open, no more reads) still gets the whole file, for offline play", async () => {
  const root = tempDir();
  const cacheDir = tempDir();
  cleanups.push(() => removeDir(root), () => removeDir(cacheDir));
  const data = pseudoRandomBytes(20 * MiB, 34);
  const origin = makeOrigin(root, { "paused.flac": data });
  origin.setMode({ kind: "delay", ms: 5 });
  const db = new ManifestDb();
  const cache = openTestCache(cacheDir, db);
  cleanups.push(() => cache.close());
  const file = fileRef(origin, root, "paused.flac", 1);
  for (let o = 0; o < 4 * MiB; o += 128 * 1024) await cache.fetcher.read(file, o, 128 * 1024); // playback, then a pause
  await eventually(() => db.manifests.has(1), (has) => has, 60_000);
  expect(origin.counts.bytesRead).toBeLessThan(data.length + 4 * MiB + 1); // the rest once (the 4 MiB read maybe twice)
  origin.setMode({ kind: "offline", behaviour: "fail" });
  expect(await cache.fetcher.read(file, 19 * MiB, 4096)).toEqual(data.subarray(19 * MiB, 19 * MiB + 4096));
});

test("a seek in a file being played: its one GET also brings the bytes the player reads next", async () => {
  const root = tempDir();
  const cacheDir = tempDir();
  cleanups.push(() => removeDir(root), () => removeDir(cacheDir));
  const data = pseudoRandomBytes(24 * MiB, 35);
  const origin = makeOrigin(root, { "seek.flac": data });
  const db = new ManifestDb();
  // No whole-file fetch may start (its turn never comes): the reads past the playback threshold are range reads.
  const cache = openTestCache(cacheDir, db, { fetcher: { maxConcurrentFileFetches: 0 } });
  cleanups.push(() => cache.close());
  const file = fileRef(origin, root, "seek.flac", 1);
  for (let o = 0; o < 4 * MiB; o += 128 * 1024) await cache.fetcher.read(file, o, 128 * 1024); // playback
  expect(cache.fetcher.fetching(asContentId(1))).toBe(true); // queued
  const ranges: [number, number][] = [];
  const read = origin.read.bind(origin);
  origin.read = (path, offset, length, opts) => (ranges.push([offset, offset + length]), read(path, offset, length, opts));
  const at = 20 * MiB;
  expect(await cache.fetcher.read(file, at, 64 * 1024)).toEqual(data.subarray(at, at + 64 * 1024));
  expect(ranges).toEqual([[at, at + 128 * 1024]]); // the seek's one GET: its 64 KiB and the next 64 KiB
  expect(await cache.fetcher.read(file, at + 64 * 1024, 64 * 1024)).toEqual(data.subarray(at + 64 * 1024, at + 128 * 1024));
  // Answered from that GET; reading on refills the window further ahead (not waited for), never behind.
  expect(ranges.slice(1).every(([from]) => from >= at + 128 * 1024)).toBe(true);
});

/** A real local origin whose file is rewritten in place (new bytes, same size, a later mtime) after its first read. */
class RewrittenMidCopy extends LocalOrigin {
  private reads = 0;
  constructor(root: string, private readonly replacement: Uint8Array) {
    super(asOriginId("test"), root);
  }
  override async read(realPath: string, offset: number, length: number): Promise<Uint8Array> {
    const bytes = await super.read(realPath, offset, length);
    if (++this.reads === 1) {
      writeFileSync(this.localPath(realPath), this.replacement);
      const later = new Date(Date.now() + 60_000);
      utimesSync(this.localPath(realPath), later, later);
    }
    return bytes;
  }
}

test("a local file rewritten while it is copied into the cache is not completed, and no mixed bytes are served", async () => {
  const root = tempDir();
  const cacheDir = tempDir();
  cleanups.push(() => removeDir(root), () => removeDir(cacheDir));
  const before = pseudoRandomBytes(6 * MiB, 41);
  const after = pseudoRandomBytes(6 * MiB, 42);
  writeFileSync(join(root, "a.flac"), before);
  const s = statSync(join(root, "a.flac"));
  const origin = new RewrittenMidCopy(root, after);
  const file = { fileId: asContentId(1), origin, realPath: "a.flac", size: s.size, mtimeMs: Math.floor(s.mtimeMs) };
  const db = new ManifestDb();
  const cache = openTestCache(cacheDir, db);
  cleanups.push(() => cache.close());
  await cache.fetcher.prefetch(file, { bulk: true });
  // Every byte was copied, of two versions: not a cached file.
  expect(db.events).toBe(0);
  expect(cache.dataFiles.has(file)).toBe(false);
  expect(cache.fetcher.hasManifest(file)).toBe(false);
  // A read under the old version is refused (the origin has another), never answered with either version's bytes.
  await expect(cache.fetcher.read(file, 5 * MiB, 4096)).rejects.toThrow(/changed/);
  // The new version, once the library has it, is copied whole and right.
  const t = statSync(join(root, "a.flac"));
  const now = { ...file, fileId: asContentId(1), size: t.size, mtimeMs: Math.floor(t.mtimeMs) };
  await cache.fetcher.prefetch(now, { bulk: true });
  expect(db.events).toBe(1);
  expect(await cache.fetcher.read(now, 5 * MiB, 4096)).toEqual(after.subarray(5 * MiB, 5 * MiB + 4096));
});

test("reads a FUSE worker served from a local origin itself: a tag reader's copy nothing, playback copies the whole file", async () => {
  const root = tempDir();
  const cacheDir = tempDir();
  cleanups.push(() => removeDir(root), () => removeDir(cacheDir));
  const data = pseudoRandomBytes(12 * MiB, 43);
  writeFileSync(join(root, "a.flac"), data);
  writeFileSync(join(root, "b.flac"), pseudoRandomBytes(24 * MiB, 44));
  const origin = new LocalOrigin(asOriginId("test"), root);
  const ref = (path: string, id: number) => {
    const s = statSync(join(root, path));
    return { fileId: asContentId(id), origin, realPath: path, size: s.size, mtimeMs: Math.floor(s.mtimeMs) };
  };
  const a = ref("a.flac", 1);
  const b = ref("b.flac", 2);
  const db = new ManifestDb();
  const cache = openTestCache(cacheDir, db);
  cleanups.push(() => cache.close());
  // A tag reader: head and tail.
  cache.fetcher.originRead(a, 0, 64 * 1024);
  cache.fetcher.originRead(a, a.size - 128 * 1024, a.size);
  expect(cache.fetcher.fetching(asContentId(1))).toBe(false);
  // A player: its reads cover the first 4 MiB. The copy starts and, the reader past the middle, ends whole even
  // though the reader closed the file.
  for (let o = 0; o < 4 * MiB; o += 1 * MiB) cache.fetcher.originRead(a, o, o + MiB);
  expect(cache.fetcher.fetching(asContentId(1))).toBe(true);
  cache.fetcher.pastHalf(asContentId(1));
  cache.fetcher.readerClosed(asContentId(1));
  await eventually(() => db.manifests.has(1), (has) => has, 60_000);
  expect(cache.dataFiles.has(a)).toBe(true);
  expect(await cache.fetcher.read(a, 11 * MiB, 4096)).toEqual(data.subarray(11 * MiB, 11 * MiB + 4096));
  // Skipped before its middle: the copy stops with the reader.
  for (let o = 0; o < 4 * MiB; o += 1 * MiB) cache.fetcher.originRead(b, o, o + MiB);
  cache.fetcher.readerClosed(asContentId(2));
  expect(cache.fetcher.fetching(asContentId(2))).toBe(false);
});
