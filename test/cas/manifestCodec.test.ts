import { describe, expect, test } from "bun:test";
import { hashChunk } from "../../src/cas/chunkHash.ts";
import {
  buildManifest, chunkIndexAt, decodeManifest, encodeManifest, isManifestCurrent, manifestChunkId, manifestChunkLength,
  ManifestFormatError,
} from "../../src/cas/manifestCodec.ts";

const chunks = [100, 70_000, 5].map((length, i) => ({ id: hashChunk(new Uint8Array([i])), length }));

describe("manifest codec", () => {
  test("round trip keeps ids, offsets, size and mtime", () => {
    const m = buildManifest(chunks, 70_105, 1_700_000_000_123.5);
    const bytes = encodeManifest(m);
    expect(bytes.length).toBe(32 + 3 * 36);
    expect(bytes[0]).toBe(1); // version byte
    const d = decodeManifest(bytes);
    expect(d.originSize).toBe(70_105);
    expect(d.originMtimeMs).toBe(1_700_000_000_123.5);
    expect(d.chunkCount).toBe(3);
    expect([...d.offsets]).toEqual([0, 100, 70_100, 70_105]);
    for (let i = 0; i < 3; i++) {
      expect(manifestChunkId(d, i)).toEqual(chunks[i].id);
      expect(manifestChunkLength(d, i)).toBe(chunks[i].length);
    }
  });

  test("decodes a manifest stored in a larger buffer (SQLite BLOB views)", () => {
    const bytes = encodeManifest(buildManifest(chunks, 70_105, 1));
    const padded = new Uint8Array(bytes.length + 10);
    padded.set(bytes, 10);
    expect(decodeManifest(padded.subarray(10)).chunkCount).toBe(3);
  });

  test("empty file", () => {
    const d = decodeManifest(encodeManifest(buildManifest([], 0, 5)));
    expect(d.chunkCount).toBe(0);
    expect(d.originSize).toBe(0);
  });

  test("chunkIndexAt finds the chunk holding a byte", () => {
    const m = buildManifest(chunks, 70_105, 1);
    expect(chunkIndexAt(m, 0)).toBe(0);
    expect(chunkIndexAt(m, 99)).toBe(0);
    expect(chunkIndexAt(m, 100)).toBe(1);
    expect(chunkIndexAt(m, 70_099)).toBe(1);
    expect(chunkIndexAt(m, 70_100)).toBe(2);
    expect(chunkIndexAt(m, 70_104)).toBe(2);
  });

  test("rejects damaged or foreign manifests", () => {
    const good = encodeManifest(buildManifest(chunks, 70_105, 1));
    const wrongVersion = good.slice();
    wrongVersion[0] = 9;
    const wrongAlgorithm = good.slice();
    wrongAlgorithm[1] = 2;
    const wrongSize = good.slice();
    new DataView(wrongSize.buffer).setBigUint64(8, 70_106n, true);
    for (const bad of [good.subarray(0, 10), good.subarray(0, good.length - 1), wrongVersion, wrongAlgorithm, wrongSize])
      expect(() => decodeManifest(bad)).toThrow(ManifestFormatError);
    expect(() => buildManifest(chunks, 1, 1)).toThrow(ManifestFormatError);
  });

  test("a manifest is current only for the same origin size and mtime", () => {
    const m = buildManifest(chunks, 70_105, 1000);
    expect(isManifestCurrent(m, 70_105, 1000)).toBe(true);
    expect(isManifestCurrent(m, 70_105, 1001)).toBe(false);
    expect(isManifestCurrent(m, 70_104, 1000)).toBe(false);
  });
});
