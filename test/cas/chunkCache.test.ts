import { afterEach, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { chunkHex, sha256ChunkId } from "../../src/cas/chunkHash.ts";
import { buildManifest } from "../../src/cas/manifestCodec.ts";
import { ManifestDb, openTestCache, removeDir, tempDir } from "./helpers.ts";
import { pseudoRandomBytes } from "./testData.ts";

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) removeDir(d);
  dirs = [];
});

test("dropping a file's chunks deletes those stored, frees their bytes, and skips those never stored", async () => {
  const dir = tempDir();
  dirs.push(dir);
  const cache = openTestCache(dir, new ManifestDb());
  try {
    const chunks = [0, 1, 2, 3].map((i) => pseudoRandomBytes(4096, 40 + i));
    // Chunks 1 and 3 are chunk files (a file read from chunks before); 0 and 2 never were (fetched into a data file).
    for (const i of [1, 3]) await cache.store.put(chunks[i], sha256ChunkId(chunks[i]));
    const stored = cache.ledger.getTotals().storedBytes;
    const m = buildManifest(chunks.map((c) => ({ id: sha256ChunkId(c), length: c.length })), 4 * 4096, 1);
    await cache.dropChunksOf(m);
    for (const c of chunks) expect(existsSync(cache.store.pathOf(chunkHex(sha256ChunkId(c))))).toBe(false);
    expect(cache.ledger.getTotals().storedBytes).toBe(stored - 2 * 4096);
  } finally {
    await cache.close();
  }
});
