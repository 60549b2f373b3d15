import { afterEach, describe, expect, spyOn, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { EventBus } from "../../src/core/eventBus.ts";
import { log } from "../../src/core/logger.ts";
import { CacheStats } from "../../src/cas/cacheStats.ts";
import { chunkHex, hashChunk } from "../../src/cas/chunkHash.ts";
import { ChunkLedger } from "../../src/cas/chunkLedger.ts";
import { ChunkStore } from "../../src/cas/chunkStore.ts";
import { ChunkPins, Evictor } from "../../src/cas/eviction.ts";
import { Fetcher } from "../../src/cas/fetch/index.ts";
import { decodeManifest, manifestChunkHexes } from "../../src/cas/manifestCodec.ts";
import { fileRef, makeOrigin, removeDir, tempDir } from "./helpers.ts";
import { pseudoRandomBytes } from "./testData.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) removeDir(d);
  dirs = [];
});

/** The cache wired by hand, with a controllable clock so that LRU order is deterministic. */
function setup(capBytes: number) {
  const dir = tempDir();
  dirs.push(dir);
  let clock = 1_000_000;
  const ledger = new ChunkLedger(join(dir, "access.db"), { now: () => clock });
  const stats = new CacheStats(() => ledger.getTotals());
  const pins = new ChunkPins();
  const bus = new EventBus();
  const evictions: { bytesFreed: number; chunks: number }[] = [];
  bus.on("CacheEviction", (e) => evictions.push(e));
  const store = new ChunkStore(dir, { ledger, stats, fsync: false });
  const evictor = new Evictor({ store, ledger, pins, stats, bus, capBytes });
  return { dir, ledger, stats, pins, store, evictor, evictions, tick: (ms = 1000) => (clock += ms) };
}

describe("eviction", () => {
  test("LRU chunks go first, pinned chunks never, down to the low-water mark", async () => {
    const { store, ledger, pins, evictor, evictions, stats, tick } = setup(1 * MiB);
    const chunk = (seed: number) => pseudoRandomBytes(100 * KiB, seed);
    const hex = (seed: number) => chunkHex(hashChunk(chunk(seed)));
    // Ten 100 KiB chunks written in order 0..9 (0 oldest).
    for (let i = 0; i < 10; i++) {
      await store.put(chunk(i));
      tick();
    }
    // 0 and 1 belong to an open file; 2 was just read (young again).
    pins.pin("open:1", [hex(0), hex(1)]);
    ledger.recordAccess([hex(2)]);
    tick();
    expect(evictor.needsEviction()).toBe(true); // 1000 KiB > 0.9 MiB
    const silenced = spyOn(log, "info").mockImplementation((() => {}) as never);
    const r = await evictor.evictIfNeeded();
    silenced.mockRestore();
    // Down to ≤ 0.8 MiB = 819.2 KiB: two chunks go, the oldest unpinned ones: 3 and 4.
    expect(r).toEqual({ chunks: 2, bytesFreed: 200 * KiB });
    for (const i of [0, 1, 2, 5, 6, 7, 8, 9]) expect(existsSync(store.pathOf(hex(i)))).toBe(true);
    for (const i of [3, 4]) expect(existsSync(store.pathOf(hex(i)))).toBe(false);
    expect(evictions).toEqual([{ bytesFreed: 200 * KiB, chunks: 2 }]);
    expect(stats.snapshot()).toMatchObject({ evictions: 2, evictedBytes: 200 * KiB, storedChunks: 8, storedBytes: 800 * KiB });
    // After the file is closed its chunks are evictable again.
    pins.unpin("open:1");
    expect(pins.isPinned(hex(0))).toBe(false);
  });

  test("access times survive a restart (persisted in batches)", async () => {
    const a = setup(10 * MiB);
    await a.store.put(pseudoRandomBytes(1000, 1));
    a.tick(5000);
    await a.store.put(pseudoRandomBytes(1000, 2));
    a.tick(5000);
    a.ledger.recordAccess([chunkHex(hashChunk(pseudoRandomBytes(1000, 1)))]);
    a.ledger.close();
    const reopened = new ChunkLedger(join(a.dir, "access.db"));
    const order = reopened.oldest(10).map((e) => e.hex);
    expect(order).toEqual([chunkHex(hashChunk(pseudoRandomBytes(1000, 2))), chunkHex(hashChunk(pseudoRandomBytes(1000, 1)))]);
    expect(reopened.getTotals()).toMatchObject({ storedChunks: 2, storedBytes: 2000 });
    reopened.close();
  });

  test("chunks of a file being fetched are pinned until it is complete; an open file stays whole under pressure", async () => {
    const { store, ledger, pins, evictor, stats, tick } = setup(3 * MiB);
    const root = tempDir();
    dirs.push(root);
    const files = { "a.flac": pseudoRandomBytes(1 * MiB, 21), "b.flac": pseudoRandomBytes(1 * MiB, 22), "c.flac": pseudoRandomBytes(1 * MiB, 23), "d.flac": pseudoRandomBytes(1 * MiB, 24) };
    const origin = makeOrigin(root, files);
    const bus = new EventBus();
    const manifests = new Map<number, Uint8Array>();
    bus.on("ManifestCached", (e) => manifests.set(e.fileId, e.manifest));
    // One read in flight: "d" must still be fetching (16 reads × 10 ms) when the pins are checked below.
    const fetcher = new Fetcher({
      store, bus, pins, ledger, stats, loadManifest: (id) => manifests.get(id), segmentBytes: 64 * KiB, rangeBlockBytes: 64 * KiB, parallelReads: 1,
    });
    const silenced = spyOn(log, "info").mockImplementation((() => {}) as never);
    const refs = Object.keys(files).map((name, i) => fileRef(origin, root, name, i + 1));
    const chunksOf = (id: number) => manifestChunkHexes(decodeManifest(manifests.get(id)!));
    await fetcher.prefetch(refs[0]);
    tick();
    // "a" is opened by a player and stays open; it is the oldest.
    pins.pin("fh:1", chunksOf(1));
    expect(pins.pinnedChunks).toBe(chunksOf(1).size);
    for (const ref of refs.slice(1, 3)) {
      await fetcher.prefetch(ref);
      tick();
    }
    // While "d" is being fetched, its chunks so far are pinned by the fetch.
    origin.setMode({ kind: "delay", ms: 10 });
    const fetching = fetcher.prefetch(refs[3]);
    while (ledger.getTotals().storedBytes < 3.5 * MiB) await Bun.sleep(5);
    expect(pins.pinnedChunks).toBeGreaterThan(chunksOf(1).size);
    await evictor.evictIfNeeded();
    await fetching;
    expect(pins.pinnedChunks).toBe(chunksOf(1).size); // the fetch released its pins
    silenced.mockRestore();
    expect(stats.snapshot().evictions).toBeGreaterThan(0);
    expect(ledger.getTotals().storedBytes).toBeLessThanOrEqual(3 * MiB);
    for (const hex of chunksOf(1)) expect(existsSync(store.pathOf(hex))).toBe(true); // open: kept
    for (const hex of chunksOf(4)) expect(existsSync(store.pathOf(hex))).toBe(true); // in flight, then newest: kept
    // "b" was the least recently used unpinned file: it went first.
    expect([...chunksOf(2)].filter((hex) => existsSync(store.pathOf(hex))).length).toBe(0);
    await fetcher.close();
  });
});

describe("statistics", () => {
  test("bytes, chunks, dedup ratio, hits and misses", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const ledger = new ChunkLedger(join(dir, "access.db"));
    const stats = new CacheStats(() => ledger.getTotals());
    const store = new ChunkStore(dir, { ledger, stats, fsync: false });
    const root = tempDir();
    dirs.push(root);
    const same = pseudoRandomBytes(1 * MiB, 31);
    const origin = makeOrigin(root, { "x.flac": same, "copy of x.flac": same });
    const fetcher = new Fetcher({ store, ledger, stats });
    const x = fileRef(origin, root, "x.flac", 1);
    const copy = fileRef(origin, root, "copy of x.flac", 2);
    expect(await fetcher.read(x, 0, 1000)).toEqual(same.subarray(0, 1000)); // miss: fetched
    await fetcher.prefetch(x);
    await fetcher.prefetch(copy);
    expect(await fetcher.read(x, 5000, 1000)).toEqual(same.subarray(5000, 6000)); // hit: manifest in memory
    const s = stats.snapshot();
    expect(s.storedBytes).toBe(1 * MiB); // the copy added nothing
    expect(s.storedChunks).toBeGreaterThan(5);
    expect(s.logicalBytes).toBe(2 * MiB);
    expect(s.dedupRatio).toBe(2);
    expect(s.dedupHits).toBe(s.storedChunks);
    expect(s.dedupBytesSaved).toBe(1 * MiB);
    expect(s.hits).toBe(1);
    expect(s.misses).toBe(1);
    expect(s.originBytes).toBe(2 * MiB);
    await fetcher.close();
    ledger.close();
  });
});
