import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { chunkLengths, DEFAULT_CDC, GEAR, spreadMask, StreamingChunker, type CutChunk } from "../../src/cas/fastCdc.ts";
import { sha256ChunkId, chunkHex } from "../../src/cas/chunkHash.ts";
import { concatBytes, CORPUS, pseudoRandomBytes } from "./testData.ts";
import { corpusTest } from "../support/needsCorpus.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

/** Chunk ids of a buffer, in order. */
function chunkIds(data: Uint8Array): string[] {
  const ids: string[] = [];
  let off = 0;
  for (const len of chunkLengths(data)) {
    ids.push(chunkHex(sha256ChunkId(data.subarray(off, off + len))));
    off += len;
  }
  return ids;
}

function sharedFraction(before: string[], after: string[]): number {
  const old = new Set(before);
  return after.filter((id) => old.has(id)).length / after.length;
}

describe("FastCDC", () => {
  test("gear table and masks are frozen (changing them invalidates every cached chunk)", () => {
    expect([...GEAR.slice(0, 4)]).toEqual([0xcf5daa29, 0xb46c636b, 0x222fdf83, 0x89b4db01]);
    expect(spreadMask(18)).toBe(0b1010110101011010101101010110101);
    expect(spreadMask(14)).toBe(0b1010010101001010101001010100101);
    expect(chunkLengths(pseudoRandomBytes(2 * MiB)).slice(0, 6)).toEqual([100737, 81444, 84557, 87344, 82116, 75302]);
  });

  test("chunk sizes stay within min/max and lengths cover the input", () => {
    const data = pseudoRandomBytes(16 * MiB, 7);
    const lengths = chunkLengths(data);
    expect(lengths.reduce((a, b) => a + b, 0)).toBe(data.length);
    for (const len of lengths.slice(0, -1)) {
      expect(len).toBeGreaterThanOrEqual(DEFAULT_CDC.minSize);
      expect(len).toBeLessThanOrEqual(DEFAULT_CDC.maxSize);
    }
    const avg = data.length / lengths.length;
    expect(avg).toBeGreaterThan(48 * KiB);
    expect(avg).toBeLessThan(112 * KiB);
  });

  test("uniform data is cut at the maximum size", () => {
    const lengths = chunkLengths(new Uint8Array(1 * MiB));
    expect(lengths).toEqual([256 * KiB, 256 * KiB, 256 * KiB, 256 * KiB]);
  });

  test("tiny and empty inputs", () => {
    expect(chunkLengths(new Uint8Array(0))).toEqual([]);
    expect(chunkLengths(new Uint8Array(100))).toEqual([100]);
  });

  test("boundaries are stable after prepending 1 KiB", () => {
    const data = pseudoRandomBytes(4 * MiB, 3);
    const before = chunkIds(data);
    const after = chunkIds(concatBytes(pseudoRandomBytes(1 * KiB, 99), data));
    // Only the first chunk (which absorbs the new bytes) may differ.
    expect(after.slice(1)).toEqual(before.slice(1));
    expect(after.length).toBe(before.length);
  });

  test("a 100-byte edit in 2 MiB keeps more than 90 % of the chunks", () => {
    const data = pseudoRandomBytes(2 * MiB, 5);
    const edited = data.slice();
    edited.set(pseudoRandomBytes(100, 42), 1 * MiB);
    const before = chunkIds(data);
    const after = chunkIds(edited);
    expect(sharedFraction(before, after)).toBeGreaterThan(0.9);
    expect(after).not.toEqual(before);
  });

  test("streaming gives the same cuts as a whole buffer, however the bytes are split", () => {
    const data = pseudoRandomBytes(3 * MiB + 12345, 11);
    const expected = chunkLengths(data);
    for (const pieceSize of [1000, 4096, 65536, 100_001, 300_000]) {
      const chunker = new StreamingChunker();
      const got: number[] = [];
      let expectOffset = 0;
      for (let off = 0; off < data.length; off += pieceSize) {
        for (const c of chunker.push(data.subarray(off, off + pieceSize))) {
          expect(c.offset).toBe(expectOffset);
          expectOffset += c.bytes.length;
          got.push(c.bytes.length);
        }
      }
      for (const c of chunker.finish()) got.push(c.bytes.length);
      expect(got).toEqual(expected);
    }
  });

  test("streaming chunks keep their own bytes and pending bytes are readable", () => {
    const data = pseudoRandomBytes(1 * MiB, 13);
    const chunker = new StreamingChunker();
    const chunks: CutChunk[] = [...chunker.push(data.subarray(0, 500_000))];
    const start = chunker.pendingStart;
    const end = chunker.pendingEnd;
    expect(end).toBe(500_000);
    const copy = new Uint8Array(end - start);
    chunker.copyPending(start, end, copy, 0);
    expect(copy).toEqual(data.slice(start, end));
    chunks.push(...chunker.push(data.subarray(500_000)), ...chunker.finish());
    for (const c of chunks) expect(c.bytes).toEqual(data.subarray(c.offset, c.offset + c.bytes.length));
  });

  corpusTest("real FLAC: re-tagging the head (longer comment) keeps most chunks", () => {
    const flac = new Uint8Array(readFileSync(`${CORPUS}/flac-test-files/uncommon/05 - 32bps audio.flac`));
    const retagged = concatBytes(flac.subarray(0, 200), new TextEncoder().encode("TITLE=A much longer title"), flac.subarray(200));
    expect(sharedFraction(chunkIds(flac), chunkIds(retagged))).toBeGreaterThan(0.9);
  });
});
