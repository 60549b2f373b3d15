/**
 * The delta sync of a live mount gives way to the mount's traffic (src/app/sync/foregroundPacer.ts). A fake clock: the
 * pacer's sleeps advance it, and "traffic" is a request count that grows while the clock runs.
 */
import { describe, expect, test } from "bun:test";
import { foregroundPacer } from "../../../src/app/sync/foregroundPacer.ts";

function world(trafficUntilMs: number) {
  let clock = 0;
  const sleeps: number[] = [];
  // One request per elapsed millisecond until trafficUntilMs, then none.
  const requests = () => Math.min(clock, trafficUntilMs);
  const pacer = foregroundPacer({
    requests, quietMs: 100, maxWaitMs: 500, now: () => clock,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
    },
  });
  return { pacer, sleeps, advance: (ms: number) => (clock += ms), now: () => clock };
}

describe("foregroundPacer", () => {
  test("an idle mount: background work goes on without waiting", async () => {
    const w = world(0);
    w.advance(1000);
    for (let i = 0; i < 100; i++) await w.pacer();
    expect(w.sleeps).toEqual([]);
  });

  test("a mount that has just become ready counts as busy: the first step waits for quietMs even before any request", async () => {
    const w = world(0); // no traffic at all
    await w.pacer(); // at once: the pacer was made as the mount became ready (the start-up sync's first listing)
    expect(w.now()).toBeGreaterThanOrEqual(100);
    expect(w.now()).toBeLessThan(200);
    const slept = w.sleeps.length;
    await w.pacer(); // quiet since: no more waiting
    expect(w.sleeps.length).toBe(slept);
  });

  test("while requests arrive it waits, and resumes once the mount has been quiet for quietMs", async () => {
    const w = world(300); // traffic for the first 300 ms
    w.advance(50);
    await w.pacer(); // requests seen: wait until 100 ms after the last one
    expect(w.now()).toBeGreaterThanOrEqual(400);
    expect(w.now()).toBeLessThan(550);
    const waitedBefore = w.sleeps.length;
    await w.pacer(); // quiet now: no more waiting
    expect(w.sleeps.length).toBe(waitedBefore);
  });

  test("under endless traffic each step waits at most maxWaitMs, so the work still finishes", async () => {
    const w = world(Infinity);
    w.advance(10);
    const start = w.now();
    for (let i = 0; i < 4; i++) await w.pacer();
    expect(w.now() - start).toBeGreaterThanOrEqual(4 * 500);
    expect(w.now() - start).toBeLessThan(4 * 500 + 4 * 100);
  });
});
