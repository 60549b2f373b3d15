import { afterEach, describe, expect, spyOn, test } from "bun:test";
import { readFileSync, statfsSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { log } from "../../src/core/logger.ts";
import { Database as Sqlite } from "bun:sqlite";
import { chunkHex, KEYED_XXH3_ALGORITHM_ID, sha256ChunkId } from "../../src/cas/chunkHash.ts";
import { chunkPath } from "../../src/cas/chunkPaths.ts";
import { DataFileReader } from "../../src/cas/dataFileReader.ts";
import { ChunkReader } from "../../src/cas/chunkReader.ts";
import { fsChunkFileWriter, type ChunkFileWriter } from "../../src/cas/chunkStore.ts";
import { FetchError } from "../../src/cas/fetch/index.ts";
import { decodeManifest, manifestChunkHex, manifestChunkId, readChecksum } from "../../src/cas/manifestCodec.ts";
import { LocalOrigin } from "../../src/origins/localOrigin.ts";
import { FaultyOrigin } from "../../src/origins/faultyOrigin.ts";
import { fileRef, listFiles, makeOrigin, ManifestDb, openTestCache, readAll, removeDir, tempDir } from "./helpers.ts";
import { CORPUS, pseudoRandomBytes } from "./testData.ts";
import { isRoot } from "../support/system.ts";
import { eventually } from "../support/eventually.ts";
import { corpusTest } from "../support/needsCorpus.ts";
import { asContentId, asOriginId } from "../../src/core/ids.ts";

const MiB = 1024 * 1024;
const FLAC_DIR = `${CORPUS}/flac-test-files/uncommon`;
const FLAC = "05 - 32bps audio.flac";

type TestCache = ReturnType<typeof openTestCache>;
let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

/** The chunk layout (files repaired chunk by chunk, cache dirs from before data files): fetches store chunk files. */
const CHUNKS = { fetchIntoDataFiles: false } as const;

function dir(): string {
  const d = tempDir();
  cleanups.push(() => removeDir(d));
  return d;
}

function open(cacheDir: string, db: ManifestDb, extra: Parameters<typeof openTestCache>[2] = {}): TestCache {
  const cache = openTestCache(cacheDir, db, extra);
  cleanups.push(() => cache.close());
  return cache;
}

/** The real FLAC served straight from the corpus (read-only), through a FaultyOrigin. */
function corpusOrigin(): FaultyOrigin {
  return new FaultyOrigin(new LocalOrigin(asOriginId("corpus"), FLAC_DIR));
}

describe("Fetcher", () => {
  corpusTest("reads a real FLAC correctly, fetches it once, emits ManifestCached with a valid manifest", async () => {
    const db = new ManifestDb();
    const cache = open(dir(), db);
    const origin = corpusOrigin();
    const file = fileRef(origin, FLAC_DIR, FLAC, 1);
    const expected = new Uint8Array(readFileSync(join(FLAC_DIR, FLAC)));
    const got = await readAll((o, s) => cache.fetcher.read(file, o, s), file.size);
    expect(got).toEqual(expected);
    await cache.fetcher.prefetch(file); // wait until the primary is done
    expect(db.events).toBe(1);
    const m = decodeManifest(db.manifests.get(1)!);
    expect(m.originSize).toBe(file.size);
    expect(m.originMtimeMs).toBe(file.mtimeMs);
    expect(m.checksums).not.toBeNull(); // format v2: workers verify with the fast checksum
    expect(m.algorithm).toBe(KEYED_XXH3_ALGORITHM_ID); // new manifests get keyed XXH3 ids
    for (let i = 0; i < m.chunkCount; i++) {
      const bytes = expected.subarray(m.offsets[i], m.offsets[i + 1]);
      expect(cache.store.ids.matches(bytes, manifestChunkId(m, i))).toBe(true);
      expect(m.checksums![i]).toBe(readChecksum(bytes));
    }
    expect(origin.counts.bytesRead).toBe(file.size); // fetched once: the blocks read before playback was detected are reused
  });

  corpusTest("after a restart (new store and fetcher), a cached file is read with ZERO origin operations", async () => {
    const db = new ManifestDb();
    const cacheDir = dir();
    const origin = corpusOrigin();
    const file = fileRef(origin, FLAC_DIR, FLAC, 1);
    const first = openTestCache(cacheDir, db);
    await first.fetcher.prefetch(file);
    await first.close(); // the process "dies" (state on disk only)
    origin.resetCounts();

    const second = open(cacheDir, db);
    const expected = new Uint8Array(readFileSync(join(FLAC_DIR, FLAC)));
    expect(await readAll((o, s) => second.fetcher.read(file, o, s), file.size)).toEqual(expected);
    // The worker path: the file is one data file (no chunk files), read synchronously by its name.
    const out = new Uint8Array(file.size);
    expect(new DataFileReader(second.dataFiles.dataDir).read(file, 0, file.size, out)).toBe(file.size);
    expect(out).toEqual(expected);
    expect(second.ledger.getTotals().storedChunks).toBe(0);
    expect(origin.totalOperations).toBe(0);
    expect(origin.counts.bytesRead).toBe(0);
    expect(second.stats.snapshot().hits).toBeGreaterThan(0);
    expect(second.stats.snapshot().misses).toBe(0);
  });

  test("concurrent readers of one file share one fetch", async () => {
    const root = dir();
    const data = pseudoRandomBytes(3 * MiB, 5);
    const origin = makeOrigin(root, { "a.flac": data });
    origin.setMode({ kind: "delay", ms: 5 });
    const db = new ManifestDb();
    const cache = open(dir(), db, { fetcher: { segmentBytes: 64 * 1024, rangeBlockBytes: 64 * 1024 } });
    const file = fileRef(origin, root, "a.flac", 7);
    const readers = [64 * 1024, 128 * 1024, 100_000, 256 * 1024].map((step) =>
      readAll((o, s) => cache.fetcher.read(file, o, s), file.size, step),
    );
    for (const got of await Promise.all(readers)) expect(got).toEqual(data);
    await cache.fetcher.prefetch(file);
    expect(origin.counts.bytesRead).toBe(data.length);
    expect(db.events).toBe(1);
  });

  test("a far seek is answered without waiting for the whole file; the file still gets cached", async () => {
    const root = dir();
    const data = pseudoRandomBytes(8 * MiB, 6);
    const origin = makeOrigin(root, { "big.flac": data });
    // 64 KiB pieces at 20 ms each: the whole file takes ~2.6 s to stream.
    origin.setMode({ kind: "delay", ms: 20 });
    const db = new ManifestDb();
    const cache = open(dir(), db, { fetcher: { segmentBytes: 64 * 1024, rangeBlockBytes: 64 * 1024 } });
    const file = fileRef(origin, root, "big.flac", 9);
    const head = await cache.fetcher.read(file, 0, 4096);
    expect(head).toEqual(data.subarray(0, 4096));
    const seekAt = 7 * MiB + 12345;
    const far = await cache.fetcher.read(file, seekAt, 128 * 1024);
    // Answered before the bytes in front of the seek point were fetched: it did not wait for the file to stream.
    const fetchedWhenAnswered = origin.counts.bytesRead;
    expect(far).toEqual(data.subarray(seekAt, seekAt + 128 * 1024));
    expect(db.events).toBe(0); // the primary is still far from done
    expect(fetchedWhenAnswered).toBeLessThan(seekAt);
    // A player continues from the seek point: read-ahead blocks serve it.
    const next = await cache.fetcher.read(file, seekAt + 128 * 1024, 128 * 1024);
    expect(next).toEqual(data.subarray(seekAt + 128 * 1024, seekAt + 256 * 1024));
    await cache.fetcher.prefetch(file);
    expect(db.events).toBe(1);
    // Range blocks are extra origin traffic, bounded by the blocks read plus their read-ahead (64 KiB blocks here).
    expect(origin.counts.bytesRead).toBeLessThanOrEqual(data.length + 1 * MiB);
  });

  test("origin offline: cached files play in full, uncached reads wait for the origin until their deadline, nothing stalls", async () => {
    const root = dir();
    const cachedData = pseudoRandomBytes(2 * MiB, 7);
    const uncachedData = pseudoRandomBytes(1 * MiB, 8);
    const origin = makeOrigin(root, { "cached.flac": cachedData, "uncached.flac": uncachedData });
    const db = new ManifestDb();
    // No clock decides these outcomes. With a deadline far beyond the test's own timeout, a waiting read can only
    // settle if something is wrong (or the origin is back). The deadline itself is checked below with a short one.
    const NEVER_MS = 3_600_000;
    const cache = open(dir(), db, { fetcher: { readTimeoutMs: NEVER_MS } });
    const cached = fileRef(origin, root, "cached.flac", 1);
    const uncached = fileRef(origin, root, "uncached.flac", 2);
    await cache.fetcher.prefetch(cached);
    expect(db.events).toBe(1);

    const waiting: { at: number; read: Promise<unknown> }[] = [];
    for (const behaviour of ["hang", "fail"] as const) {
      origin.setMode({ kind: "offline", behaviour });
      let settled = false;
      const at = behaviour === "hang" ? 0 : 512 * 1024;
      const read = cache.fetcher.read(uncached, at, 65536).then(
        (bytes) => bytes,
        (e) => e,
      ).finally(() => (settled = true));
      // While the uncached read waits, the cached file is served in full.
      expect(await readAll((o, s) => cache.fetcher.read(cached, o, s), cached.size)).toEqual(cachedData);
      // A hung origin and an unreachable one (connections refused) alike: the read waits for the origin. An
      // unreachable origin used to fail the read at once, which turned every network drop into an error.
      expect(settled).toBe(false);
      waiting.push({ at, read });
    }

    // The deadline: the read is answered with EIO once readTimeoutMs passed, not before — hung or refused alike.
    const DEADLINE_MS = 500;
    const timed = open(dir(), new ManifestDb(), { fetcher: { readTimeoutMs: DEADLINE_MS } });
    for (const behaviour of ["hang", "fail"] as const) {
      origin.setMode({ kind: "offline", behaviour });
      const t0 = performance.now();
      const err = await timed.fetcher.read(uncached, behaviour === "hang" ? 0 : 256 * 1024, 65536).catch((e) => e);
      expect(err).toBeInstanceOf(FetchError);
      expect((err as FetchError).errno).toBe("EIO");
      expect(performance.now() - t0).toBeGreaterThanOrEqual(DEADLINE_MS - 10); // it did wait for the deadline (a lower bound: load only adds)
    }

    // Back online: the reads that waited are answered with the right bytes, and the file is fetched.
    origin.setMode({ kind: "healthy" });
    for (const w of waiting) expect(await w.read).toEqual(uncachedData.subarray(w.at, w.at + 65536));
    expect((await cache.fetcher.read(uncached, 0, 10)).length).toBe(10);
  });

  test("the kernel's retry of pages whose read just failed at its deadline fails at once (EIO at one deadline, not two)", async () => {
    const root = dir();
    const origin = makeOrigin(root, { "u.flac": pseudoRandomBytes(1 * MiB, 81) });
    const cache = open(dir(), new ManifestDb(), { fetcher: { readTimeoutMs: 300 } });
    const file = fileRef(origin, root, "u.flac", 81);
    origin.setMode({ kind: "offline", behaviour: "hang" });
    const first = await cache.fetcher.read(file, 0, 131072).catch((e) => e);
    expect((first as FetchError).reason).toBe("timeout");
    // The same pages asked again (the kernel's one-page retry after a failed readahead): the same failure, at once.
    expect(await cache.fetcher.read(file, 0, 4096).catch((e) => e)).toBe(first);
    // Other pages are another read, with a deadline of their own.
    const other = await cache.fetcher.read(file, 512 * 1024, 4096).catch((e) => e);
    expect(other).toBeInstanceOf(FetchError);
    expect(other).not.toBe(first);
    origin.setMode({ kind: "healthy" });
  });

  test("a corrupt chunk is detected and re-fetched alone; wrong bytes are never returned", async () => {
    const root = dir();
    const data = pseudoRandomBytes(2 * MiB, 9);
    const origin = makeOrigin(root, { "f.flac": data });
    const db = new ManifestDb();
    const cacheDir = dir();
    const cache = open(cacheDir, db, CHUNKS);
    const file = fileRef(origin, root, "f.flac", 3);
    await cache.fetcher.prefetch(file);
    const m = decodeManifest(db.manifests.get(3)!);
    const i = 4;
    const path = chunkPath(cache.chunksDir, manifestChunkHex(m, i));
    const bad = data.slice(m.offsets[i], m.offsets[i + 1]);
    bad[7] ^= 0x40; // same length, one bit
    writeFileSync(path, bad);
    // The worker sees it and would defer.
    expect(new ChunkReader(cache.chunksDir).read(m, m.offsets[i], 10).kind).toBe("corrupt");
    origin.resetCounts();
    const warn = spyOn(log, "warn").mockImplementation((() => {}) as never);
    try {
      const fresh = open(cacheDir, db); // also a new process: no in-memory state
      expect(await readAll((o, s) => fresh.fetcher.read(file, o, s), file.size)).toEqual(data);
    } finally {
      warn.mockRestore();
    }
    expect(origin.counts.bytesRead).toBe(m.offsets[i + 1] - m.offsets[i]);
    expect(cache.store.ids.matches(new Uint8Array(readFileSync(path)), manifestChunkId(m, i))).toBe(true);
    expect(new ChunkReader(cache.chunksDir).read(m, m.offsets[i], 10).kind).toBe("ok"); // the worker's check passes again
  });

  test("a truncated chunk (power loss) fails the worker's fast check and is repaired by its id", async () => {
    const root = dir();
    const data = pseudoRandomBytes(1 * MiB, 21);
    const origin = makeOrigin(root, { "f.flac": data });
    const db = new ManifestDb();
    const cacheDir = dir();
    const cache = open(cacheDir, db, CHUNKS);
    const file = fileRef(origin, root, "f.flac", 22);
    await cache.fetcher.prefetch(file);
    const m = decodeManifest(db.manifests.get(22)!);
    expect(m.checksums).not.toBeNull();
    const i = 2;
    const path = chunkPath(cache.chunksDir, manifestChunkHex(m, i));
    writeFileSync(path, data.slice(m.offsets[i], m.offsets[i + 1] - 4096));
    expect(new ChunkReader(cache.chunksDir).read(m, m.offsets[i], 10).kind).toBe("corrupt");
    origin.resetCounts();
    const warn = spyOn(log, "warn").mockImplementation((() => {}) as never);
    try {
      expect(await open(cacheDir, db).fetcher.read(file, m.offsets[i], 10)).toEqual(data.subarray(m.offsets[i], m.offsets[i] + 10));
    } finally {
      warn.mockRestore();
    }
    expect(origin.counts.bytesRead).toBe(m.offsets[i + 1] - m.offsets[i]);
    expect(cache.store.ids.matches(new Uint8Array(readFileSync(path)), manifestChunkId(m, i))).toBe(true);
    expect(new ChunkReader(cache.chunksDir).read(m, 0, file.size).kind).toBe("ok");
  });

  test("a missing chunk is re-fetched", async () => {
    const root = dir();
    const data = pseudoRandomBytes(1 * MiB, 10);
    const origin = makeOrigin(root, { "f.flac": data });
    const db = new ManifestDb();
    const cache = open(dir(), db, CHUNKS);
    const file = fileRef(origin, root, "f.flac", 4);
    await cache.fetcher.prefetch(file);
    const m = decodeManifest(db.manifests.get(4)!);
    unlinkSync(chunkPath(cache.chunksDir, manifestChunkHex(m, 0)));
    origin.resetCounts();
    expect(await cache.fetcher.read(file, 100, 1000)).toEqual(data.subarray(100, 1100));
    expect(origin.counts.bytesRead).toBe(m.offsets[1]);
    const r = new ChunkReader(cache.chunksDir).read(m, 0, file.size);
    expect(r.kind).toBe("ok");
  });

  test("an evicted file is re-fetched chunk by chunk with read-ahead, not whole", async () => {
    const root = dir();
    const data = pseudoRandomBytes(2 * MiB, 17);
    const origin = makeOrigin(root, { "f.flac": data });
    const db = new ManifestDb();
    const cache = open(dir(), db, { ...CHUNKS, fetcher: { repairAheadChunks: 3 } });
    const file = fileRef(origin, root, "f.flac", 13);
    await cache.fetcher.prefetch(file);
    const m = decodeManifest(db.manifests.get(13)!);
    for (let i = 0; i < m.chunkCount; i++) unlinkSync(chunkPath(cache.chunksDir, manifestChunkHex(m, i)));
    origin.resetCounts();
    expect(await cache.fetcher.read(file, 10, 100)).toEqual(data.subarray(10, 110));
    // The read-ahead runs in the background: wait until chunk 3 (the last one ahead) is back in the store, then
    // count what was read from the origin.
    await eventually(() => new ChunkReader(cache.chunksDir).read(m, 0, m.offsets[4]).kind, (k) => k === "ok");
    expect(origin.counts.read).toBe(4); // chunk 0, then 1..3 ahead
    expect(origin.counts.bytesRead).toBe(m.offsets[4]);
    expect(origin.counts.streamCalls).toBe(0);
    const r = new ChunkReader(cache.chunksDir).read(m, 0, m.offsets[4]);
    expect(r.kind).toBe("ok");
  });

  test("disk full: reads are served from the origin, no chunk or temp file is left, one clear warning", async () => {
    const root = dir();
    const data = pseudoRandomBytes(2 * MiB, 11);
    const origin = makeOrigin(root, { "f.flac": data });
    const db = new ManifestDb();
    let full = true;
    const writer: ChunkFileWriter = {
      async write(path, bytes, fsync) {
        if (!full) return fsChunkFileWriter.write(path, bytes, fsync);
        await fsChunkFileWriter.write(path, bytes.subarray(0, 1000), fsync); // a partial temp file
        throw Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" });
      },
    };
    const cache = open(dir(), db, { ...CHUNKS, writer });
    const file = fileRef(origin, root, "f.flac", 5);
    const warn = spyOn(log, "warn").mockImplementation((() => {}) as never);
    try {
      expect(await readAll((o, s) => cache.fetcher.read(file, o, s), file.size)).toEqual(data);
      await cache.fetcher.prefetch(file);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0][0])).toMatch(/full \(ENOSPC\)/);
    } finally {
      warn.mockRestore();
    }
    expect(db.events).toBe(0); // nothing claimed as cached
    expect(listFiles(cache.chunksDir).filter((f) => !f.startsWith("access.db"))).toEqual([]);
    // Still readable (from the origin, chunk by chunk), and once space is back the chunks get stored.
    full = false;
    expect(await cache.fetcher.read(file, 1 * MiB, 4096)).toEqual(data.subarray(1 * MiB, 1 * MiB + 4096));
    expect(cache.ledger.getTotals().storedChunks).toBeGreaterThan(0);
  });

  test.skipIf(!isRoot)("disk full for real (1 MiB tmpfs as the cache dir; needs root to mount it): reads still correct, nothing half-written left", async () => {
    const mountDir = dir();
    expect(Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mountDir]).exitCode).toBe(0);
    cleanups.push(() => void Bun.spawnSync(["umount", "-l", mountDir]));
    const root = dir();
    const data = pseudoRandomBytes(3 * MiB, 16);
    const origin = makeOrigin(root, { "f.flac": data });
    const db = new ManifestDb();
    const cache = open(mountDir, db);
    const file = fileRef(origin, root, "f.flac", 12);
    const warn = spyOn(log, "warn").mockImplementation((() => {}) as never);
    const info = spyOn(log, "info").mockImplementation((() => {}) as never);
    try {
      expect(await readAll((o, s) => cache.fetcher.read(file, o, s), file.size)).toEqual(data);
      await cache.fetcher.prefetch(file);
      await cache.evictor.idle();
    } finally {
      warn.mockRestore();
      info.mockRestore();
    }
    // The 3 MiB file does not fit: eviction keeps the tmpfs's free-space reserve (5 %) instead of filling it.
    const fs = statfsSync(mountDir);
    expect(Number(fs.bavail) * Number(fs.bsize)).toBeGreaterThanOrEqual(0.05 * Number(fs.blocks) * Number(fs.bsize));
    expect(listFiles(cache.chunksDir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    // Whatever chunks made it are whole and verified.
    const r = await cache.fetcher.read(file, 0, file.size);
    expect(r).toEqual(data);
  });

  test("a manifest whose origin file changed (size or mtime) is not used", async () => {
    const root = dir();
    const v1 = pseudoRandomBytes(1 * MiB, 12);
    const origin = makeOrigin(root, { "f.flac": v1 });
    const db = new ManifestDb();
    const cache = open(dir(), db);
    const oldRef = fileRef(origin, root, "f.flac", 6);
    await cache.fetcher.prefetch(oldRef);
    expect(db.events).toBe(1);
    // Re-tagged on the origin: same size, new bytes at the head, new mtime.
    const v2 = v1.slice();
    v2.set(pseudoRandomBytes(300, 99), 100);
    writeFileSync(join(root, "f.flac"), v2);
    utimesSync(join(root, "f.flac"), new Date(), new Date(Date.now() + 5000));
    const newRef = fileRef(origin, root, "f.flac", 6);
    expect(newRef.mtimeMs).not.toBe(oldRef.mtimeMs);
    // The library (delta sync) knows the new mtime: the old manifest is ignored, the new content fetched.
    expect(await cache.fetcher.read({ ...newRef, manifest: db.manifests.get(6) }, 0, 4096)).toEqual(v2.subarray(0, 4096));
    // Reading with the library's stale record fails instead of serving bytes of another version.
    const stale = await cache.fetcher.read({ ...oldRef, fileId: asContentId(60) }, 0, 10).catch((e) => e);
    expect(stale).toBeInstanceOf(FetchError);
    expect((stale as FetchError).reason).toBe("changed");
    await cache.fetcher.prefetch(newRef);
    expect(decodeManifest(db.manifests.get(6)!).originMtimeMs).toBe(newRef.mtimeMs);
  });

  test("a flaky origin (every 4th call fails): the fetch resumes from its last chunk and completes", async () => {
    const root = dir();
    const data = pseudoRandomBytes(3 * MiB, 13);
    const origin = makeOrigin(root, { "f.flac": data });
    origin.setMode({ kind: "failEveryNth", n: 4 });
    const db = new ManifestDb();
    // One read in flight: with several, a failing 4th call would end every attempt before it got far.
    const cache = open(dir(), db, { fetcher: { segmentBytes: 128 * 1024, parallelReads: 1, fetchRequestMaxBytes: 128 * 1024 } });
    const file = fileRef(origin, root, "f.flac", 8);
    for (let attempt = 0; attempt < 100 && !cache.fetcher.hasManifest(file); attempt++) await cache.fetcher.prefetch(file);
    expect(db.events).toBe(1);
    expect(origin.counts.injectedFailures).toBeGreaterThan(3);
    // Resuming re-reads at most the uncut tail (< max chunk + one piece) per failure.
    expect(origin.counts.bytesRead).toBeLessThan(data.length + origin.counts.injectedFailures * (256 + 128) * 1024);
    origin.setMode({ kind: "healthy" });
    origin.resetCounts();
    expect(await readAll((o, s) => cache.fetcher.read(file, o, s), file.size)).toEqual(data);
    expect(origin.totalOperations).toBe(0);
  });

  test("a whole-file fetch cut off halfway resumes after a restart from its stored prefix, not from the start", async () => {
    const root = dir();
    const data = pseudoRandomBytes(8 * MiB, 17);
    const origin = makeOrigin(root, { "f.flac": data });
    // The version check and three requests (doubling: 256 KiB, 768 KiB to the next 1 MiB boundary, 2 MiB), then the
    // origin is gone.
    origin.setMode({ kind: "failAfter", n: 4 });
    const db = new ManifestDb();
    const cacheDir = dir();
    const file = fileRef(origin, root, "f.flac", 9);
    const first = openTestCache(cacheDir, db);
    await first.fetcher.prefetch(file);
    expect(first.fetcher.hasManifest(file)).toBe(false);
    expect(first.progress.fileCount()).toBe(1);
    await first.close(); // the process ends; what it stored and recorded stays on disk
    const fetchedBefore = origin.counts.bytesRead;
    expect(fetchedBefore).toBe((256 + 768 + 2048) * 1024);

    origin.setMode({ kind: "healthy" });
    origin.resetCounts();
    const second = open(cacheDir, db);
    expect(await readAll((o, s) => second.fetcher.read(file, o, s), file.size)).toEqual(data);
    await second.fetcher.prefetch(file); // until the manifest is announced
    expect(db.events).toBe(1);
    // Only the rest, plus the uncut tail of the first attempt (less than one maximal chunk), is fetched again.
    expect(origin.counts.bytesRead).toBeGreaterThan(data.length - fetchedBefore - 1);
    expect(origin.counts.bytesRead).toBeLessThan(data.length - fetchedBefore + 256 * 1024);
    expect(second.progress.fileCount()).toBe(0); // the manifest supersedes the recorded prefix
  });

  test("a fetch recorded with SHA-256 ids (by a musicfs before keyed XXH3 ids) starts over: one id algorithm per manifest", async () => {
    const root = dir();
    const data = pseudoRandomBytes(4 * MiB, 18);
    const origin = makeOrigin(root, { "f.flac": data });
    origin.setMode({ kind: "failAfter", n: 3 });
    const db = new ManifestDb();
    const cacheDir = dir();
    const file = fileRef(origin, root, "f.flac", 19);
    const first = openTestCache(cacheDir, db);
    await first.fetcher.prefetch(file);
    expect(first.progress.fileCount()).toBe(1);
    await first.close();
    // The recorded prefix as the older version wrote it: the same chunks, named by their SHA-256.
    const access = new Sqlite(join(cacheDir, "chunks", "access.db"));
    const recorded = access.query("SELECT offset, length FROM fetch_progress WHERE file_id = 19").values() as [number, number][];
    expect(recorded.length).toBeGreaterThan(0);
    for (const [offset, length] of recorded)
      access.query("UPDATE fetch_progress SET id = ? WHERE file_id = 19 AND offset = ?").run(chunkHex(sha256ChunkId(data.subarray(offset, offset + length))), offset);
    access.close();

    origin.setMode({ kind: "healthy" });
    origin.resetCounts();
    const second = open(cacheDir, db);
    expect(await readAll((o, s) => second.fetcher.read(file, o, s), file.size)).toEqual(data);
    await second.fetcher.prefetch(file);
    expect(db.events).toBe(1);
    const m = decodeManifest(db.manifests.get(19)!);
    expect(m.algorithm).toBe(KEYED_XXH3_ALGORITHM_ID); // not a mix of both
    expect(origin.counts.bytesRead).toBeGreaterThanOrEqual(data.length); // fetched again from its first byte
    expect(new DataFileReader(second.dataFiles.dataDir).read(file, 0, file.size, new Uint8Array(file.size))).toBe(file.size);
  });

  test("short reads from the origin (partial mode) still give exact bytes on far reads", async () => {
    const root = dir();
    const data = pseudoRandomBytes(4 * MiB, 14);
    const origin = makeOrigin(root, { "f.flac": data });
    origin.setMode({ kind: "partial", maxBytes: 10_000 });
    const cache = open(dir(), new ManifestDb(), { fetcher: { maxConcurrentFileFetches: 0 } }); // ranges only
    const file = fileRef(origin, root, "f.flac", 10);
    expect(await cache.fetcher.read(file, 3 * MiB + 5, 300_000)).toEqual(data.subarray(3 * MiB + 5, 3 * MiB + 300_005));
    expect(origin.counts.read).toBeGreaterThan(10);
  });

  test("a tag reader's head and tail reads fetch two range blocks, not the file; after a restart they cost no origin operation", async () => {
    const root = dir();
    const data = pseudoRandomBytes(5 * MiB, 21);
    const origin = makeOrigin(root, { "t.flac": data });
    const db = new ManifestDb();
    const cacheDir = dir();
    const file = fileRef(origin, root, "t.flac", 21);
    const first = openTestCache(cacheDir, db);
    expect(await first.fetcher.read(file, 0, 4096)).toEqual(data.subarray(0, 4096));
    expect(await first.fetcher.read(file, data.length - 128, 128)).toEqual(data.subarray(data.length - 128));
    expect(origin.counts.bytesRead).toBe(2 * 32 * 1024); // two 32 KiB range blocks (the default block size)
    expect(origin.counts.streamCalls + origin.counts.read).toBe(2);
    await first.close();
    expect(db.events).toBe(0); // not fetched whole
    origin.resetCounts();

    const second = open(cacheDir, db);
    expect(await second.fetcher.read(file, 100, 4000)).toEqual(data.subarray(100, 4100));
    expect(await second.fetcher.read(file, data.length - 128, 128)).toEqual(data.subarray(data.length - 128));
    expect(origin.totalOperations).toBe(0);
  });

  test("an open readies a file not cached without a request; its reads then fetch only what the store lacks", async () => {
    const root = dir();
    const data = pseudoRandomBytes(5 * MiB, 25);
    const origin = makeOrigin(root, { "o.flac": data });
    const db = new ManifestDb();
    const cacheDir = dir();
    const file = fileRef(origin, root, "o.flac", 25);
    const first = openTestCache(cacheDir, db);
    first.fetcher.opened(file);
    expect(origin.totalOperations).toBe(0); // the open itself asks the origin nothing
    expect(await first.fetcher.read(file, data.length - 128, 128)).toEqual(data.subarray(data.length - 128));
    await first.close();
    origin.resetCounts();

    // After a restart: the open finds the stored tail block, so reading it again costs nothing; a far seek one GET.
    const second = open(cacheDir, db);
    second.fetcher.opened(file);
    expect(origin.totalOperations).toBe(0);
    expect(await second.fetcher.read(file, data.length - 4096, 4096)).toEqual(data.subarray(data.length - 4096));
    expect(origin.totalOperations).toBe(0);
    expect(await second.fetcher.read(file, 3 * MiB, 64 * 1024)).toEqual(data.subarray(3 * MiB, 3 * MiB + 64 * 1024));
    expect(origin.counts.read).toBe(1);
  });

  test("a file fetched whole into its data file leaves no chunk file behind, not even a range block equal to its last chunk", async () => {
    const root = dir();
    // 20 KiB past the last 64 KiB boundary: the file's last (fixed) chunk is exactly its last 32 KiB range block.
    const data = pseudoRandomBytes(5 * MiB + 20 * 1024, 23);
    const origin = makeOrigin(root, { "t.flac": data });
    const db = new ManifestDb();
    const cache = open(dir(), db);
    const file = fileRef(origin, root, "t.flac", 23);
    expect(await cache.fetcher.read(file, data.length - 128, 128)).toEqual(data.subarray(data.length - 128)); // a tag reader's tail
    await cache.fetcher.prefetch(file);
    expect(db.events).toBe(1);
    expect(new DataFileReader(cache.dataFiles.dataDir).read(file, 0, file.size, new Uint8Array(file.size))).toBe(file.size);
    expect(listFiles(cache.chunksDir).filter((f) => !f.startsWith("access.db"))).toEqual([]);
  });

  test("range blocks recorded for an older version of the file are not served", async () => {
    const root = dir();
    const v1 = pseudoRandomBytes(1 * MiB, 22);
    const origin = makeOrigin(root, { "t.flac": v1 });
    const db = new ManifestDb();
    const cacheDir = dir();
    const first = openTestCache(cacheDir, db);
    expect(await first.fetcher.read(fileRef(origin, root, "t.flac", 22), 0, 4096)).toEqual(v1.subarray(0, 4096));
    await first.close();
    const v2 = pseudoRandomBytes(1 * MiB, 23);
    writeFileSync(join(root, "t.flac"), v2);
    utimesSync(join(root, "t.flac"), new Date(), new Date(Date.now() + 5000));
    const second = open(cacheDir, db);
    expect(await second.fetcher.read(fileRef(origin, root, "t.flac", 22), 0, 4096)).toEqual(v2.subarray(0, 4096));
  });

  test("reading on from the start past the playback threshold fetches the file whole, once, reusing the blocks already read", async () => {
    const root = dir();
    const data = pseudoRandomBytes(9 * MiB, 24);
    const origin = makeOrigin(root, { "p.flac": data });
    const db = new ManifestDb();
    const cache = open(dir(), db, { fetcher: { playbackThresholdBytes: 2 * MiB } });
    const file = fileRef(origin, root, "p.flac", 24);
    expect(await readAll((o, s) => cache.fetcher.read(file, o, s), file.size, 128 * 1024)).toEqual(data);
    await cache.fetcher.prefetch(file);
    expect(db.events).toBe(1);
    expect(origin.counts.bytesRead).toBe(data.length);
  });

  test("a copier (1 MiB reads from offset 0, as dd bs=1M or gio copy) is fetched whole from its second read on; a tag reader is not", async () => {
    const root = dir();
    const data = pseudoRandomBytes(32 * MiB, 31);
    const origin = makeOrigin(root, { "c.flac": data, "s.flac": data.slice() });
    origin.setMode({ kind: "delay", ms: 30 }); // each request one round trip: the fetch cannot finish behind the reads
    const db = new ManifestDb();
    const cache = open(dir(), db);
    const copy = fileRef(origin, root, "c.flac", 31);
    expect(await cache.fetcher.read(copy, 0, MiB)).toEqual(data.subarray(0, MiB));
    expect(cache.fetcher.fetching(copy.fileId)).toBe(false); // one large read at the head: maybe a sniffer's
    expect(await cache.fetcher.read(copy, MiB, MiB)).toEqual(data.subarray(MiB, 2 * MiB));
    expect(cache.fetcher.fetching(copy.fileId)).toBe(true); // before: only once 4 MiB were read (the playback threshold)
    for (let o = 2 * MiB; o < data.length; o += MiB) expect(await cache.fetcher.read(copy, o, MiB)).toEqual(data.subarray(o, o + MiB));
    await cache.fetcher.prefetch(copy);
    expect(db.events).toBe(1);
    expect(origin.counts.bytesRead).toBe(data.length); // every byte fetched once

    // MPD's scan of an MP3 with a large picture (measured through a mount): 256 KiB, then 262,143 bytes and 1 byte, on.
    const scan = fileRef(origin, root, "s.flac", 32);
    origin.resetCounts();
    for (const [a, b] of [[0, 262144], [262144, 524287], [524287, 524288], [524288, 786431], [786431, 1048575], [1048575, 1048576], [1048576, 1310720]])
      expect(await cache.fetcher.read(scan, a, b - a)).toEqual(data.subarray(a, b));
    expect(cache.fetcher.fetching(scan.fileId)).toBe(false);
    expect(origin.counts.bytesRead).toBeLessThan(3 * MiB);
  });

  test("an aborted read rejects at once", async () => {
    const root = dir();
    const origin = makeOrigin(root, { "f.flac": pseudoRandomBytes(1 * MiB, 15) });
    origin.setMode({ kind: "offline", behaviour: "hang" });
    const cache = open(dir(), new ManifestDb());
    const ac = new AbortController();
    const p = cache.fetcher.read(fileRef(origin, root, "f.flac", 11), 0, 100, ac.signal).catch((e) => e);
    setTimeout(() => ac.abort(), 20);
    const err = await p;
    expect(err).toBeInstanceOf(FetchError);
    expect((err as FetchError).reason).toBe("aborted");
    origin.setMode({ kind: "healthy" });
  });
});
