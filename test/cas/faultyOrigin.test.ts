import { afterEach, describe, expect, test } from "bun:test";
import { FaultyOrigin, InjectedFaultError } from "../../src/origins/faultyOrigin.ts";
import { makeOrigin, removeDir, tempDir } from "./helpers.ts";
import { pseudoRandomBytes } from "./testData.ts";

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) removeDir(d);
  dirs = [];
});

function origin(): { o: FaultyOrigin; data: Uint8Array; root: string } {
  const root = tempDir();
  dirs.push(root);
  const data = pseudoRandomBytes(100_000, 1);
  return { o: makeOrigin(root, { "f.flac": data }), data, root };
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<number[]> {
  const sizes: number[] = [];
  for await (const p of it) sizes.push(p.length);
  return sizes;
}

describe("FaultyOrigin", () => {
  test("healthy: passes through and counts calls and bytes", async () => {
    const { o, data } = origin();
    expect(await o.read("f.flac", 10, 20)).toEqual(data.subarray(10, 30));
    expect(await collect(o.stream("f.flac", 0, 40_000))).toEqual([40_000, 40_000, 20_000]);
    expect(o.counts).toMatchObject({ read: 1, streamCalls: 1, streamPieces: 3, bytesRead: 100_020 });
  });

  test("failEveryNth and failAfter", async () => {
    const { o } = origin();
    o.setMode({ kind: "failEveryNth", n: 3 });
    const results = await Promise.all([1, 2, 3, 4, 5, 6].map(() => o.stat("f.flac").then(() => "ok", () => "fail")));
    expect(results).toEqual(["ok", "ok", "fail", "ok", "ok", "fail"]);
    o.setMode({ kind: "failAfter", n: 2 });
    expect(await o.read("f.flac", 0, 1).then(() => "ok")).toBe("ok");
    expect(await o.read("f.flac", 0, 1).then(() => "ok")).toBe("ok");
    expect(await o.read("f.flac", 0, 1).catch((e) => e)).toBeInstanceOf(InjectedFaultError);
    expect(o.counts.injectedFailures).toBe(3);
  });

  test("delay, partial reads", async () => {
    const { o } = origin();
    o.setMode({ kind: "delay", ms: 50 });
    const t0 = performance.now();
    await o.stat("f.flac");
    expect(performance.now() - t0).toBeGreaterThanOrEqual(45); // a lower bound: a loaded machine only adds to it
    o.setMode({ kind: "partial", maxBytes: 1000 });
    expect((await o.read("f.flac", 0, 5000)).length).toBe(1000);
    expect(await collect(o.stream("f.flac", 97_500, 40_000))).toEqual([1000, 1000, 500]);
  });

  test("offline: fail at once, or hang until switched back", async () => {
    const { o, data, root } = origin();
    o.setMode({ kind: "offline", behaviour: "fail" });
    expect(await o.isAvailable()).toBe(false);
    expect(await o.read("f.flac", 0, 1).catch((e) => e)).toBeInstanceOf(InjectedFaultError);
    o.setMode({ kind: "offline", behaviour: "hang" });
    let settled = false;
    const p = o.read("f.flac", 0, 4).then((b) => ((settled = true), b));
    // The same read through a healthy wrapper of the same folder, twenty times over, all started after the hanging
    // one: had that one not hung, it would have finished long before them. It has not, and read nothing.
    const control = makeOrigin(root);
    for (let i = 0; i < 20; i++) expect(await control.read("f.flac", 0, 4)).toEqual(data.subarray(0, 4));
    expect(settled).toBe(false);
    expect(o.counts.bytesRead).toBe(0);
    expect(await o.isAvailable()).toBe(false);
    // Switched back: the hanging read is answered, with the right bytes.
    o.setMode({ kind: "healthy" });
    expect(await p).toEqual(data.subarray(0, 4));
    expect(o.counts.bytesRead).toBe(4);
    // Switched to failing instead: a hanging read fails with the injected error.
    o.setMode({ kind: "offline", behaviour: "hang" });
    const q = o.read("f.flac", 0, 4).catch((e) => e);
    o.setMode({ kind: "offline", behaviour: "fail" });
    expect(await q).toBeInstanceOf(InjectedFaultError);
  });
});
