import { expect, test } from "bun:test";
import { SharedHeads, type OriginStat } from "../../../src/cas/fetch/sharedHeads.ts";
import { asOriginId } from "../../../src/core/ids.ts";

const file = { origin: { id: asOriginId("s3:bucket") }, realPath: "a/b.flac" };

/** A HEAD the test answers when it wants, counting how many were made. */
function heads() {
  const made: { resolve: (s: OriginStat) => void; reject: (e: unknown) => void }[] = [];
  const start = () => new Promise<OriginStat>((resolve, reject) => made.push({ resolve, reject }));
  return { made, start };
}

test("a second asker takes the HEAD in flight, and the answer while it is fresh; then a new HEAD", async () => {
  let now = 0;
  const shared = new SharedHeads(5_000, () => now);
  const h = heads();
  const a = shared.stat(file, h.start);
  const b = shared.stat(file, h.start);
  expect(h.made.length).toBe(1);
  h.made[0].resolve({ size: 10, mtimeMs: 1000 });
  expect(await a).toEqual({ size: 10, mtimeMs: 1000 });
  expect(await b).toEqual({ size: 10, mtimeMs: 1000 });
  now = 4_999;
  await shared.stat(file, h.start);
  expect(h.made.length).toBe(1);
  now = 5_000;
  const c = shared.stat(file, h.start);
  expect(h.made.length).toBe(2);
  h.made[1].resolve({ size: 11, mtimeMs: 2000 });
  expect(await c).toEqual({ size: 11, mtimeMs: 2000 });
});

test("a failed HEAD is not kept: the next asker makes a new one", async () => {
  const shared = new SharedHeads(5_000, () => 0);
  const h = heads();
  const a = shared.stat(file, h.start);
  h.made[0].reject(new Error("offline"));
  expect(await a.catch((e) => (e as Error).message)).toBe("offline");
  const b = shared.stat(file, h.start);
  expect(h.made.length).toBe(2);
  h.made[1].resolve({ size: 1, mtimeMs: 1 });
  expect(await b).toEqual({ size: 1, mtimeMs: 1 });
});

test("files are told apart by origin and path", () => {
  const shared = new SharedHeads(5_000, () => 0);
  const h = heads();
  void shared.stat(file, h.start);
  void shared.stat({ ...file, realPath: "a/c.flac" }, h.start);
  void shared.stat({ ...file, origin: { id: asOriginId("s3:other") } }, h.start);
  expect(h.made.length).toBe(3);
});
