import { expect, test } from "bun:test";
import { RetainedPieces } from "../../../src/cas/fetch/retained.ts";
import { findPiece, newFileFetch } from "../../../src/cas/fetch/fileFetch.ts";
import { LocalOrigin } from "../../../src/origins/localOrigin.ts";
import { asContentId, asOriginId } from "../../../src/core/ids.ts";

const origin = new LocalOrigin(asOriginId("test"), "/nonexistent");
const ff = (id: number) => newFileFetch({ fileId: asContentId(id), origin, realPath: `${id}.flac`, size: 1e9, mtimeMs: 0 });

test("pieces are kept up to the byte budget, oldest of any file let go first", () => {
  const pool = new RetainedPieces(300);
  const a = ff(1);
  const b = ff(2);
  pool.retain(a, 0, new Uint8Array(100));
  pool.retain(b, 0, new Uint8Array(100));
  pool.retain(a, 100, new Uint8Array(100));
  expect(findPiece(a.recent, 50)).toBeDefined();
  pool.retain(b, 100, new Uint8Array(100)); // 400 > 300: a's first piece goes
  expect(findPiece(a.recent, 50)).toBeUndefined();
  expect(findPiece(a.recent, 150)?.at).toBe(100);
  expect(b.recent.length).toBe(2);
});

test("a released file gives its pieces back: the budget is free for the others", () => {
  const pool = new RetainedPieces(200);
  const a = ff(1);
  const b = ff(2);
  pool.retain(a, 0, new Uint8Array(100));
  pool.retain(b, 0, new Uint8Array(100));
  pool.release(a);
  expect(a.recent).toEqual([]);
  pool.retain(b, 100, new Uint8Array(100));
  expect(b.recent.length).toBe(2); // nothing of b had to go
});
