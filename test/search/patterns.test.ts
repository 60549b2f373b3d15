import { afterAll, describe, expect, test } from "bun:test";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { walGrowthBytes, WAL_BOUND_BYTES } from "../../src/core/boundedWal.ts";
import { PatternStore } from "../../src/search/patternStore.ts";
import { PlayDetector } from "../../src/search/playDetector.ts";
import { tempDir } from "./helpers.ts";
import { asFileId } from "../../src/core/ids.ts";

const dir = tempDir();
afterAll(dir.cleanup);
const MIN = 60_000;
const DAY = 86_400_000;
const T0 = 1_700_000_000_000;

describe("PlayDetector", () => {
  test("chunked reads, seeks and header re-reads of one track are one play", () => {
    const d = new PlayDetector();
    const plays = [
      d.observe({ fileId: asFileId(1), offset: 0, size: 131072, atMs: T0 }),
      d.observe({ fileId: asFileId(1), offset: 131072, size: 131072, atMs: T0 + 2000 }),
      d.observe({ fileId: asFileId(1), offset: 9_000_000, size: 131072, atMs: T0 + 4000 }), // seek
      d.observe({ fileId: asFileId(1), offset: 0, size: 4096, atMs: T0 + 5000 }), // header again
    ];
    expect(plays.filter(Boolean)).toEqual([{ fileId: asFileId(1), atMs: T0 }]);
  });

  test("a tail-first reader starts a play at its first access, whatever the offset", () => {
    const d = new PlayDetector();
    expect(d.observe({ fileId: asFileId(2), offset: 30_000_000, size: 128, atMs: T0 })).toEqual({ fileId: asFileId(2), atMs: T0 });
    expect(d.observe({ fileId: asFileId(2), offset: 0, size: 65536, atMs: T0 + 10 })).toBeNull();
  });

  test("coming back after the session gap is a new play; so is a restart from 0 after a minute", () => {
    const d = new PlayDetector({ sessionGapMs: 30_000, replayAfterMs: 60_000 });
    expect(d.observe({ fileId: asFileId(1), offset: 0, size: 1, atMs: T0 })).not.toBeNull();
    expect(d.observe({ fileId: asFileId(1), offset: 500, size: 1, atMs: T0 + 29_000 })).toBeNull();
    expect(d.observe({ fileId: asFileId(1), offset: 500, size: 1, atMs: T0 + 29_000 + 30_000 })).not.toBeNull();
    // Repeat-one: reads never stop, but the file starts over at offset 0.
    const r = new PlayDetector({ sessionGapMs: 30_000, replayAfterMs: 60_000 });
    for (let t = 0; t < 200_000; t += 5000) r.observe({ fileId: asFileId(3), offset: t * 100 + 1, size: 1, atMs: T0 + t });
    expect(r.observe({ fileId: asFileId(3), offset: 0, size: 1, atMs: T0 + 200_000 })).toEqual({ fileId: asFileId(3), atMs: T0 + 200_000 });
  });

  test("memory stays bounded", () => {
    const d = new PlayDetector({ maxTracked: 100 });
    for (let i = 0; i < 1000; i++) d.observe({ fileId: asFileId(i), offset: 0, size: 1, atMs: T0 + i });
    expect(d.tracked).toBe(100);
  });
});

describe("PatternStore", () => {
  test("a successor is predicted only after two observations, best first", () => {
    const store = PatternStore.open(join(dir.path, "p1.db"), { nowMs: T0 });
    const seq = (ids: number[], start: number) => ids.forEach((id, i) => store.recordPlay(asFileId(id), start + i * 4 * MIN));
    seq([1, 2], T0);
    expect(store.predictNext(asFileId(1), 3, T0 + DAY)).toEqual([]); // one observation is not a pattern
    seq([1, 2], T0 + 1 * DAY);
    seq([1, 3], T0 + 2 * DAY);
    seq([1, 3], T0 + 3 * DAY);
    seq([1, 3], T0 + 4 * DAY);
    seq([1, 4], T0 + 5 * DAY);
    expect(store.predictNext(asFileId(1), 3, T0 + 6 * DAY)).toEqual([3, 2].map(asFileId));
    expect(store.predictNext(asFileId(1), 1, T0 + 6 * DAY)).toEqual([3].map(asFileId));
    expect(store.stats()).toMatchObject({ plays: 12, transitions: 6, distinctFiles: 4, lastPlayAt: T0 + 5 * DAY + 4 * MIN });
  });

  test("no transition across a long pause, from a file to itself, or backwards in time", () => {
    const store = PatternStore.open(join(dir.path, "p2.db"), { nowMs: T0 });
    store.recordPlay(asFileId(1), T0);
    store.recordPlay(asFileId(2), T0 + 31 * MIN); // pause longer than 30 min
    store.recordPlay(asFileId(2), T0 + 35 * MIN); // same file again
    store.recordPlay(asFileId(3), T0 + 30 * MIN); // clock went back
    expect(store.stats().transitions).toBe(0);
  });

  test("history older than 30 days stops predicting and is pruned", () => {
    const store = PatternStore.open(join(dir.path, "p3.db"), { nowMs: T0 });
    for (let k = 0; k < 3; k++) {
      store.recordPlay(asFileId(1), T0 + k * DAY);
      store.recordPlay(asFileId(2), T0 + k * DAY + 4 * MIN);
    }
    expect(store.predictNext(asFileId(1), 3, T0 + 10 * DAY)).toEqual([2].map(asFileId));
    expect(store.predictNext(asFileId(1), 3, T0 + 33 * DAY)).toEqual([]); // all observations older than 30 days
    store.prune(T0 + 33 * DAY);
    expect(store.stats()).toMatchObject({ plays: 0, transitions: 0 });
  });

  test("history survives a process killed with -9 (no close, no checkpoint)", async () => {
    const path = join(dir.path, "killed-patterns.db");
    const script = `
      import { PatternStore } from ${JSON.stringify(join(import.meta.dir, "../../src/search/patternStore.ts"))};
      const s = PatternStore.open(${JSON.stringify(path)}, { nowMs: ${T0} });
      for (let k = 0; k < 2; k++) { s.recordPlay(7, ${T0} + k * 1000000); s.recordPlay(8, ${T0} + k * 1000000 + 1000); }
      process.kill(process.pid, "SIGKILL");
    `;
    const proc = Bun.spawn([process.execPath, "-e", script]);
    await proc.exited;
    expect(proc.signalCode).toBe("SIGKILL");
    const store = PatternStore.open(path, { nowMs: T0 + DAY });
    expect(store.predictNext(asFileId(7), 3, T0 + DAY)).toEqual([8].map(asFileId));
    expect(store.stats().plays).toBe(4);
    store.close();
  });
});

describe("patterns.db on the cache's disk", () => {
  // Every play commits, and patterns.db sits beside the content cache: a WAL without a bound grew by 225 KB during
  // one listen through a small library on a 6 MiB cache disk and took the free-space reserve the evictor kept.
  test("its WAL stays within the bound whose remaining room the evictor keeps free, through 3000 plays", () => {
    const path = join(dir.path, "bounded.db");
    expect(walGrowthBytes(path)).toBe(WAL_BOUND_BYTES);
    const store = PatternStore.open(path, { nowMs: T0 });
    let largest = 0;
    for (let i = 0; i < 3000; i++) {
      store.recordPlay(asFileId(1 + (i % 40)), T0 + i * 1000);
      largest = Math.max(largest, statSync(`${path}-wal`).size);
    }
    expect(largest).toBeGreaterThan(0);
    expect(largest).toBeLessThanOrEqual(WAL_BOUND_BYTES);
    expect(walGrowthBytes(path)).toBe(WAL_BOUND_BYTES - statSync(`${path}-wal`).size);
    store.close();
  });

  test("musicfs status reads it after a clean shutdown without writing a file beside it (a full disk has no room)", () => {
    const path = join(dir.path, "closed.db");
    const store = PatternStore.open(path, { nowMs: T0 });
    store.recordPlay(asFileId(7), T0);
    store.close(); // checkpoints the WAL away, and its -shm
    const before = readdirSync(dir.path).filter((n) => n.startsWith("closed.db")).sort();
    const reader = PatternStore.openReadOnly(path);
    expect(reader.stats().plays).toBe(1);
    reader.close();
    expect(readdirSync(dir.path).filter((n) => n.startsWith("closed.db")).sort()).toEqual(before);
  });
});
