import { expect, test } from "bun:test";
import { bounded, ReadContext, withReadContext } from "../../../src/cas/fetch/readContext.ts";
import { FetchError } from "../../../src/cas/fetch/fetchError.ts";
import { LocalOrigin } from "../../../src/origins/localOrigin.ts";
import type { CachedFileRef } from "../../../src/cas/fetch/options.ts";
import { asContentId, asOriginId } from "../../../src/core/ids.ts";

const file: CachedFileRef = { fileId: asContentId(1), origin: new LocalOrigin(asOriginId("test"), "/nonexistent"), realPath: "a.flac", size: 10, mtimeMs: 0 };
const never = new Promise<Uint8Array>(() => {});

test("a read that outlives its deadline rejects with FetchError (EIO) naming the file", async () => {
  const err = await withReadContext(file, 20, undefined, () => never).catch((e) => e);
  expect(err).toBeInstanceOf(FetchError);
  expect((err as FetchError).reason).toBe("timeout");
  expect((err as FetchError).errno).toBe("EIO");
  expect((err as FetchError).message).toContain("a.flac");
});

test("an abort rejects at once, also when the signal was aborted before the read began", async () => {
  const ac = new AbortController();
  const p = withReadContext(file, 60_000, ac.signal, () => never).catch((e) => e);
  ac.abort();
  expect(((await p) as FetchError).reason).toBe("aborted");
  const pre = await withReadContext(file, 60_000, ac.signal, async (ctx) => {
    ctx.check();
    return new Uint8Array(1);
  }).catch((e) => e);
  expect((pre as FetchError).reason).toBe("aborted");
});

test("errors that trying again cannot change become FetchErrors of kind origin at once; answers pass through", async () => {
  let calls = 0;
  const err = await withReadContext(file, 60_000, undefined, async () => {
    calls++;
    throw Object.assign(new Error("access denied"), { code: "AccessDenied" });
  }).catch((e) => e);
  expect((err as FetchError).reason).toBe("origin");
  expect((err as FetchError).message).toContain("access denied");
  expect(calls).toBe(1);
  expect(await withReadContext(file, 60_000, undefined, async () => new Uint8Array([7]))).toEqual(new Uint8Array([7]));
});

test("a network drop is ridden out: refused and reset connections are tried again until the read succeeds", async () => {
  let calls = 0;
  const bytes = await withReadContext(file, 60_000, undefined, async () => {
    if (++calls === 1) throw Object.assign(new Error("refused"), { code: "ConnectionRefused" });
    if (calls === 2) throw new FetchError("origin", "reset", { cause: Object.assign(new Error("reset"), { code: "ECONNRESET" }) });
    if (calls === 3) throw new FetchError("timeout", "the origin did not answer within its bound");
    return new Uint8Array([1, 2]);
  });
  expect(bytes).toEqual(new Uint8Array([1, 2]));
  expect(calls).toBe(4);
});

test("an outage longer than the deadline: EIO at the deadline, not before, naming the last error", async () => {
  const t0 = performance.now();
  const err = await withReadContext(file, 400, undefined, async () => {
    throw Object.assign(new Error("connection refused"), { code: "ConnectionRefused" });
  }).catch((e) => e);
  expect(performance.now() - t0).toBeGreaterThanOrEqual(399); // a lower bound only
  expect((err as FetchError).reason).toBe("timeout");
  expect((err as FetchError).message).toContain("timed out after 400 ms (last error: connection refused)");
});

test("bounded: a wait is cut off by cancellation, and forgets its cleanup when it settles", async () => {
  const ctx = new ReadContext();
  const waiting = bounded(never, ctx).catch((e) => e);
  ctx.cancel(new FetchError("timeout", "too late"));
  expect(((await waiting) as FetchError).message).toBe("too late");
  const ok = new ReadContext();
  expect(await bounded(Promise.resolve(3), ok)).toBe(3);
  expect(() => bounded(Promise.resolve(1), ctx)).toThrow("too late"); // already cancelled: refuses at once
});
