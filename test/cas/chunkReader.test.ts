import { afterEach, describe, expect, test } from "bun:test";
import { unlinkSync, writeFileSync } from "node:fs";
import { ChunkReader } from "../../src/cas/chunkReader.ts";
import { sha256ChunkId } from "../../src/cas/chunkHash.ts";
import { chunkLengths } from "../../src/cas/fastCdc.ts";
import {
  buildManifest, decodeManifest, encodeManifest, manifestChunkHex, readChecksum, type Manifest,
} from "../../src/cas/manifestCodec.ts";
import { chunkPath } from "../../src/cas/chunkPaths.ts";
import { ChunkStore } from "../../src/cas/chunkStore.ts";
import { removeDir, tempDir } from "./helpers.ts";
import { pseudoRandomBytes } from "./testData.ts";

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) removeDir(d);
  dirs = [];
});

/**
 * A file's chunks in a fresh store and its manifest: with read checksums (as the fetcher builds it now) unless
 * `checksums` is false (a manifest persisted before format v2).
 */
async function cachedFile(size: number, checksums = true): Promise<{ dir: string; data: Uint8Array<ArrayBuffer>; m: Manifest }> {
  const dir = tempDir();
  dirs.push(dir);
  const data = pseudoRandomBytes(size, 77);
  const store = new ChunkStore(dir, { fsync: false });
  const chunks = [];
  let off = 0;
  for (const len of chunkLengths(data)) {
    const bytes = data.subarray(off, off + len);
    await store.put(bytes, sha256ChunkId(bytes)); // a cache written before keyed XXH3 ids (algorithm 1)
    chunks.push({ id: sha256ChunkId(bytes), length: len, checksum: checksums ? readChecksum(bytes) : undefined });
    off += len;
  }
  return { dir, data, m: buildManifest(chunks, data.length, 1000) };
}

describe("ChunkReader (synchronous)", () => {
  test("reads any range, across chunk boundaries, clamped at EOF", async () => {
    const { dir, data, m } = await cachedFile(1_500_000);
    expect(m.chunkCount).toBeGreaterThan(5);
    const reader = new ChunkReader(dir);
    const view = reader.openFile(m);
    for (const [offset, size] of [[0, 131072], [m.offsets[2] - 10, 20], [m.offsets[3] - 1, 300_000], [1_499_990, 131072], [1_600_000, 10]]) {
      const r = reader.read(m, offset, size, view);
      expect(r.kind).toBe("ok");
      if (r.kind === "ok") expect(r.bytes).toEqual(data.slice(offset, Math.min(offset + size, data.length)));
    }
    // The whole file in 128 KiB reads.
    const out = new Uint8Array(data.length);
    for (let off = 0; off < data.length; off += 131072) {
      const r = reader.read(m, off, 131072, view);
      if (r.kind !== "ok") throw new Error(r.kind);
      out.set(r.bytes, off);
    }
    expect(out).toEqual(data);
    expect(reader.takeCounts().verifiedChunks).toBe(m.chunkCount); // each chunk hashed once per open
    expect(new Set(reader.takeAccessedChunkHexes()).size).toBe(m.chunkCount);
  });

  test("openManifest: decodes a persisted manifest, refuses stale or damaged ones", async () => {
    const { dir, data, m } = await cachedFile(300_000);
    const reader = new ChunkReader(dir);
    const encoded = encodeManifest(m);
    const view = reader.openManifest(encoded, data.length, 1000);
    expect(view).not.toBeNull();
    const r = reader.read(view!.manifest, 5, 10, view!);
    expect(r.kind === "ok" && r.bytes).toEqual(data.slice(5, 15));
    expect(reader.openManifest(encoded, data.length, 1001)).toBeNull(); // origin mtime changed
    expect(reader.openManifest(encoded, data.length + 1, 1000)).toBeNull(); // origin size changed
    expect(reader.openManifest(encoded.subarray(0, 40), data.length, 1000)).toBeNull();
    expect(reader.openManifest(null, data.length, 1000)).toBeNull();
  });

  test("missing chunk → missing, with its index", async () => {
    const { dir, m } = await cachedFile(600_000);
    unlinkSync(chunkPath(dir, manifestChunkHex(m, 2)));
    const reader = new ChunkReader(dir);
    const r = reader.read(m, m.offsets[2] + 5, 10);
    expect(r).toMatchObject({ kind: "missing", chunkIndex: 2 });
    expect(reader.read(m, 0, 10).kind).toBe("ok");
  });

  for (const checksums of [true, false]) {
    const how = checksums ? "read checksum (v2)" : "SHA-256 (v1 manifest)";

    test(`corrupt chunk → corrupt on the first read after open, by ${how}; wrong bytes are never returned`, async () => {
      const { dir, data, m } = await cachedFile(600_000, checksums);
      expect(m.checksums !== null).toBe(checksums);
      const path = chunkPath(dir, manifestChunkHex(m, 1));
      const bad = data.slice(m.offsets[1], m.offsets[2]);
      bad[100] ^= 0x01; // one flipped bit, same length
      writeFileSync(path, bad);
      const reader = new ChunkReader(dir);
      const out = new Uint8Array(10);
      expect(reader.read(m, m.offsets[1] + 5000, 10, reader.openFile(m), out)).toMatchObject({ kind: "corrupt", chunkIndex: 1 });
      expect(reader.takeCounts()).toMatchObject({ hits: 0, misses: 1, verifiedChunks: 0 });
      // Longer or shorter files are corrupt too, and so is an empty one; whether the read covers the whole chunk
      // (verified in the caller's buffer) or part of it (verified in the reader's scratch buffer).
      const flipped = bad;
      const wrongs = [flipped, data.slice(m.offsets[1], m.offsets[2] + 1), data.slice(m.offsets[1], m.offsets[2] - 1), new Uint8Array(0)];
      for (const wrong of wrongs) {
        writeFileSync(path, wrong);
        expect(reader.read(m, m.offsets[1], 10).kind).toBe("corrupt");
        expect(reader.read(m, m.offsets[1], m.offsets[2] - m.offsets[1]).kind).toBe("corrupt");
        expect(reader.read(m, m.offsets[0], m.offsets[3] - m.offsets[0], reader.openFile(m), new Uint8Array(m.offsets[3])).kind).toBe("corrupt");
      }
      // Repaired (as the fetcher would): served again.
      writeFileSync(path, data.slice(m.offsets[1], m.offsets[2]));
      const r = reader.read(m, m.offsets[1], 10);
      expect(r.kind === "ok" && r.bytes).toEqual(data.slice(m.offsets[1], m.offsets[1] + 10));
    });

    test(`a new open verifies again (damage after a previous open is caught), by ${how}`, async () => {
      const { dir, data, m } = await cachedFile(400_000, checksums);
      const reader = new ChunkReader(dir);
      expect(reader.read(m, 0, 100, reader.openFile(m)).kind).toBe("ok");
      const bad = data.slice(0, m.offsets[1]);
      bad[m.offsets[1] - 1] ^= 0x80; // the last byte: a check that stopped short would miss it
      writeFileSync(chunkPath(dir, manifestChunkHex(m, 0)), bad);
      expect(reader.read(m, 0, 100, reader.openFile(m)).kind).toBe("corrupt");
    });
  }

  test("with read checksums, verification uses them (not SHA-256); a v1 manifest verifies by SHA-256", async () => {
    const { dir, data, m } = await cachedFile(400_000);
    const reader = new ChunkReader(dir);
    // A wrong recorded checksum fails an intact chunk: proof that the fast check is the one applied.
    const wrong = decodeManifest(encodeManifest(m));
    wrong.checksums![1] ^= 1n;
    expect(reader.read(wrong, m.offsets[1], 10).kind).toBe("corrupt");
    expect(reader.read(wrong, 0, 10).kind).toBe("ok");
    // The same chunks under a v1 manifest (no checksums): read and checked against the SHA-256 ids.
    const v1 = decodeManifest(encodeManifest({ ...m, checksums: null }));
    expect(v1.checksums).toBeNull();
    const view = reader.openManifest(encodeManifest(v1), data.length, 1000)!;
    const r = reader.read(view.manifest, 0, data.length, view);
    expect(r.kind === "ok" && r.bytes).toEqual(data);
    expect(reader.takeCounts().verifiedChunks).toBe(1 + m.chunkCount); // chunk 0 of `wrong`, then all of v1
  });
});
