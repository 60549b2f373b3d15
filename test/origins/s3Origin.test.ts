/**
 * S3Origin against a real Ceph RGW, through our fault proxy: listing, ranged and streamed reads, hostile keys,
 * retries of throttling and resets, timeouts, and errors that name the bucket without leaking the secret.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { S3Origin, S3OriginError } from "../../src/origins/s3Origin.ts";
import { S3Credentials } from "../../src/origins/s3Credentials.ts";
import type { OriginEntry } from "../../src/origins/origin.ts";
import { putObjects, rgwSkipReason, startRgw, type RgwCluster } from "../support/cephRgw.ts";
import { startFaultProxy, type FaultProxy } from "../support/faultProxy.ts";
import { eventually } from "../support/eventually.ts";
import { asOriginId } from "../../src/core/ids.ts";

const skip = rgwSkipReason !== null;
if (skip) console.warn(`skipping S3Origin tests: ${rgwSkipReason}`);

let rgw: RgwCluster;
let proxy: FaultProxy;
const BUCKET = "origin-tests";

function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) out[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  return out;
}

const HOSTILE = [
  "a b/c+d&e.flac", "Ünïcødé/東京 (live).mp3", "x/../escape.flac", "%41%2F.flac", "deep/a/b/c/1.flac", "deep/a/2.flac",
  "deep/z.flac", "top.flac", "deep live/1.flac", "deep.flac", "deep-/1.flac", "deep0/1.flac",
];
const BIG = bytes(3 * 1024 * 1024 + 17, 7);

function origin(opts: { secret?: string; bucket?: string; prefix?: string; timeoutMs?: number; attempts?: number; pageSize?: number; ranges?: number } = {}): S3Origin {
  return new S3Origin(asOriginId("t"), {
    location: { bucket: opts.bucket ?? BUCKET, prefix: opts.prefix ?? "lib/" },
    settings: {
      endpoint: proxy.endpoint, region: rgw.region, pathStyle: true, exposedFiles: [],
      credentials: new S3Credentials(rgw.accessKeyId, opts.secret ?? rgw.secretAccessKey, undefined, "the test"),
    },
    maxRequests: 8,
    requestTimeoutMs: opts.timeoutMs ?? 5000,
    retry: { attempts: opts.attempts ?? 4, baseDelayMs: 5, maxDelayMs: 50 },
    listPageSize: opts.pageSize ?? 3, // several pages even for a handful of keys
    listRanges: opts.ranges,
  });
}

async function walkAll(o: S3Origin): Promise<OriginEntry[][]> {
  const out: OriginEntry[][] = [];
  for await (const b of o.walk()) out.push(b);
  return out;
}

beforeAll(async () => {
  if (skip) return;
  rgw = await startRgw();
  proxy = startFaultProxy({ port: rgw.port });
  await rgw.createBucket(BUCKET);
  const client = rgw.client(BUCKET);
  await putObjects(client, [
    ...HOSTILE.map((k, i): [string, Uint8Array] => [`lib/${k}`, bytes(1000 + i, i)]),
    ["lib/big.flac", BIG],
    ["lib-other/outside.flac", bytes(10, 99)],
    ["outside.flac", bytes(10, 98)],
  ]);
}, 60_000);

afterAll(async () => {
  proxy?.stop();
  await rgw?.stop();
});

describe.skipIf(skip)("S3Origin on Ceph RGW", () => {
  test("the walk lists every object below the prefix once, one folder per batch, with size and ETag, no HEADs", async () => {
    const before = proxy.requests.length;
    const batches = await walkAll(origin());
    const paths = batches.flat().map((e) => e.realPath);
    expect(paths.sort()).toEqual([...HOSTILE, "big.flac"].sort());
    const dirs = batches.map((b) => b[0].realPath.slice(0, b[0].realPath.lastIndexOf("/") + 1));
    expect(new Set(dirs).size).toBe(dirs.length);
    const big = batches.flat().find((e) => e.realPath === "big.flac")!;
    expect(big.size).toBe(BIG.length);
    expect(big.etag).toBe(new Bun.CryptoHasher("md5").update(BIG).digest("hex"));
    expect(big.mtimeMs % 1000).toBe(0);
    const made = proxy.requests.slice(before);
    expect(made.every((r) => r.method === "GET" && r.path.includes("list-type=2"))).toBe(true);
    // One request for the top-level folders, then ranges of them listed side by side in pages of 3 keys: about as
    // many requests as one chain of pages (a range's last page may be partly the next range's keys).
    const pages = Math.ceil((HOSTILE.length + 1) / 3);
    expect(made.length).toBeGreaterThanOrEqual(1 + pages);
    expect(made.length).toBeLessThanOrEqual(1 + pages + 8);
  });

  test("key ranges listed side by side give the same entries, each once, one batch per folder", async () => {
    for (const [pageSize, ranges] of [[1000, 3], [2, 4], [1000, 32]]) {
      const batches = await walkAll(origin({ pageSize, ranges }));
      const paths = batches.flat().map((e) => e.realPath);
      expect(paths.sort()).toEqual([...HOSTILE, "big.flac"].sort());
      const dirs = batches.map((b) => b[0].realPath.slice(0, b[0].realPath.lastIndexOf("/") + 1));
      expect(new Set(dirs).size).toBe(dirs.length);
    }
  });

  test("hostile keys read back byte-exact; a `..` key stays an object below the prefix", async () => {
    const o = origin();
    for (const [i, k] of HOSTILE.entries()) expect(await o.read(k, 0, 5000)).toEqual(bytes(1000 + i, i));
    // "x/../escape.flac" is its own object, not "lib/escape.flac" or "escape.flac" outside the prefix.
    await expect(o.read("../outside.flac", 0, 10)).rejects.toThrow(/gone/);
  });

  test("ranged reads, reads at and past EOF, and a resumable stream from an offset", async () => {
    const o = origin();
    expect(await o.read("big.flac", 1_000_000, 4096)).toEqual(BIG.subarray(1_000_000, 1_004_096));
    expect(await o.read("big.flac", BIG.length - 10, 100)).toEqual(BIG.subarray(BIG.length - 10));
    expect((await o.read("big.flac", BIG.length, 100)).length).toBe(0);
    const parts: Uint8Array[] = [];
    for await (const p of o.stream("big.flac", 12345, 256 * 1024)) parts.push(p);
    expect(Buffer.concat(parts)).toEqual(Buffer.from(BIG.subarray(12345)));
    expect(await o.stat("big.flac")).toMatchObject({ size: BIG.length });
  });

  test("a stream asks for its range only; stopped early or aborted, its response body is cancelled (the connection closes)", async () => {
    const o = origin();
    // A range: one GET for exactly those bytes.
    const before = proxy.requests.length;
    const parts: Uint8Array[] = [];
    for await (const p of o.stream("big.flac", 1000, 64 * 1024, { end: 301_000 })) parts.push(p);
    expect(Buffer.concat(parts)).toEqual(Buffer.from(BIG.subarray(1000, 301_000)));
    expect(proxy.requests.slice(before).map((r) => r.range)).toEqual(["bytes=1000-300999"]);

    // Unread, Bun's client downloads a body to its end all the same (measured: 64 of 64 MiB), then keeps the
    // connection for the next request; cancelled, it closes it (measured: 9.6 MiB of 64 had arrived by then, at 0 ms
    // added RTT on a quiet machine). A bandwidth cap of the proxy cannot slow it instead: the proxy would deliver
    // what it queued after the close.
    const SIZE = 64 * 1024 * 1024;
    await rgw.client(BUCKET).write("lib/huge.flac", new Uint8Array(SIZE).fill(7));
    try {
      let closes = proxy.clientCloses;
      for await (const p of o.stream("huge.flac", 0, 256 * 1024)) {
        expect(p.length).toBe(256 * 1024);
        break; // the caller stops early (a skipped track)
      }
      await eventually(() => proxy.clientCloses, (n) => n > closes);

      closes = proxy.clientCloses;
      const abort = new AbortController();
      const it = o.stream("huge.flac", 0, 256 * 1024, { signal: abort.signal })[Symbol.asyncIterator]();
      expect((await it.next()).done).toBe(false);
      abort.abort();
      await expect(it.next()).rejects.toThrow(/stopped/);
      await eventually(() => proxy.clientCloses, (n) => n > closes);
    } finally {
      await rgw.client(BUCKET).delete("lib/huge.flac"); // the other tests list the bucket
    }
  });

  test("503 SlowDown and connection resets are retried with backoff and the bytes still arrive", async () => {
    const o = origin();
    proxy.inject("slowdown", 2, /big\.flac/);
    proxy.inject("reset", 1, /big\.flac/);
    expect(await o.read("big.flac", 0, 65536)).toEqual(BIG.subarray(0, 65536));
    expect(o.counts.retries).toBeGreaterThanOrEqual(2);
    proxy.inject("slowdown", 1, /list-type/);
    expect((await walkAll(o)).flat().length).toBe(HOSTILE.length + 1);
  });

  test("a stalled request times out (and is retried); persistent throttling gives up with a clear error", async () => {
    // A request timeout long enough that only the stalled request reaches it, however loaded the machine.
    const o = origin({ timeoutMs: 2000, attempts: 2 });
    proxy.inject("stall", 1, /top\.flac/);
    expect(await o.read("top.flac", 0, 10)).toEqual(bytes(1007, 7).subarray(0, 10));
    expect(o.counts.retries).toBe(1); // the stalled request timed out and the retry brought the bytes
    proxy.inject("slowdown", 2, /top\.flac/);
    const e = await o.read("top.flac", 0, 10).catch((x) => x);
    expect(e).toBeInstanceOf(S3OriginError);
    expect(e.message).toContain("s3://origin-tests/lib");
    expect(e.message).toContain("SlowDown");
  });

  test("4xx answers are not retried; wrong secret and missing bucket say what to check, never the secret", async () => {
    const wrong = origin({ secret: "not-the-secret-XYZ" });
    const before = proxy.requests.length;
    const e1 = await wrong.checkAccess().catch((x) => x);
    expect(proxy.requests.length - before).toBe(1);
    expect(e1.message).toContain("s3://origin-tests/lib");
    expect(e1.message).toContain("secret access key");
    expect(e1.message).not.toContain("not-the-secret-XYZ");
    const e2 = await origin({ bucket: "no-such-bucket" }).checkAccess().catch((x) => x);
    expect(e2.message).toContain("does not exist");
    expect(await wrong.isAvailable()).toBe(false);
    expect(await origin().isAvailable()).toBe(true);
    // Reads too: a wrong secret, a missing object (a ranged GET by a presigned URL: its error body is read for the code).
    const e3 = await wrong.read("top.flac", 0, 10).catch((x) => x);
    expect(e3).toBeInstanceOf(S3OriginError);
    expect(e3.message).toContain("secret access key");
    expect(e3.message).not.toContain("not-the-secret-XYZ");
    await expect(origin().read("no-such.flac", 0, 10)).rejects.toThrow(/gone/);
  });
});
