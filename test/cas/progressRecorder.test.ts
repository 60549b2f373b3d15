import { afterEach, expect, test } from "bun:test";
import { closeSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { ChunkHasher } from "../../src/cas/chunkHasher.ts";
import { chunkHex, chunkIdentity } from "../../src/cas/chunkHash.ts";
import { FetchProgress } from "../../src/cas/fetchProgress.ts";
import { readChecksum } from "../../src/cas/manifestCodec.ts";
import { ProgressRecorder } from "../../src/cas/progressRecorder.ts";
import { asContentId } from "../../src/core/ids.ts";
import { removeDir, tempDir } from "./helpers.ts";
import { pseudoRandomBytes } from "./testData.ts";

const K = 1024;
const KEY = 0x0123456789abcdefn;
const ids = chunkIdentity(KEY);
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach(removeDir));

function dir(): string {
  const d = tempDir();
  dirs.push(d);
  return d;
}

const chunk = (offset: number, length = 64 * K) => ({ offset, length, hex: chunkHex(ids.idOf(new Uint8Array([offset / K]))), checksum: BigInt(offset) });

test("hashed chunks are recorded once `everyBytes` of them are pending, the rest when the job ends", () => {
  const db = join(dir(), "access.db");
  const fileId = asContentId(7);
  const version = { size: 1024 * K, mtimeMs: 1234.5 };
  const rec = new ProgressRecorder();
  const progress = new FetchProgress(db);
  try {
    rec.begin(1, { db, fileId, ...version, everyBytes: 256 * K }, 0);
    expect(rec.hashed(1, [chunk(0), chunk(64 * K)])).toBe(0); // 128 KiB pending: nothing recorded yet
    expect(progress.prefixOf(fileId, version)).toEqual([]);
    expect(rec.hashed(1, [chunk(128 * K), chunk(192 * K), chunk(256 * K)])).toBe(320 * K);
    expect(progress.prefixOf(fileId, version).map((c) => c.offset)).toEqual([0, 64 * K, 128 * K, 192 * K, 256 * K]);
    expect(rec.hashed(1, [chunk(320 * K)])).toBe(320 * K);
    expect(rec.end(1)).toBe(384 * K); // the job ended (abandoned, failed): what was pending is kept
    expect(progress.prefixOf(fileId, version).map((c) => [c.offset, c.checksum])).toEqual(
      [0, 64, 128, 192, 256, 320].map((k) => [k * K, BigInt(k * K)]),
    );
    expect(rec.end(1)).toBeUndefined(); // ended once
  } finally {
    rec.close();
    progress.close();
  }
});

test("a job resumed after a restart records from where its recorded prefix ended; the file's last chunk at once", () => {
  const db = join(dir(), "access.db");
  const fileId = asContentId(8);
  const version = { size: 200 * K, mtimeMs: 1 };
  const progress = new FetchProgress(db);
  const rec = new ProgressRecorder();
  try {
    progress.append(fileId, version, [chunk(0)]);
    rec.begin(2, { db, fileId, ...version, everyBytes: 1024 * K }, 64 * K);
    expect(rec.hashed(2, [chunk(64 * K)])).toBe(64 * K);
    expect(rec.hashed(2, [chunk(128 * K, 72 * K)])).toBe(200 * K); // EOF: recorded without waiting for `everyBytes`
    expect(progress.prefixOf(fileId, version).map((c) => c.offset)).toEqual([0, 64 * K, 128 * K]);
  } finally {
    rec.close();
    progress.close();
  }
});

test("the hash worker (a real thread) records the chunks it hashed; ending the job waits for the last rows", async () => {
  const d = dir();
  const data = pseudoRandomBytes(1024 * K + 5, 9);
  const path = join(d, "f.partial");
  const fd = openSync(path, "w");
  writeSync(fd, data);
  closeSync(fd);
  const db = join(d, "access.db");
  const fileId = asContentId(9);
  const version = { size: data.length, mtimeMs: 42 };
  const hasher = new ChunkHasher(KEY, 256 * K);
  const progress = new FetchProgress(db);
  try {
    const job = hasher.begin(path, 0, data.length, { db, fileId, ...version, everyBytes: 512 * K });
    const first = await job.written(0, 512 * K, readChecksum(data.subarray(0, 512 * K)));
    expect(first.map((c) => c.offset)).toEqual([0, 256 * K]);
    expect(job.recordedTo).toBe(512 * K);
    expect(progress.prefixOf(fileId, version).map((c) => c.hex)).toEqual(first.map((c) => c.hex));
    await job.written(512 * K, 768 * K, readChecksum(data.subarray(512 * K, 768 * K)));
    expect(job.recordedTo).toBe(512 * K); // 256 KiB pending
    await job.end();
    expect(job.recordedTo).toBe(768 * K);
    const rows = progress.prefixOf(fileId, version);
    expect(rows.map((c) => c.offset)).toEqual([0, 256 * K, 512 * K]);
    expect(rows[2].hex).toBe(chunkHex(ids.idOf(data.subarray(512 * K, 768 * K))));
    expect(rows[2].checksum).toBe(readChecksum(data.subarray(512 * K, 768 * K)));
  } finally {
    await hasher.close();
    progress.close();
  }
});
