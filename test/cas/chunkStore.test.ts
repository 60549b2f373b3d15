import { afterEach, describe, expect, spyOn, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { log } from "../../src/core/logger.ts";
import { chunkHex } from "../../src/cas/chunkHash.ts";
import { ChunkLedger } from "../../src/cas/chunkLedger.ts";
import { chunkPath, chunkTempPath } from "../../src/cas/chunkPaths.ts";
import { ChunkStore, fsChunkFileWriter, StoreFullError, type ChunkFileWriter } from "../../src/cas/chunkStore.ts";
import { CacheStats } from "../../src/cas/cacheStats.ts";
import { reconcileLedger } from "../../src/cas/ledgerReconcile.ts";
import { listFiles, removeDir, tempDir } from "./helpers.ts";
import { pseudoRandomBytes } from "./testData.ts";

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) removeDir(d);
  dirs = [];
});

function setup(writer?: ChunkFileWriter, now?: () => number) {
  const dir = tempDir();
  dirs.push(dir);
  const ledger = new ChunkLedger(join(dir, "access.db"), { now });
  const stats = new CacheStats(() => ledger.getTotals());
  const store = new ChunkStore(dir, { ledger, stats, writer, fsync: true });
  return { dir, ledger, stats, store };
}

/** A writer that writes half of the chunk to the temp file, then fails like a full disk (or another error). */
function failingWriter(code: string): ChunkFileWriter {
  return {
    async write(path, bytes, fsync) {
      await fsChunkFileWriter.write(path, bytes.subarray(0, bytes.length >> 1), fsync);
      throw Object.assign(new Error(`${code}: simulated`), { code });
    },
  };
}

describe("ChunkStore", () => {
  test("put stores under the path of its id, get returns the same bytes", async () => {
    const { dir, store } = setup();
    const data = pseudoRandomBytes(70_000, 1);
    expect(await store.put(data)).toBe("stored");
    const hex = chunkHex(store.ids.idOf(data));
    expect(store.pathOf(hex)).toBe(join(dir, hex.slice(0, 2), hex.slice(2, 4), hex));
    expect(new Uint8Array(readFileSync(chunkPath(dir, hex)))).toEqual(data);
    const r = await store.get(store.ids.idOf(data), data.length);
    expect(r.kind).toBe("ok");
    if (r.kind === "ok") expect(r.bytes).toEqual(data);
  });

  test("the same bytes twice are stored once (dedup), size unchanged", async () => {
    const { store, ledger } = setup();
    const data = pseudoRandomBytes(50_000, 2);
    await store.put(data);
    const before = ledger.getTotals();
    expect(await store.put(data.slice())).toBe("duplicate");
    expect(ledger.getTotals()).toEqual(before);
    expect(before.storedBytes).toBe(50_000);
    expect(before.storedChunks).toBe(1);
  });

  test("concurrent puts of one chunk write it once", async () => {
    let writes = 0;
    const { store, ledger } = setup({
      write: (path, bytes, fsync) => (writes++, fsChunkFileWriter.write(path, bytes, fsync)),
    });
    const data = pseudoRandomBytes(40_000, 3);
    await Promise.all([store.put(data), store.put(data), store.put(data)]);
    expect(writes).toBe(1);
    expect(ledger.getTotals()).toMatchObject({ storedChunks: 1, storedBytes: 40_000 });
  });

  test("missing chunk → missing", async () => {
    const { store } = setup();
    expect((await store.get(store.ids.idOf(new Uint8Array([1, 2, 3])))).kind).toBe("missing");
  });

  test("a corrupt chunk is detected, deleted and never returned", async () => {
    const { dir, store, ledger, stats } = setup();
    const data = pseudoRandomBytes(30_000, 4);
    await store.put(data);
    const id = store.ids.idOf(data);
    const bad = data.slice();
    bad[12345] ^= 0x01;
    writeFileSync(chunkPath(dir, chunkHex(id)), bad);
    const warn = spyOn(log, "warn").mockImplementation((() => {}) as never);
    try {
      expect((await store.get(id, data.length)).kind).toBe("corrupt");
    } finally {
      warn.mockRestore();
    }
    expect(existsSync(chunkPath(dir, chunkHex(id)))).toBe(false);
    expect(ledger.getTotals().storedChunks).toBe(0);
    expect(stats.snapshot().corruptChunks).toBe(1);
    // A truncated file is corrupt too.
    await store.put(data);
    writeFileSync(chunkPath(dir, chunkHex(id)), data.subarray(0, 100));
    const warn2 = spyOn(log, "warn").mockImplementation((() => {}) as never);
    try {
      expect((await store.get(id, data.length)).kind).toBe("corrupt");
    } finally {
      warn2.mockRestore();
    }
  });

  test("disk full: StoreFullError, no temp file left, one warning for many failures", async () => {
    const { dir, store, ledger } = setup(failingWriter("ENOSPC"));
    const warn = spyOn(log, "warn").mockImplementation((() => {}) as never);
    try {
      for (let i = 0; i < 3; i++) {
        const err = await store.put(pseudoRandomBytes(20_000, 10 + i)).catch((e) => e);
        expect(err).toBeInstanceOf(StoreFullError);
      }
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0][0])).toContain("full");
    } finally {
      warn.mockRestore();
    }
    expect(listFiles(dir).filter((f) => !f.startsWith("access.db"))).toEqual([]);
    expect(ledger.getTotals().storedChunks).toBe(0);
  });

  test("any write failure leaves nothing behind (atomic write)", async () => {
    const { dir, store } = setup(failingWriter("EIO"));
    const err = await store.put(pseudoRandomBytes(20_000, 20)).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(StoreFullError);
    expect(listFiles(dir).filter((f) => !f.startsWith("access.db"))).toEqual([]);
  });

  test("reconcile: removes a crashed writer's temp file, adopts unknown chunks, drops rows of vanished files", async () => {
    // The ledger's clock runs an hour ahead of the walk's (rows written before the wall clock was set back, or in
    // the very millisecond the walk starts): the rule must not depend on clocks at all.
    const { dir, store, ledger } = setup(undefined, () => Date.now() + 3_600_000);
    const a = pseudoRandomBytes(10_000, 30);
    const b = pseudoRandomBytes(11_000, 31);
    await store.put(a);
    ledger.flush();
    // A chunk written but not recorded (kill -9 before the batch flush), and a temp file of a dead writer.
    const bHex = chunkHex(store.ids.idOf(b));
    mkdirSync(join(dir, bHex.slice(0, 2), bHex.slice(2, 4)), { recursive: true });
    writeFileSync(chunkPath(dir, bHex), b);
    const staleTemp = chunkTempPath(dir, bHex, 999_999, 1);
    writeFileSync(staleTemp, b.subarray(0, 5));
    // And a row whose file vanished.
    const aHex = chunkHex(store.ids.idOf(a));
    unlinkSync(chunkPath(dir, aHex));
    const report = await reconcileLedger(dir, ledger);
    expect(report).toEqual({ chunkFiles: 1, added: 1, removed: 1, staleTempFiles: 1 });
    expect(existsSync(staleTemp)).toBe(false);
    expect(ledger.getTotals()).toMatchObject({ storedChunks: 1, storedBytes: 11_000 });
  });

  test("reconcile: a chunk stored again while the walk runs keeps its row, whatever the clocks say", async () => {
    const { dir, store, ledger } = setup(undefined, () => 0);
    const a = pseudoRandomBytes(10_000, 32);
    await store.put(a);
    ledger.flush();
    const aHex = chunkHex(store.ids.idOf(a));
    unlinkSync(chunkPath(dir, aHex)); // evicted…
    const walk = reconcileLedger(dir, ledger); // (its snapshot of the ledger is taken before its first await)
    // …and stored again while the walk runs, the file landing in a folder the walk has passed: the store records it.
    ledger.recordAdded(aHex, a.length);
    const report = await walk;
    writeFileSync(chunkPath(dir, aHex), a);
    expect(report.removed).toBe(0);
    expect(ledger.allEntries().get(aHex)?.size).toBe(a.length);
  });
});
