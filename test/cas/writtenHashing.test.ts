import { afterEach, expect, test } from "bun:test";
import { openSync, closeSync, writeSync } from "node:fs";
import { join } from "node:path";
import { ChunkHasher } from "../../src/cas/chunkHasher.ts";
import { chunkHex, chunkIdentity } from "../../src/cas/chunkHash.ts";

const KEY = 0x0123456789abcdefn;
const ids = chunkIdentity(KEY);
import { readChecksum } from "../../src/cas/manifestCodec.ts";
import { WrittenHashing } from "../../src/cas/writtenHashing.ts";
import { removeDir, tempDir } from "./helpers.ts";
import { pseudoRandomBytes } from "./testData.ts";

const K = 1024;
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach(removeDir));

function fileWith(bytes: Uint8Array): string {
  const d = tempDir();
  dirs.push(d);
  const path = join(d, "f.partial");
  const fd = openSync(path, "w");
  writeSync(fd, bytes);
  closeSync(fd);
  return path;
}

test("ranges named as written come back as the chunks they complete, hashed as on disk (keyed XXH3 id, XXH3 checksum)", () => {
  const data = pseudoRandomBytes(300 * K, 1);
  const path = fileWith(data);
  const h = new WrittenHashing();
  h.handle({ type: "begin", job: 1, path, start: 0, size: data.length, chunkBytes: 64 * K, idKey: KEY });
  const a = h.handle({ type: "written", job: 1, seq: 1, from: 0, to: 100 * K, checksum: readChecksum(data.subarray(0, 100 * K)) });
  const b = h.handle({ type: "written", job: 1, seq: 2, from: 100 * K, to: data.length, checksum: readChecksum(data.subarray(100 * K)) });
  expect(a?.type).toBe("chunks");
  expect(b?.type).toBe("chunks");
  const chunks = [...(a?.type === "chunks" ? a.chunks : []), ...(b?.type === "chunks" ? b.chunks : [])];
  expect(chunks.map((c) => [c.offset, c.length])).toEqual([[0, 64 * K], [64 * K, 64 * K], [128 * K, 64 * K], [192 * K, 64 * K], [256 * K, 44 * K]]);
  for (const c of chunks) {
    const bytes = data.subarray(c.offset, c.offset + c.length);
    expect(c.hex).toBe(chunkHex(ids.idOf(bytes)));
    expect(c.hex).toHaveLength(32);
    expect(c.checksum).toBe(readChecksum(bytes));
  }
});

test("bytes on disk that are not those received (a bad write) fail the range: nothing is hashed from them", () => {
  const data = pseudoRandomBytes(128 * K, 2);
  const received = data.slice();
  received[70 * K] ^= 1;
  const h = new WrittenHashing();
  h.handle({ type: "begin", job: 7, path: fileWith(data), start: 0, size: data.length, chunkBytes: 64 * K, idKey: KEY });
  const r = h.handle({ type: "written", job: 7, seq: 1, from: 0, to: data.length, checksum: readChecksum(received) });
  expect(r).toEqual({ type: "failed", seq: 1, reason: expect.stringContaining("differ from those received") });
});

test("ranges out of order, an unknown job, or a file shorter than named are refused with a reason", () => {
  const data = pseudoRandomBytes(64 * K, 3);
  const h = new WrittenHashing();
  h.handle({ type: "begin", job: 1, path: fileWith(data), start: 0, size: 2 * data.length, chunkBytes: 64 * K, idKey: KEY });
  expect(h.handle({ type: "written", job: 1, seq: 1, from: 10, to: 20, checksum: 0n })).toMatchObject({ type: "failed", reason: expect.stringContaining("out of order") });
  expect(h.handle({ type: "written", job: 2, seq: 2, from: 0, to: 20, checksum: 0n })).toMatchObject({ type: "failed", reason: expect.stringContaining("no such") });
  const h2 = new WrittenHashing();
  h2.handle({ type: "begin", job: 1, path: fileWith(data), start: 0, size: 2 * data.length, chunkBytes: 64 * K, idKey: KEY });
  expect(h2.handle({ type: "written", job: 1, seq: 3, from: 0, to: 2 * data.length, checksum: 0n })).toMatchObject({ type: "failed", reason: expect.stringContaining("short") });
});

test("the hash worker (a real thread) answers the main thread's jobs in order", async () => {
  const data = pseudoRandomBytes(1024 * K + 5, 4);
  const path = fileWith(data);
  const hasher = new ChunkHasher(KEY, 256 * K);
  try {
    const job = hasher.begin(path, 0, data.length);
    const halves = [job.written(0, 512 * K, readChecksum(data.subarray(0, 512 * K))), job.written(512 * K, data.length, readChecksum(data.subarray(512 * K)))];
    const chunks = (await Promise.all(halves)).flat();
    job.end();
    expect(chunks.map((c) => c.length)).toEqual([256 * K, 256 * K, 256 * K, 256 * K, 5]);
    expect(chunks[4].hex).toBe(chunkHex(ids.idOf(data.subarray(1024 * K))));
    const bad = hasher.begin(path, 0, data.length);
    expect(await bad.written(0, 64 * K, 1n).catch((e: Error) => e.message)).toContain("differ from those received");
  } finally {
    await hasher.close();
  }
});
