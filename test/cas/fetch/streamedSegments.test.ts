/**
 * The whole-file fetch's streamed requests against a real local origin, through the fault-injecting wrapper (which
 * counts what passed and injects stalls and failures; the bytes are the real file's).
 */
import { afterEach, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { FetchError } from "../../../src/cas/fetch/fetchError.ts";
import { StreamedSegments, type StreamedSegmentsParams } from "../../../src/cas/fetch/streamedSegments.ts";
import type { StreamOptions } from "../../../src/origins/origin.ts";
import { fileRef, makeOrigin, removeDir, tempDir } from "../helpers.ts";
import { pseudoRandomBytes } from "../testData.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const REQUESTS = { initialBytes: 256 * KiB, maxRequestBytes: 64 * MiB, blockBytes: 32 * KiB };

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) removeDir(d);
  dirs = [];
});

/** A file on a local origin, its ref, and a log of the streams asked for (range, and how many were open at once). */
function setup(data: Uint8Array) {
  const root = tempDir();
  dirs.push(root);
  const origin = makeOrigin(root, { "a.flac": data });
  const file = fileRef(origin, root, "a.flac", 1);
  const streams: { from: number; to: number }[] = [];
  let open = 0;
  let mostOpen = 0;
  const stream = origin.stream.bind(origin);
  origin.stream = (path: string, offset: number, chunk?: number, opts?: StreamOptions) => {
    const range = { from: offset, to: opts?.end ?? data.length };
    streams.push(range);
    const inner = stream(path, offset, chunk, opts);
    // Open from the call until its last byte is yielded (or it ends otherwise).
    return (async function* () {
      mostOpen = Math.max(mostOpen, ++open);
      let left = range.to - range.from;
      let closed = false;
      const close = () => (closed ? undefined : ((closed = true), open--));
      try {
        for await (const piece of inner) {
          left -= piece.length;
          if (left <= 0) close();
          yield piece;
        }
      } finally {
        close();
      }
    })();
  };
  const params = (extra: Partial<StreamedSegmentsParams> = {}): StreamedSegmentsParams => ({
    file, from: 0, earnedBytes: 0, requests: REQUESTS, pieceBytes: 1 * MiB, timeoutMs: 30_000, ...extra,
  });
  return { origin, file, streams, mostOpen: () => mostOpen, params, root };
}

async function takeAll(s: StreamedSegments): Promise<{ at: number; length: number; bytes: Uint8Array }[]> {
  const out = [];
  for (let p; (p = await s.next()); ) out.push({ at: p.at, length: p.bytes.length, bytes: p.bytes });
  return out;
}

test("the file in order, every byte once, in streams that start small and double, at most two open at once", async () => {
  const data = pseudoRandomBytes(20 * MiB + 12345, 1);
  const { origin, streams, mostOpen, params } = setup(data);
  const s = new StreamedSegments(params());
  const pieces = await takeAll(s);
  expect(Buffer.concat(pieces.map((p) => p.bytes))).toEqual(Buffer.from(data));
  let at = 0;
  for (const p of pieces) {
    expect(p.at).toBe(at); // in file order, no gap
    expect(p.length).toBeLessThanOrEqual(1 * MiB);
    at += p.length;
  }
  expect(origin.counts.bytesRead).toBe(data.length);
  expect(streams.map((r) => r.to - r.from)).toEqual([256 * KiB, 512 * KiB, 1 * MiB, 2 * MiB, 4 * MiB, 8 * MiB, data.length - 15.75 * MiB]);
  expect(s.requests).toBe(7);
  expect(origin.counts.read).toBe(0); // no ranged reads
  expect(mostOpen()).toBeLessThanOrEqual(2);
  expect(mostOpen()).toBe(2); // the next request overlaps the current one
});

test("a fetch resumed mid-file opens with the window the reads had earned; blocks already fetched are taken, not fetched", async () => {
  const data = pseudoRandomBytes(6 * MiB, 2);
  const { origin, streams, params } = setup(data);
  const knownTo = 2 * MiB; // the reads that led to playback brought the first 2 MiB
  const asked: [number, number][] = [];
  const s = new StreamedSegments(
    params({
      earnedBytes: 1 * MiB,
      known: {
        knownUntil: (from, limit) => (from < knownTo ? Math.min(knownTo, limit) : from),
        pieces: async (from, to) => (asked.push([from, to]), [data.slice(from, to)]),
      },
    }),
  );
  const pieces = await takeAll(s);
  expect(Buffer.concat(pieces.map((p) => p.bytes))).toEqual(Buffer.from(data));
  expect(asked).toEqual([[0, 1 * MiB], [1 * MiB, 2 * MiB]]); // at most a piece at a time
  expect(streams).toEqual([{ from: 2 * MiB, to: 3 * MiB }, { from: 3 * MiB, to: 5 * MiB }, { from: 5 * MiB, to: 6 * MiB }]);
  expect(origin.counts.bytesRead).toBe(data.length - knownTo);

  const resumed = new StreamedSegments(params({ from: 3 * MiB + 1000 }));
  const rest = await takeAll(resumed);
  expect(Buffer.concat(rest.map((p) => p.bytes))).toEqual(Buffer.from(data.subarray(3 * MiB + 1000)));
  expect(streams[3]).toEqual({ from: 3 * MiB + 1000, to: 3 * MiB + 288 * KiB }); // to the next block boundary
});

test("cancelled, no more pieces come and the streams stop reading the file", async () => {
  const data = pseudoRandomBytes(32 * MiB, 3);
  const { origin, params } = setup(data);
  const s = new StreamedSegments(params());
  for (let i = 0; i < 3; i++) expect(await s.next()).not.toBeNull();
  s.cancel();
  const e = await s.next().catch((x) => x);
  expect(e).toBeInstanceOf(FetchError);
  expect((e as FetchError).reason).toBe("aborted");
  // What was taken (1.75 MiB) plus at most a piece of each open stream: far from the whole file.
  expect(origin.counts.bytesRead).toBeLessThan(4 * MiB);
});

test("a stalled stream fails with a timeout, and the stream is let go", async () => {
  const data = pseudoRandomBytes(4 * MiB, 4);
  const { origin, params } = setup(data);
  const s = new StreamedSegments(params({ timeoutMs: 300 }));
  expect((await s.next())?.at).toBe(0);
  origin.setMode({ kind: "offline", behaviour: "hang" }); // the next piece never comes
  const e = await s.next().catch((x) => x);
  expect(e).toBeInstanceOf(FetchError);
  expect((e as FetchError).reason).toBe("timeout");
  origin.setMode({ kind: "healthy" });
  const again = await s.next().catch((x) => x); // stopped: it does not go on from where it was
  expect(again).toBeInstanceOf(FetchError);
});

test("an origin failure mid-stream is passed on; a file shorter on the origin than recorded is a change", async () => {
  const data = pseudoRandomBytes(3 * MiB, 5);
  const { origin, file, params, root } = setup(data);
  origin.setMode({ kind: "failAfter", n: 2 });
  await expect(takeAll(new StreamedSegments(params()))).rejects.toThrow(/injected failure/);
  origin.setMode({ kind: "healthy" });

  writeFileSync(join(root, "a.flac"), data.subarray(0, 2 * MiB)); // the recorded size is still 3 MiB
  const e = await takeAll(new StreamedSegments(params({ file }))).catch((x) => x);
  expect(e).toBeInstanceOf(FetchError);
  expect((e as FetchError).reason).toBe("changed");
});
