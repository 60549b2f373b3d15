import { describe, expect, test } from "bun:test";
import { chunkIdentity, KEYED_XXH3_ALGORITHM_ID, SHA256_ALGORITHM_ID, sha256ChunkId } from "../../src/cas/chunkHash.ts";
import {
  buildManifest, chunkIndexAt, decodeManifest, encodeManifest, isManifestCurrent, manifestChunkId, manifestChunkLength,
  ManifestFormatError, readChecksum,
} from "../../src/cas/manifestCodec.ts";
import { pseudoRandomBytes } from "./testData.ts";

const chunks = [100, 70_000, 5].map((length, i) => ({ id: sha256ChunkId(new Uint8Array([i])), length }));

describe("manifest codec", () => {
  test("without read checksums: still written as version 1, byte for byte the old layout", () => {
    const m = buildManifest(chunks, 70_105, 1_700_000_000_123.5);
    const bytes = encodeManifest(m);
    expect(bytes.length).toBe(32 + 3 * 36);
    expect(bytes[0]).toBe(1); // version byte
    const d = decodeManifest(bytes);
    expect(d.originSize).toBe(70_105);
    expect(d.originMtimeMs).toBe(1_700_000_000_123.5);
    expect(d.chunkCount).toBe(3);
    expect(d.checksums).toBeNull();
    expect([...d.offsets]).toEqual([0, 100, 70_100, 70_105]);
    for (let i = 0; i < 3; i++) {
      expect(manifestChunkId(d, i)).toEqual(chunks[i].id);
      expect(manifestChunkLength(d, i)).toBe(chunks[i].length);
    }
  });

  test("round trip with read checksums (version 2) keeps ids, offsets, size, mtime and checksums", () => {
    // Full 64-bit range, including values above 2^63 (BigUint64, not a signed read).
    const sums = [0n, 0xffff_ffff_ffff_ffffn, 0x8000_0000_0000_0001n];
    const m = buildManifest(chunks.map((c, i) => ({ ...c, checksum: sums[i] })), 70_105, 1_700_000_000_123.5);
    const bytes = encodeManifest(m);
    expect(bytes.length).toBe(32 + 3 * 44);
    expect(bytes[0]).toBe(2); // version
    expect(bytes[2]).toBe(1); // read checksum algorithm: XXH3-64
    const d = decodeManifest(bytes);
    expect(d.originSize).toBe(70_105);
    expect(d.originMtimeMs).toBe(1_700_000_000_123.5);
    expect([...d.offsets]).toEqual([0, 100, 70_100, 70_105]);
    expect([...d.checksums!]).toEqual(sums);
    for (let i = 0; i < 3; i++) expect(manifestChunkId(d, i)).toEqual(chunks[i].id);
    expect(encodeManifest(d)).toEqual(bytes);
  });

  test("decodes a version 1 manifest as written before read checksums existed", () => {
    // Hand-built in the v1 layout (32-byte header, 36-byte entries), independent of encodeManifest.
    const v1 = new Uint8Array(32 + 3 * 36);
    const view = new DataView(v1.buffer);
    view.setUint8(0, 1);
    view.setUint8(1, 1);
    view.setUint32(4, 3, true);
    view.setBigUint64(8, 70_105n, true);
    view.setFloat64(16, 42, true);
    chunks.forEach((c, i) => {
      v1.set(c.id, 32 + i * 36);
      view.setUint32(32 + i * 36 + 32, c.length, true);
    });
    const d = decodeManifest(v1);
    expect(d.checksums).toBeNull();
    expect(d.originMtimeMs).toBe(42);
    expect([...d.offsets]).toEqual([0, 100, 70_100, 70_105]);
    expect(manifestChunkId(d, 2)).toEqual(chunks[2].id);
  });

  test("read checksum is XXH3-64 and stable (persisted in manifests: a change must not go unnoticed)", () => {
    // Reference values of XXH3_64bits (seed 0), as `xxhsum -H3` prints them.
    expect(readChecksum(new Uint8Array(0))).toBe(0x2d06800538d394c2n);
    expect(readChecksum(new TextEncoder().encode("abc"))).toBe(0x78af5f94892f3950n);
    // The long-input path (> 240 bytes), pinned from this implementation.
    expect(readChecksum(pseudoRandomBytes(65_536, 3))).toBe(0xbc6c3f935a70a38en);
  });

  test("keyed XXH3 ids (algorithm 2): 16-byte ids, 28-byte entries, round trip; SHA-256 manifests keep algorithm 1", () => {
    const ids = chunkIdentity(0x5eedn);
    const bytes = [pseudoRandomBytes(100, 1), pseudoRandomBytes(70_000, 2), pseudoRandomBytes(5, 3)];
    const keyed = bytes.map((b) => ({ id: ids.idOf(b), length: b.length, checksum: readChecksum(b) }));
    const m = buildManifest(keyed, 70_105, 9);
    expect(m.algorithm).toBe(KEYED_XXH3_ALGORITHM_ID);
    const encoded = encodeManifest(m);
    expect(encoded.length).toBe(32 + 3 * (16 + 4 + 8));
    expect(encoded[1]).toBe(2);
    const d = decodeManifest(encoded);
    expect(d.algorithm).toBe(KEYED_XXH3_ALGORITHM_ID);
    for (let i = 0; i < 3; i++) {
      expect(manifestChunkId(d, i)).toEqual(keyed[i].id);
      expect(ids.matches(bytes[i], manifestChunkId(d, i))).toBe(true);
      expect(manifestChunkLength(d, i)).toBe(bytes[i].length);
    }
    expect(encodeManifest(d)).toEqual(encoded);
    expect(decodeManifest(encodeManifest(buildManifest(chunks, 70_105, 1))).algorithm).toBe(SHA256_ALGORITHM_ID);
  });

  test("one algorithm per manifest: mixed id lengths, unknown lengths and keyed ids without checksums are refused", () => {
    const ids = chunkIdentity(1n);
    const keyed = chunks.map((c, i) => ({ id: ids.idOf(new Uint8Array([i])), length: c.length, checksum: 1n }));
    const sha = chunks.map((c) => ({ ...c, checksum: 1n }));
    expect(() => buildManifest([keyed[0], sha[1], keyed[2]], 70_105, 1)).toThrow(ManifestFormatError);
    expect(() => buildManifest([sha[0], keyed[1], sha[2]], 70_105, 1)).toThrow(ManifestFormatError);
    expect(() => buildManifest([{ ...sha[0], id: new Uint8Array(20) }, sha[1], sha[2]], 70_105, 1)).toThrow(ManifestFormatError);
    expect(() => buildManifest(keyed.map(({ id, length }) => ({ id, length })), 70_105, 1)).toThrow(ManifestFormatError);
  });

  test("all chunks have a checksum or none does", () => {
    expect(() => buildManifest([{ ...chunks[0], checksum: 1n }, chunks[1], chunks[2]], 70_105, 1)).toThrow(
      ManifestFormatError,
    );
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
    wrongAlgorithm[1] = 3;
    const keyedInV1 = good.slice(); // keyed XXH3 ids are never written without read checksums
    keyedInV1[1] = 2;
    const wrongSize = good.slice();
    new DataView(wrongSize.buffer).setBigUint64(8, 70_106n, true);
    const v2 = encodeManifest(buildManifest(chunks.map((c) => ({ ...c, checksum: 7n })), 70_105, 1));
    const wrongChecksumAlgorithm = v2.slice();
    wrongChecksumAlgorithm[2] = 2;
    const v2AsV1 = v2.slice(); // a v2 body under a v1 header: the length no longer fits
    v2AsV1[0] = 1;
    const bads = [good.subarray(0, 10), good.subarray(0, good.length - 1), wrongVersion, wrongAlgorithm, keyedInV1, wrongSize];
    bads.push(v2.subarray(0, v2.length - 8), wrongChecksumAlgorithm, v2AsV1);
    for (const bad of bads) expect(() => decodeManifest(bad)).toThrow(ManifestFormatError);
    expect(() => buildManifest(chunks, 1, 1)).toThrow(ManifestFormatError);
  });

  test("a manifest is current only for the same origin size and mtime", () => {
    const m = buildManifest(chunks, 70_105, 1000);
    expect(isManifestCurrent(m, 70_105, 1000)).toBe(true);
    expect(isManifestCurrent(m, 70_105, 1001)).toBe(false);
    expect(isManifestCurrent(m, 70_104, 1000)).toBe(false);
  });
});
