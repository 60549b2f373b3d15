import { afterEach, describe, expect, test } from "bun:test";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from "node:fs";
import { FetchProgress } from "../../src/cas/fetchProgress.ts";
import { join } from "node:path";
import { sha256ChunkId } from "../../src/cas/chunkHash.ts";
import { chunkLengths } from "../../src/cas/fastCdc.ts";
import { buildManifest, manifestChunkHex, readChecksum, type Manifest } from "../../src/cas/manifestCodec.ts";
import { DataFileStore, type DataFileRef } from "../../src/cas/dataFileStore.ts";
import { DataFileReader } from "../../src/cas/dataFileReader.ts";
import { checkDataFile } from "../../src/cas/dataFileCheck.ts";
import { dataFileTempPath, dataFilePath, parseDataFileName, dataTempWriterPid } from "../../src/cas/dataFilePaths.ts";
import { listFiles, removeDir, tempDir } from "./helpers.ts";
import { pseudoRandomBytes } from "./testData.ts";
import { asContentId } from "../../src/core/ids.ts";

let dirs: string[] = [];
let stores: DataFileStore[] = [];
afterEach(() => {
  for (const s of stores) s.close();
  for (const d of dirs) removeDir(d);
  dirs = [];
  stores = [];
});

function fileOf(size: number, seed: number, checksums = true): { data: Uint8Array<ArrayBuffer>; m: Manifest; pieces: Uint8Array[] } {
  const data = pseudoRandomBytes(size, seed);
  const pieces: Uint8Array[] = [];
  const chunks = [];
  let off = 0;
  for (const len of chunkLengths(data)) {
    const bytes = data.subarray(off, off + len);
    pieces.push(bytes);
    chunks.push({ id: sha256ChunkId(bytes), length: len, checksum: checksums ? readChecksum(bytes) : undefined });
    off += len;
  }
  return { data, m: buildManifest(chunks, size, 1000), pieces };
}

function openStore(now?: () => number): { store: DataFileStore; dir: string } {
  const dir = tempDir();
  dirs.push(dir);
  const store = new DataFileStore(join(dir, "data"), join(dir, "access.db"), { now });
  stores.push(store);
  return { store, dir };
}

const ref = (fileId: number, size: number): DataFileRef => ({ fileId: asContentId(fileId), size, mtimeMs: 1000 });

describe("DataFileStore", () => {
  test("a file written from its chunks is one file with the bytes in file order, readable by a worker", async () => {
    const { store } = openStore();
    const f = fileOf(3_000_000, 5);
    expect(await store.materialize(ref(7, f.data.length), f.m, async (i) => f.pieces[i])).toBe("written");
    expect(readFileSync(store.pathOf(ref(7, f.data.length)))).toEqual(Buffer.from(f.data));
    expect(store.totals()).toEqual({ bytes: f.data.length, files: 1 });
    const reader = new DataFileReader(store.dataDir);
    const out = new Uint8Array(200_000);
    expect(reader.read(ref(7, f.data.length), 1_234_567, 200_000, out)).toBe(200_000);
    expect(out).toEqual(f.data.subarray(1_234_567, 1_434_567));
    // Past the end: short at EOF.
    expect(reader.read(ref(7, f.data.length), f.data.length - 10, 200_000, out)).toBe(10);
    expect(store.read(ref(7, f.data.length), 10, 110)).toEqual(f.data.subarray(10, 110));
    expect(listFiles(store.dataDir).filter((n) => n.includes(".part"))).toEqual([]);
  });

  test("rekey moves a complete data file to another id (a retired origin's file, then its return), bytes and LRU row kept", async () => {
    const { store } = openStore();
    const f = fileOf(400_000, 9);
    await store.materialize(ref(4, f.data.length), f.m, async (i) => f.pieces[i]);
    const retired = 2 ** 44 + 1;
    expect(store.rekey(asContentId(4), asContentId(retired), f.data.length, 1000)).toBe(true);
    expect(store.has(ref(4, f.data.length))).toBe(false);
    expect(store.totals()).toEqual({ bytes: f.data.length, files: 1 });
    expect(store.rekey(asContentId(retired), asContentId(12), f.data.length, 1000)).toBe(true);
    expect(readFileSync(store.pathOf(ref(12, f.data.length)))).toEqual(Buffer.from(f.data));
    expect(store.entry(asContentId(12))?.bytes).toBe(f.data.length);
    // Another version named, or nothing there: nothing moves.
    expect(store.rekey(asContentId(12), asContentId(13), f.data.length, 2000)).toBe(false);
    expect(store.rekey(asContentId(99), asContentId(13), f.data.length, 1000)).toBe(false);
    expect(store.totals()).toEqual({ bytes: f.data.length, files: 1 });
  });

  test("another version of the file is not found under the new size/mtime, and replaces the old one", async () => {
    const { store } = openStore();
    const a = fileOf(500_000, 1);
    await store.materialize(ref(3, a.data.length), a.m, async (i) => a.pieces[i]);
    const reader = new DataFileReader(store.dataDir);
    expect(reader.open({ fileId: asContentId(3), size: a.data.length, mtimeMs: 2000 })).toBeNull();
    const b = fileOf(600_000, 2);
    await store.materialize(ref(3, b.data.length), b.m, async (i) => b.pieces[i]);
    expect(existsSync(store.pathOf(ref(3, a.data.length)))).toBe(false);
    expect(store.totals()).toEqual({ bytes: b.data.length, files: 1 });
  });

  test("bytes that do not match the manifest never get the final name", async () => {
    const { store } = openStore();
    const f = fileOf(1_000_000, 3);
    const outcome = await store.materialize(ref(9, f.data.length), f.m, async (i) => {
      if (i !== 4) return f.pieces[i];
      const bad = new Uint8Array(f.pieces[i]);
      bad[100] ^= 1;
      return bad;
    });
    expect(typeof outcome === "object" && !outcome.damaged.ok && outcome.damaged.chunkIndex).toBe(4);
    expect(store.has(ref(9, f.data.length))).toBe(false);
    expect(listFiles(store.dataDir)).toEqual([]);
    expect(store.totals().files).toBe(0);
  });

  test("a chunk missing from the source leaves no data file", async () => {
    const { store } = openStore();
    const f = fileOf(800_000, 4);
    expect(await store.materialize(ref(1, f.data.length), f.m, async (i) => (i === 2 ? null : f.pieces[i]))).toBe("source-missing");
    expect(listFiles(store.dataDir)).toEqual([]);
  });

  test("checkDataFile finds a flipped byte and a truncated file (with and without read checksums)", async () => {
    for (const checksums of [true, false]) {
      const { store } = openStore();
      const f = fileOf(700_000, 6, checksums);
      await store.materialize(ref(2, f.data.length), f.m, async (i) => f.pieces[i]);
      const path = store.pathOf(ref(2, f.data.length));
      expect(checkDataFile(path, f.m)).toEqual({ ok: true });
      const damaged = new Uint8Array(f.data);
      damaged[650_000] ^= 0x80;
      writeFileSync(path, damaged);
      const r = checkDataFile(path, f.m);
      expect(r.ok).toBe(false);
      writeFileSync(path, f.data.subarray(0, 600_000));
      expect(checkDataFile(path, f.m).ok).toBe(false);
    }
  });

  test("least recently used first; delete frees the bytes; reconcile repairs rows and temp files", async () => {
    let clock = 1_000;
    const { store, dir } = openStore(() => clock);
    const files = [fileOf(100_000, 11), fileOf(200_000, 12), fileOf(300_000, 13)];
    for (const [i, f] of files.entries()) {
      clock += 10;
      await store.materialize(ref(i + 1, f.data.length), f.m, async (k) => f.pieces[k]);
    }
    clock += 10;
    store.touch(asContentId(1));
    store.flush();
    expect(store.oldest(10).map((e) => e.fileId)).toEqual([2, 3, 1].map(asContentId));
    expect(store.oldest(1, store.oldest(1)[0]).map((e) => e.fileId)).toEqual([3].map(asContentId));
    expect(store.delete(asContentId(2))).toBe(200_000);
    expect(store.has(ref(2, 200_000))).toBe(false);
    expect(store.totals()).toEqual({ bytes: 400_000, files: 2 });

    // A dead writer's temp file, a file deleted behind our back, a file without a row.
    const stale = dataFileTempPath(store.dataDir, asContentId(40), 5, 1000, 999_999_999);
    mkdirSync(join(stale, ".."), { recursive: true });
    writeFileSync(stale, "x");
    const orphan = dataFilePath(store.dataDir, asContentId(50), 3, 1000);
    mkdirSync(join(orphan, ".."), { recursive: true });
    writeFileSync(orphan, "abc");
    removeDir(store.pathOf(ref(3, 300_000)));
    store.close();
    stores = [];
    const again = new DataFileStore(join(dir, "data"), join(dir, "access.db"));
    stores.push(again);
    expect(again.reconcile((pid) => pid === process.pid)).toEqual({ added: 1, removed: 1, staleTempFiles: 1 });
    expect(existsSync(stale)).toBe(false);
    expect(again.totals()).toEqual({ bytes: 100_000 + 3, files: 2 });
  });

  test("a worker reads what a fetch already wrote into the partial file (recorded, checked), and nothing else", async () => {
    const { store, dir } = openStore();
    const f = fileOf(2_000_000, 21);
    const r = ref(30, f.data.length);
    const progress = new FetchProgress(join(dir, "access.db"));
    // The first half of the chunks written and recorded, as the whole-file fetch does.
    const half = Math.floor(f.m.chunkCount / 2);
    const recorded = [];
    for (let i = 0; i < half; i++) {
      await store.writePartial(r, f.m.offsets[i], f.pieces[i]);
      recorded.push({ offset: f.m.offsets[i], length: f.pieces[i].length, hex: manifestChunkHex(f.m, i), checksum: f.m.checksums![i] });
    }
    progress.append(r.fileId, r, recorded);
    // A chunk written but not recorded yet (the fetch records after each ranged read): not served.
    await store.writePartial(r, f.m.offsets[half], f.pieces[half]);
    const reader = new DataFileReader(store.dataDir, join(dir, "access.db"));
    const out = new Uint8Array(300_000);
    const within = f.m.offsets[half] - 300_000;
    expect(reader.readPresent(r, within, 300_000, out)).toBe(300_000);
    expect(out).toEqual(f.data.subarray(within, within + 300_000));
    expect(reader.readPresent(r, f.m.offsets[half] - 1000, 2000, out)).toBeNull();
    expect(reader.readPresent({ ...r, mtimeMs: 999 }, 0, 1000, out)).toBeNull();
    // A READ on chunk boundaries (read and checked in the reply buffer itself).
    const aligned = { from: f.m.offsets[1], to: f.m.offsets[3] };
    const big = new Uint8Array(aligned.to - aligned.from + 4096);
    expect(reader.readPresent(r, aligned.from, aligned.to - aligned.from, big)).toBe(aligned.to - aligned.from);
    expect(big.subarray(0, aligned.to - aligned.from)).toEqual(f.data.subarray(aligned.from, aligned.to));
    // A damaged byte inside a recorded chunk: never served, on or off chunk boundaries.
    const fd = openSync(store.partialPathOf(r), "r+");
    writeSync(fd, new Uint8Array([f.data[within + 10] ^ 0xff]), 0, 1, within + 10);
    writeSync(fd, new Uint8Array([f.data[aligned.from + 10] ^ 0xff]), 0, 1, aligned.from + 10);
    closeSync(fd);
    expect(reader.readPresent(r, within, 300_000, out)).toBeNull();
    expect(reader.readPresent(r, aligned.from, aligned.to - aligned.from, big)).toBeNull();
    progress.close();
  });

  test("names: the version is in the name, temp names carry the writer's pid", () => {
    const p = dataFilePath("/c/data", asContentId(-12), 5, 1000);
    const name = p.split("/").pop()!;
    expect(parseDataFileName(name)?.fileId).toBe(asContentId(-12));
    expect(dataFilePath("/c/data", asContentId(12), 5, 1000)).not.toBe(dataFilePath("/c/data", asContentId(12), 5, 1001));
    expect(dataTempWriterPid(dataFileTempPath("/c/data", asContentId(12), 5, 1000, 4242).split("/").pop()!)).toBe(4242);
  });
});
