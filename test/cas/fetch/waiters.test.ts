import { expect, test } from "bun:test";
import { deliver, rejectAll, waitFor, type Waiter } from "../../../src/cas/fetch/waiters.ts";
import { ReadContext } from "../../../src/cas/fetch/readContext.ts";
import { FetchError } from "../../../src/cas/fetch/fetchError.ts";

const bytes = (from: number, n: number) => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);

test("a read held by one piece is answered with a view of it (no copy)", async () => {
  const waiters = new Set<Waiter>();
  const p = waitFor(waiters, 100, 150, null, 100, new ReadContext());
  const piece = bytes(0, 1000);
  deliver(waiters, 0, piece);
  const got = await p;
  expect(got).toEqual(bytes(100, 50));
  expect(got.buffer).toBe(piece.buffer);
  expect(waiters.size).toBe(0);
});

test("a read spanning pieces is assembled as they go by, into the caller's buffer when given", async () => {
  const waiters = new Set<Waiter>();
  const out = new Uint8Array(300);
  const p = waitFor(waiters, 1100, 1300, out, 1000, new ReadContext()); // out holds file bytes from 1000
  deliver(waiters, 1000, bytes(1000, 150));
  expect(waiters.size).toBe(1);
  deliver(waiters, 1150, bytes(1150, 200));
  expect(await p).toBe(out);
  expect(out.subarray(100, 300)).toEqual(bytes(1100, 200));
});

test("a cancelled read leaves at once; rejectAll fails the others", async () => {
  const waiters = new Set<Waiter>();
  const ctx = new ReadContext();
  const cancelled = waitFor(waiters, 0, 10, null, 0, ctx).catch((e) => e);
  const other = waitFor(waiters, 0, 10, null, 0, new ReadContext()).catch((e) => e);
  ctx.cancel(new FetchError("aborted", "interrupted"));
  expect(((await cancelled) as FetchError).reason).toBe("aborted");
  expect(waiters.size).toBe(1);
  rejectAll(waiters, new FetchError("closed", "shutting down"));
  expect(((await other) as FetchError).reason).toBe("closed");
  expect(waiters.size).toBe(0);
});
