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
const REQUESTS = { initialBytes: 256 * KiB, maxRequestBytes: 64 * MiB, blockBytes: 32 * KiB, pieceBytes: 1 * MiB };

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
    file, from: 0, earnedBytes: 0, requests: REQUESTS, pieceBytes: 1 * MiB, timeoutMs: 30_000, mode: "ranged", windowBytes: 8 * MiB,
    ...extra,
  });
  return { origin, file, streams, mostOpen: () => mostOpen, params, root };
}

async function takeAll(s: StreamedSegments): Promise<{ at: number; length: number; bytes: Uint8Array }[]> {
  const out = [];
  for (let p; (p = await s.next()); ) out.push({ at: p.at, length: p.bytes.length, bytes: p.bytes });
  return out;
}

for (const mode of ["ranged", "stream"] as const) {
  test(`${mode}: the file in order, every byte once, in requests that start small and double; the first one alone`, async () => {
    const data = pseudoRandomBytes(20 * MiB + 12345, 1);
    const { origin, streams, mostOpen, params } = setup(data);
    const sizes: number[] = [];
    const read = origin.read.bind(origin);
    origin.read = (path, offset, length, opts) => (sizes.push(length), read(path, offset, length, opts));
    const s = new StreamedSegments(params({ mode, requests: { ...REQUESTS, maxRequestBytes: 4 * MiB } }));
    const first = await s.next();
    expect(s.requests).toBe(1); // whoever waits for the first bytes waits for one short request
    const pieces = [{ at: first!.at, length: first!.bytes.length, bytes: first!.bytes }, ...(await takeAll(s))];
    expect(Buffer.concat(pieces.map((p) => p.bytes))).toEqual(Buffer.from(data));
    let at = 0;
    for (const p of pieces) {
      expect(p.at).toBe(at); // in file order, no gap
      expect(p.length).toBeLessThanOrEqual(1 * MiB);
      at += p.length;
    }
    expect(pieces.slice(2).every((p) => p.at % MiB === 0)).toBe(true); // a player's aligned 1 MiB reads: one piece each
    expect(origin.counts.bytesRead).toBe(data.length);
    // Doubling up to the bound; each ends on a multiple of its size up to a piece, so from the third on they start on
    // a 1 MiB boundary.
    const expected = [256 * KiB, 768 * KiB, 2 * MiB, 4 * MiB, 4 * MiB, 4 * MiB, 4 * MiB, data.length - 19 * MiB];
    if (mode === "ranged") {
      expect(sizes).toEqual(expected);
      expect(origin.counts.streamCalls).toBe(0);
    } else {
      expect(streams.map((r) => r.to - r.from)).toEqual(expected);
      expect(origin.counts.read).toBe(0);
      expect(mostOpen()).toBeLessThanOrEqual(4); // within the 8 MiB window
    }
    expect(s.requests).toBe(expected.length);
  });
}

test("a fetch resumed mid-file opens with the window the reads had earned; blocks already fetched are taken, not fetched", async () => {
  const data = pseudoRandomBytes(6 * MiB, 2);
  const { origin, streams, params } = setup(data);
  const knownTo = 2 * MiB; // the reads that led to playback brought the first 2 MiB
  const asked: [number, number][] = [];
  const s = new StreamedSegments(
    params({
      mode: "stream",
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

  const resumed = new StreamedSegments(params({ mode: "stream", from: 3 * MiB + 1000 }));
  const rest = await takeAll(resumed);
  expect(Buffer.concat(rest.map((p) => p.bytes))).toEqual(Buffer.from(data.subarray(3 * MiB + 1000)));
  expect(streams[3]).toEqual({ from: 3 * MiB + 1000, to: 3 * MiB + 512 * KiB }); // 256 KiB, to a multiple of it
});

test("cancelled, no more pieces come and the streams stop reading the file", async () => {
  const data = pseudoRandomBytes(32 * MiB, 3);
  const { origin, params } = setup(data);
  const s = new StreamedSegments(params({ mode: "stream" }));
  for (let i = 0; i < 3; i++) expect(await s.next()).not.toBeNull();
  s.cancel();
  const e = await s.next().catch((x) => x);
  expect(e).toBeInstanceOf(FetchError);
  expect((e as FetchError).reason).toBe("aborted");
  // What was taken (2 MiB) plus at most a piece of each open stream (within the 8 MiB window): far from the file.
  expect(origin.counts.bytesRead).toBeLessThan(8 * MiB);
});

for (const mode of ["ranged", "stream"] as const) {
  test(`${mode}: a stalled request fails with a timeout, and everything stops`, async () => {
    const data = pseudoRandomBytes(4 * MiB, 4);
    const { origin, params } = setup(data);
    const s = new StreamedSegments(params({ mode, timeoutMs: 300 }));
    expect((await s.next())?.at).toBe(0);
    origin.setMode({ kind: "offline", behaviour: "hang" }); // the next request or piece never comes
    const e = await takeAll(s).catch((x) => x);
    expect(e).toBeInstanceOf(FetchError);
    expect((e as FetchError).reason).toBe("timeout");
    origin.setMode({ kind: "healthy" });
    const again = await s.next().catch((x) => x); // stopped: it does not go on from where it was
    expect(again).toBeInstanceOf(FetchError);
  });

  test(`${mode}: an origin failure is passed on; a file shorter on the origin than recorded is a change`, async () => {
    const data = pseudoRandomBytes(3 * MiB, 5);
    const { origin, file, params, root } = setup(data);
    origin.setMode({ kind: "failAfter", n: 2 });
    await expect(takeAll(new StreamedSegments(params({ mode })))).rejects.toThrow(/injected failure/);
    origin.setMode({ kind: "healthy" });

    writeFileSync(join(root, "a.flac"), data.subarray(0, 2 * MiB)); // the recorded size is still 3 MiB
    const e = await takeAll(new StreamedSegments(params({ mode, file }))).catch((x) => x);
    expect(e).toBeInstanceOf(FetchError);
    expect((e as FetchError).reason).toBe("changed");
  });
}
