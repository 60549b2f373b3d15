import { afterEach, describe, expect, spyOn, test } from "bun:test";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { EventBus } from "../../src/core/eventBus.ts";
import { log } from "../../src/core/logger.ts";
import { CacheStats } from "../../src/cas/cacheStats.ts";
import { chunkHex } from "../../src/cas/chunkHash.ts";
import { ChunkLedger } from "../../src/cas/chunkLedger.ts";
import { ChunkStore, fsChunkFileWriter, StoreFullError, type ChunkFileWriter } from "../../src/cas/chunkStore.ts";
import { ChunkPins, Evictor, type FsSpace } from "../../src/cas/eviction.ts";
import { Fetcher } from "../../src/cas/fetch/index.ts";
import { decodeManifest, manifestChunkHexes } from "../../src/cas/manifestCodec.ts";
import { FaultyOrigin } from "../../src/origins/faultyOrigin.ts";
import { LocalOrigin } from "../../src/origins/localOrigin.ts";
import { fileRef, makeOrigin, removeDir, tempDir } from "./helpers.ts";
import { eventually } from "../support/eventually.ts";
import { pseudoRandomBytes } from "./testData.ts";
import { asOriginId } from "../../src/core/ids.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) removeDir(d);
  dirs = [];
});

/** The cache wired by hand, with a controllable clock so that LRU order is deterministic. */
function setup(capBytes: number, opts: { admit?: boolean; fsSpace?: () => FsSpace; writer?: ChunkFileWriter } = {}) {
  const dir = tempDir();
  dirs.push(dir);
  let clock = 1_000_000;
  const ledger = new ChunkLedger(join(dir, "access.db"), { now: () => clock });
  const stats = new CacheStats(() => ledger.getTotals());
  const pins = new ChunkPins();
  const bus = new EventBus();
  const evictions: { bytesFreed: number; chunks: number }[] = [];
  bus.on("CacheEviction", (e) => evictions.push(e));
  const store = new ChunkStore(dir, { ledger, stats, fsync: false, writer: opts.writer });
  const evictor = new Evictor({ store, ledger, pins, stats, bus, capBytes, fsSpace: opts.fsSpace });
  if (opts.admit) store.admission = evictor;
  return { dir, ledger, stats, pins, store, evictor, evictions, tick: (ms = 1000) => (clock += ms) };
}

/** An origin whose reads pass until `holdAfter(n)` has let n more through; the next ones wait for `release()`. */
class HeldOrigin extends FaultyOrigin {
  private passes = Infinity;
  private readonly released = Promise.withResolvers<void>();
  holdAfter(n: number): void {
    this.passes = n;
  }
  release(): void {
    this.released.resolve();
  }
  override async read(realPath: string, offset: number, length: number): Promise<Uint8Array> {
    if (this.passes-- <= 0) await this.released.promise;
    return super.read(realPath, offset, length);
  }
}

describe("eviction", () => {
  test("LRU chunks go first, pinned chunks never, down to the low-water mark", async () => {
    const { store, ledger, pins, evictor, evictions, stats, tick } = setup(1 * MiB);
    const chunk = (seed: number) => pseudoRandomBytes(100 * KiB, seed);
    const hex = (seed: number) => chunkHex(store.ids.idOf(chunk(seed)));
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
    a.ledger.recordAccess([chunkHex(a.store.ids.idOf(pseudoRandomBytes(1000, 1)))]);
    a.ledger.close();
    const reopened = new ChunkLedger(join(a.dir, "access.db"));
    const order = reopened.oldest(10).map((e) => e.hex);
    expect(order).toEqual([chunkHex(a.store.ids.idOf(pseudoRandomBytes(1000, 2))), chunkHex(a.store.ids.idOf(pseudoRandomBytes(1000, 1)))]);
    expect(reopened.getTotals()).toMatchObject({ storedChunks: 2, storedBytes: 2000 });
    reopened.close();
  });

  test("chunks of a file being fetched are pinned until it is complete; an open file stays whole under pressure", async () => {
    const { store, ledger, pins, evictor, stats, tick } = setup(3 * MiB);
    const root = tempDir();
    dirs.push(root);
    const files = { "a.flac": pseudoRandomBytes(1 * MiB, 21), "b.flac": pseudoRandomBytes(1 * MiB, 22), "c.flac": pseudoRandomBytes(1 * MiB, 23), "d.flac": pseudoRandomBytes(1 * MiB, 24) };
    makeOrigin(root, files);
    const origin = new HeldOrigin(new LocalOrigin(asOriginId("test"), root));
    const bus = new EventBus();
    const manifests = new Map<number, Uint8Array>();
    bus.on("ManifestCached", (e) => manifests.set(e.fileId, e.manifest));
    // One read in flight, 64 KiB each: "d" is 16 reads, and its last one is held until the pins are checked below.
    const fetcher = new Fetcher({
      store, bus, pins, ledger, stats, loadManifest: (id) => manifests.get(id), segmentBytes: 64 * KiB, rangeBlockBytes: 64 * KiB, parallelReads: 1,
      fetchRequestMaxBytes: 64 * KiB,
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
    // While "d" is being fetched, its chunks so far are pinned by the fetch. Its 16th read waits until released, so
    // the fetch is surely still running however slow the machine (15 × 64 KiB read, chunks of at most 256 KiB cut).
    origin.holdAfter(15);
    const fetching = fetcher.prefetch(refs[3]);
    await eventually(() => ledger.getTotals().storedBytes, (bytes) => bytes >= 3.5 * MiB);
    expect(manifests.has(4)).toBe(false); // still in flight
    expect(pins.pinnedChunks).toBeGreaterThan(chunksOf(1).size);
    await evictor.evictIfNeeded();
    origin.release();
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

/** Bytes of the files below `dir` but the ledger (chunk files and temp files being written). */
function chunkBytesOnDisk(dir: string): number {
  let n = 0;
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    if (name.startsWith("access.db")) continue;
    try {
      const st = statSync(join(dir, name));
      if (st.isFile()) n += st.size;
    } catch {
      /* deleted meanwhile */
    }
  }
  return n;
}

describe("eviction as writes happen (the cap and the free-space reserve)", () => {
  test("64 puts at once into a 1 MiB cap: the chunk files on disk never exceed the cap, measured at every write", async () => {
    let worst = 0;
    let dir = "";
    // The writer measures the disk just before each chunk file is written (temp files of other puts included).
    const writer: ChunkFileWriter = {
      async write(path, bytes, fsync) {
        worst = Math.max(worst, chunkBytesOnDisk(dir) + bytes.length);
        await fsChunkFileWriter.write(path, bytes, fsync);
      },
    };
    const c = setup(1 * MiB, { admit: true, writer, fsSpace: () => ({ freeBytes: Infinity, totalBytes: Infinity }) });
    dir = c.dir;
    const silenced = spyOn(log, "info").mockImplementation((() => {}) as never);
    await Promise.all(Array.from({ length: 64 }, (_, i) => c.store.put(pseudoRandomBytes(100 * KiB, 1000 + i))));
    await c.evictor.idle();
    silenced.mockRestore();
    expect(worst).toBeGreaterThan(800 * KiB); // the cache did fill up to its cap…
    expect(worst).toBeLessThanOrEqual(1 * MiB); // …and never past it
    expect(chunkBytesOnDisk(c.dir)).toBeLessThanOrEqual(1 * MiB);
    expect(c.stats.snapshot().writeFailures).toBe(0); // every put was stored (others evicted), none refused
    expect(c.evictor.inFlightBytes).toBe(0);
  });

  test("the disk's free-space reserve is kept whatever the cap; when other files take the room, chunks are not written (one warning)", async () => {
    // A 20 MiB file system (reserve: 5 % = 1 MiB) on which 8 MiB are free before the cache writes anything.
    let others = 12 * MiB;
    let dir = "";
    const fsSpace = () => ({ freeBytes: 20 * MiB - others - chunkBytesOnDisk(dir), totalBytes: 20 * MiB });
    const c = setup(1024 * MiB, { admit: true, fsSpace });
    dir = c.dir;
    const info = spyOn(log, "info").mockImplementation((() => {}) as never);
    const warn = spyOn(log, "warn").mockImplementation((() => {}) as never);
    try {
      for (let i = 0; i < 120; i++) {
        await c.store.put(pseudoRandomBytes(100 * KiB, 2000 + i));
        expect(fsSpace().freeBytes).toBeGreaterThanOrEqual(1 * MiB);
      }
      expect(c.stats.snapshot().evictions).toBeGreaterThan(0);
      expect(c.stats.snapshot().writeFailures).toBe(0);
      // Another program fills the disk: the cache gives its room back and stops writing, the disk is not filled.
      others = 19.5 * MiB;
      const refused = await c.store.put(pseudoRandomBytes(100 * KiB, 3000)).catch((e) => e);
      expect(refused).toBeInstanceOf(StoreFullError);
      expect(await c.store.put(pseudoRandomBytes(100 * KiB, 3001)).catch((e) => e)).toBeInstanceOf(StoreFullError);
      expect(chunkBytesOnDisk(dir)).toBe(0);
      expect(warn.mock.calls.filter((a) => String(a[0]).includes("min_free")).length).toBe(1);
    } finally {
      info.mockRestore();
      warn.mockRestore();
    }
  });

  test("chunks of open files give way when nothing else is left to hold the cap", async () => {
    const c = setup(1 * MiB, { admit: true, fsSpace: () => ({ freeBytes: Infinity, totalBytes: Infinity }) });
    const hexes: string[] = [];
    for (let i = 0; i < 10; i++) {
      const bytes = pseudoRandomBytes(100 * KiB, 4000 + i);
      await c.store.put(bytes);
      hexes.push(chunkHex(c.store.ids.idOf(bytes)));
      c.tick();
    }
    c.pins.pin("fh:1", hexes); // one open file holds everything stored
    const silenced = spyOn(log, "info").mockImplementation((() => {}) as never);
    await c.store.put(pseudoRandomBytes(200 * KiB, 4100));
    await c.evictor.idle();
    silenced.mockRestore();
    expect(chunkBytesOnDisk(c.dir)).toBeLessThanOrEqual(1 * MiB);
    // Only what the cap needed went, oldest first: the open file's two oldest chunks.
    expect(existsSync(c.store.pathOf(hexes[0]))).toBe(false);
    expect(existsSync(c.store.pathOf(hexes[1]))).toBe(false);
    for (const hex of hexes.slice(2)) expect(existsSync(c.store.pathOf(hex))).toBe(true);
  });

  test("chunks of pinned files (musicfs pin) never go, not even to hold the cap: open files' chunks give way instead", async () => {
    const c = setup(1 * MiB, { admit: true, fsSpace: () => ({ freeBytes: Infinity, totalBytes: Infinity }) });
    const hexes: string[] = [];
    for (let i = 0; i < 8; i++) {
      const bytes = pseudoRandomBytes(100 * KiB, 5000 + i);
      await c.store.put(bytes);
      hexes.push(chunkHex(c.store.ids.idOf(bytes)));
      c.tick();
    }
    await c.evictor.idle(); // 800 KiB: under the high-water mark, nothing was evicted
    expect(hexes.every((h) => existsSync(c.store.pathOf(h)))).toBe(true);
    c.pins.pin("pin:7", hexes.slice(0, 4), "kept"); // the four oldest: a pinned album
    c.pins.pin("fh:1", hexes.slice(4)); // the rest: an open file
    expect(c.pins.isKept(hexes[0]!)).toBe(true);
    expect(c.pins.isKept(hexes[4]!)).toBe(false);
    const silenced = spyOn(log, "info").mockImplementation((() => {}) as never);
    await c.store.put(pseudoRandomBytes(300 * KiB, 5100)); // 1100 KiB: over the cap
    await c.evictor.idle();
    silenced.mockRestore();
    expect(chunkBytesOnDisk(c.dir)).toBeLessThanOrEqual(1 * MiB);
    for (const hex of hexes.slice(0, 4)) expect(existsSync(c.store.pathOf(hex))).toBe(true);
    // What the cap needed came from the open file, oldest first.
    expect(existsSync(c.store.pathOf(hexes[4]!))).toBe(false);
    // Unpinned, they are ordinary chunks again.
    c.pins.unpin("pin:7");
    expect(c.pins.isPinned(hexes[0]!)).toBe(false);
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
    expect(s.hits).toBe(1);
    expect(s.misses).toBe(1);
    expect(s.originBytes).toBe(2 * MiB);
    await fetcher.close();
    ledger.close();
  });
});
