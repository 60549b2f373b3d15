import { describe, expect, test } from "bun:test";
import { Prefetcher, type PrefetcherDeps } from "../../src/search/prefetcher.ts";
import { eventually } from "../support/eventually.ts";
import { asFileId } from "../../src/core/ids.ts";

/** A fake fetch whose calls stay pending until the test settles them, recording concurrency as it goes. */
function controllableFetch() {
  const pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  const started: number[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const fetchWhole = (id: number, signal: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      started.push(id);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const done = () => inFlight--;
      pending.set(id, {
        resolve: () => (done(), resolve()),
        reject: (e) => (done(), reject(e)),
      });
      signal.addEventListener("abort", () => (done(), reject(new Error("aborted"))));
    });
  return {
    fetchWhole,
    started,
    get maxInFlight() {
      return maxInFlight;
    },
    finish(id: number, error?: Error) {
      const p = pending.get(id)!;
      pending.delete(id);
      error ? p.reject(error) : p.resolve();
    },
  };
}

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));
/** Waits (polling every 5 ms, not for a fixed time) until `n` fetches have started. */
const startedCount = (f: { started: number[] }, n: number) => eventually(() => f.started.length, (len) => len >= n, 45_000, 5);

function prefetcher(over: Partial<PrefetcherDeps> & Pick<PrefetcherDeps, "fetchWhole">) {
  return new Prefetcher({
    predictNext: (id, n) => [id + 1, id + 2, id + 3].map(asFileId).slice(0, n),
    isCached: () => false,
    foregroundBusy: () => false,
    pollMs: 5,
    ...over,
  });
}

describe("Prefetcher", () => {
  test("never more fetches in flight than the bound, and the queue drains as fetches finish", async () => {
    const f = controllableFetch();
    const p = prefetcher({ fetchWhole: f.fetchWhole, maxConcurrent: 2 });
    p.onPlay(asFileId(10)); // predicts 11, 12, 13
    p.onPlay(asFileId(20)); // predicts 21, 22, 23
    await tick();
    expect(f.started).toEqual([11, 12]);
    expect(p.stats()).toMatchObject({ inFlight: 2, queued: 4 });
    f.finish(11);
    await tick();
    expect(f.started).toEqual([11, 12, 13]);
    f.finish(12, new Error("network down"));
    f.finish(13);
    await tick();
    for (const id of [21, 22, 23]) {
      await tick();
      f.finish(id);
    }
    await tick();
    expect(f.started).toEqual([11, 12, 13, 21, 22, 23]);
    expect(f.maxInFlight).toBe(2);
    expect(p.stats()).toMatchObject({ inFlight: 0, queued: 0, completed: 5, failed: 1, predicted: 6 });
  });

  test("no fetch starts while foreground reads are busy; they start once it is quiet", async () => {
    const f = controllableFetch();
    let busy = true;
    const p = prefetcher({ fetchWhole: f.fetchWhole, foregroundBusy: () => busy });
    p.onPlay(asFileId(1));
    await tick(30);
    expect(f.started).toEqual([]);
    expect(p.stats().queued).toBe(3);
    busy = false;
    await startedCount(f, 2);
    expect(f.started).toEqual([2, 3]);
    busy = true; // a foreground read arrives: the third waits even though a slot frees up
    f.finish(2);
    await tick(30);
    expect(f.started).toEqual([2, 3]);
    busy = false;
    await startedCount(f, 3);
    expect(f.started).toEqual([2, 3, 4]);
    await p.stop();
  });

  test("cached files, duplicates and self-predictions are not fetched; hits count predicted plays", async () => {
    const f = controllableFetch();
    const p = prefetcher({
      fetchWhole: f.fetchWhole,
      maxConcurrent: 5,
      isCached: (id) => id === 3,
      predictNext: (id) => (id === 1 ? [1, 2, 3, 4] : [2]).map(asFileId),
    });
    p.onPlay(asFileId(1));
    p.onPlay(asFileId(9)); // predicts 2 again: already in flight
    await tick();
    expect(f.started).toEqual([2, 4]);
    p.onPlay(asFileId(3)); // predicted (though cached): a hit
    p.onPlay(asFileId(2)); // predicted: a hit
    p.onPlay(asFileId(50)); // not predicted
    expect(p.stats()).toMatchObject({ hits: 2 });
    await p.stop();
  });

  test("the queue is bounded, dropping the oldest predictions", async () => {
    const f = controllableFetch();
    const p = prefetcher({ fetchWhole: f.fetchWhole, maxConcurrent: 1, maxQueued: 4 });
    for (const id of [100, 200, 300]) p.onPlay(asFileId(id));
    await tick();
    expect(f.started).toEqual([101]);
    expect(p.stats().queued).toBe(4);
    f.finish(101);
    await tick();
    // 102 left the queue when 101 started; 103, 201 and 202 were dropped to make room for 301-303.
    expect(f.started).toEqual([101, 203]);
    await p.stop();
  });

  test("stop() aborts in-flight fetches, waits for them, and ignores later plays", async () => {
    const f = controllableFetch();
    const p = prefetcher({ fetchWhole: f.fetchWhole });
    p.onPlay(asFileId(1));
    await tick();
    expect(p.stats().inFlight).toBe(2);
    await p.stop();
    expect(p.stats()).toMatchObject({ inFlight: 0, queued: 0, failed: 0 });
    p.onPlay(asFileId(10));
    await tick();
    expect(f.started).toEqual([2, 3]);
  });

  test("a fetch that throws synchronously is counted and does not wedge the slot", async () => {
    let calls = 0;
    const p = prefetcher({
      maxConcurrent: 1,
      fetchWhole: () => {
        calls++;
        throw new Error("bad origin");
      },
    });
    p.onPlay(asFileId(1));
    await eventually(() => calls, (n) => n >= 3, 45_000, 5);
    await tick(30); // and no fourth: only three were predicted
    expect(calls).toBe(3);
    expect(p.stats()).toMatchObject({ inFlight: 0, failed: 3 });
  });

  test("gapless: a track read past half fetches the next track of its folder first, unless the patterns predict another", async () => {
    const f = controllableFetch();
    const nextInFolder = (id: number) => (id < 5 ? asFileId(id + 1) : null);
    // No patterns yet: the folder's next track is fetched.
    const fresh = prefetcher({ fetchWhole: f.fetchWhole, predictNext: () => [], nextInFolder, maxConcurrent: 1 });
    fresh.onHalfway(asFileId(3));
    await tick();
    expect(f.started).toEqual([4]);
    expect(fresh.stats().gapless).toBe(1);
    fresh.onHalfway(asFileId(3)); // again (another READ across the middle): nothing more
    fresh.onHalfway(asFileId(5)); // the last track of its folder: nothing to fetch
    await tick();
    expect(f.started).toEqual([4]);
    await fresh.stop();

    // Patterns predict track 9 after 3 (a shuffle, a playlist): their prediction stands, the folder's next is not fetched.
    const g = controllableFetch();
    const other = prefetcher({ fetchWhole: g.fetchWhole, predictNext: (id) => (id === 3 ? [9] : []).map(asFileId), nextInFolder, maxConcurrent: 1 });
    other.onHalfway(asFileId(3));
    await tick();
    expect(g.started).toEqual([]);
    await other.stop();

    // Patterns agree with the folder, or a fetch is queued behind others: the next track jumps the queue; cached: nothing.
    const h = controllableFetch();
    const cached = new Set([2]);
    const busy = prefetcher({ fetchWhole: h.fetchWhole, predictNext: (id, n) => [id + 1, 40, 41].map(asFileId).slice(0, n), nextInFolder, isCached: (id) => cached.has(id), maxConcurrent: 1 });
    busy.onPlay(asFileId(30)); // 31 starts, 40 and 41 queue
    busy.onHalfway(asFileId(3)); // 4 goes before 40 and 41
    busy.onHalfway(asFileId(1)); // 2 is cached
    await tick();
    h.finish(31);
    await tick();
    expect(h.started).toEqual([31, 4]);
    await busy.stop();
  });

  test("gapless chain: opening a next track fetched ahead fetches the one after it; other opens do not", async () => {
    const f = controllableFetch();
    const cached = new Set<number>();
    const p = prefetcher({ fetchWhole: f.fetchWhole, predictNext: () => [], nextInFolder: (id) => (id < 5 ? asFileId(id + 1) : null), isCached: (id) => cached.has(id) });
    p.onOpen(asFileId(1)); // a plain open: nothing
    await tick();
    expect(f.started).toEqual([]);
    p.onHalfway(asFileId(1));
    await tick();
    expect(f.started).toEqual([2]);
    f.finish(2);
    cached.add(2);
    p.onOpen(asFileId(2)); // track 2 starts (read by the kernel, its halfway READ unseen): track 3 is fetched now
    await tick();
    expect(f.started).toEqual([2, 3]);
    p.onOpen(asFileId(2)); // once per chain link
    await tick();
    expect(f.started).toEqual([2, 3]);
    await p.stop();
  });
});
