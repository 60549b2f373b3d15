import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { restoreReserveAtStart } from "../../src/cas/reserveAtStart.ts";
import { tempDir } from "./helpers.ts";

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

const KiB = 1024;

/** A file of `bytes` bytes written `age` seconds ago. */
function put(path: string, bytes: number, age: number): string {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, new Uint8Array(bytes));
  const t = new Date(Date.now() - age * 1000);
  utimesSync(path, t, t);
  return path;
}

test("a full disk: cached content goes, oldest written first, chunks and data files alike, until the reserve is back", () => {
  const cache = tempDir();
  dirs.push(cache);
  const hex = (c: string) => c.repeat(64);
  const oldChunk = put(join(cache, "chunks/aa/aa", hex("a")), 100 * KiB, 500);
  const oldData = put(join(cache, "data/07", "7-0123456789abcdef"), 300 * KiB, 400);
  const partial = put(join(cache, "data/08", ".8-0123456789abcdef.partial"), 100 * KiB, 300);
  const newChunk = put(join(cache, "chunks/bb/bb", hex("b")), 100 * KiB, 10);
  const newData = put(join(cache, "data/09", "9-0123456789abcdef"), 300 * KiB, 5);
  // Not cached content: never deleted, however full the disk.
  const db = put(join(cache, "metadata.db"), 200 * KiB, 1000);
  const ledger = put(join(cache, "chunks/access.db"), 50 * KiB, 1000);
  // A 10 MiB file system with 0 bytes free, plus what was deleted; min_free 400 KiB (a sweep frees a tenth more).
  const files = [oldChunk, oldData, partial, newChunk, newData, db, ledger];
  const sizes = new Map(files.map((f) => [f, statSync(f).size]));
  const fsSpace = () => ({ freeBytes: files.filter((f) => !existsSync(f)).reduce((n, f) => n + sizes.get(f)!, 0), totalBytes: 10 * 1024 * KiB });
  const r = restoreReserveAtStart(cache, { bytes: 400 * KiB }, fsSpace);
  expect(r).toEqual({ files: 3, bytesFreed: 500 * KiB, stillShort: false, keptFiles: 0, keptBytes: 0, keptTakenFiles: 0, keptTakenBytes: 0 });
  for (const gone of [oldChunk, oldData, partial]) expect(existsSync(gone)).toBe(false);
  for (const kept of [newChunk, newData, db, ledger]) expect(existsSync(kept)).toBe(true);
  // Room enough now: nothing more goes.
  expect(restoreReserveAtStart(cache, { bytes: 400 * KiB }, fsSpace)).toEqual({ files: 0, bytesFreed: 0, stillShort: false, keptFiles: 0, keptBytes: 0, keptTakenFiles: 0, keptTakenBytes: 0 });
});

test("a disk full of other files: everything cached goes, and the mount is told it is still short", () => {
  const cache = tempDir();
  dirs.push(cache);
  put(join(cache, "chunks/cc/cc", "c".repeat(64)), 100 * KiB, 10);
  const r = restoreReserveAtStart(cache, { bytes: 1024 * KiB }, () => ({ freeBytes: 0, totalBytes: 100 * 1024 * KiB }));
  expect(r).toEqual({ files: 1, bytesFreed: 100 * KiB, stillShort: true, keptFiles: 0, keptBytes: 0, keptTakenFiles: 0, keptTakenBytes: 0 });
});

test("pinned files are spared (complete and partial), the next oldest go instead; what could not be freed is reported", () => {
  const cache = tempDir();
  dirs.push(cache);
  const pinnedOld = put(join(cache, "data/07", "7-0123456789abcdef"), 300 * KiB, 900);
  const pinnedPartial = put(join(cache, "data/08", ".8-0123456789abcdef.partial"), 100 * KiB, 800);
  const other = put(join(cache, "data/09", "9-0123456789abcdef"), 300 * KiB, 5);
  const files = [pinnedOld, pinnedPartial, other];
  const sizes = new Map(files.map((f) => [f, statSync(f).size]));
  // START_ROOM_BYTES (1 MiB) is there from the start: only the reserve is short.
  const fsSpace = () => ({ freeBytes: 1024 * KiB + files.filter((f) => !existsSync(f)).reduce((n, f) => n + sizes.get(f)!, 0), totalBytes: 100 * 1024 * KiB });
  const r = restoreReserveAtStart(cache, { bytes: 1224 * KiB }, fsSpace, new Set([7, 8]));
  expect(r).toEqual({ files: 1, bytesFreed: 300 * KiB, stillShort: false, keptFiles: 2, keptBytes: 400 * KiB, keptTakenFiles: 0, keptTakenBytes: 0 });
  expect(existsSync(pinnedOld) && existsSync(pinnedPartial)).toBe(true);
  expect(existsSync(other)).toBe(false);
  // More than the unpinned content can give: short, and the pinned bytes are what stayed.
  const short = restoreReserveAtStart(cache, { bytes: 4096 * KiB }, fsSpace, new Set([7, 8]));
  expect(short).toEqual({ files: 0, bytesFreed: 0, stillShort: true, keptFiles: 2, keptBytes: 400 * KiB, keptTakenFiles: 0, keptTakenBytes: 0 });
  expect(existsSync(pinnedOld) && existsSync(pinnedPartial)).toBe(true);
});

test("pins that could not be read: no data file goes (a pin is never broken on a guess), chunk files still do", () => {
  const cache = tempDir();
  dirs.push(cache);
  const chunk = put(join(cache, "chunks/aa/aa", "a".repeat(64)), 100 * KiB, 10);
  const data = put(join(cache, "data/07", "7-0123456789abcdef"), 300 * KiB, 900);
  const r = restoreReserveAtStart(cache, { bytes: 4096 * KiB }, () => ({ freeBytes: 1024 * KiB + (existsSync(chunk) ? 0 : 100 * KiB), totalBytes: 100 * 1024 * KiB }), "all");
  expect(r).toEqual({ files: 1, bytesFreed: 100 * KiB, stillShort: true, keptFiles: 1, keptBytes: 300 * KiB, keptTakenFiles: 0, keptTakenBytes: 0 });
  expect(existsSync(data)).toBe(true);
});

test("not even room to start (less than START_ROOM_BYTES free with only pinned files left): pinned files go too, oldest first, and that is reported", () => {
  const cache = tempDir();
  dirs.push(cache);
  const oldest = put(join(cache, "data/07", "7-0123456789abcdef"), 600 * KiB, 900);
  const newer = put(join(cache, "data/08", "8-0123456789abcdef"), 600 * KiB, 800);
  const newest = put(join(cache, "data/09", "9-0123456789abcdef"), 600 * KiB, 700);
  const files = [oldest, newer, newest];
  const fsSpace = () => ({ freeBytes: files.filter((f) => !existsSync(f)).length * 600 * KiB, totalBytes: 100 * 1024 * KiB });
  const r = restoreReserveAtStart(cache, { bytes: 4096 * KiB }, fsSpace, new Set([7, 8, 9]));
  expect(r).toEqual({ files: 2, bytesFreed: 1200 * KiB, stillShort: true, keptFiles: 1, keptBytes: 600 * KiB, keptTakenFiles: 2, keptTakenBytes: 1200 * KiB });
  expect([oldest, newer, newest].map((f) => existsSync(f))).toEqual([false, false, true]);
});
