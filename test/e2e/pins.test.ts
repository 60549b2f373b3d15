/**
 * Issue 18 item 1 on real mounts of a bucket in Ceph RGW: pin an album and a collection, wait for them, then play
 * enough other music through a small cache cap to force eviction many times over — no pinned byte is evicted (not
 * one GET for a pinned file afterwards) and the cache stays under its cap at every sample; then with the gateway
 * stopped and the mount restarted, every pinned file plays byte-exact while an evicted unpinned file fails with EIO.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database as Sqlite } from "bun:sqlite";
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dataFilePath } from "../../src/cas/dataFilePaths.ts";
import { writeFlac } from "../../src/sample/flacWriter.ts";
import { silence } from "../../src/sample/tone.ts";
import { rgwSkipReason, startRgw, type RgwCluster } from "../support/cephRgw.ts";
import { sampleLibraryObjects, uploadLibrary } from "../support/sampleObjects.ts";
import { startFaultProxy, type FaultProxy } from "../support/faultProxy.ts";
import { eventually } from "../support/eventually.ts";
import { CLI, cleanupAll, run, startMount, tempDir } from "./harness.ts";
import { asContentId } from "../../src/core/ids.ts";

const skip = rgwSkipReason !== null;
if (skip) console.warn(`skipping pin tests: ${rgwSkipReason}`);

const BUCKET = "pins";
const MiB = 1024 * 1024;
const CAP = 3 * MiB;
/** Files of other albums, played to push the cache over its cap again and again. */
const OTHERS = 16;
let rgw: RgwCluster;
let proxy: FaultProxy;
/** key below lib/ → bytes, as uploaded. */
const objects = new Map<string, Uint8Array>();
const sha = (b: Uint8Array) => new Bun.CryptoHasher("sha256").update(b).digest("hex");

/** Two seconds of stereo noise: ~350 KB that neither FLAC nor the chunk store can make smaller. */
function noiseTrack(i: number): Uint8Array {
  const pcm = silence(2, 44100, 2);
  let x = 7919 * (i + 1);
  for (const ch of pcm.channels) for (let j = 0; j < ch.length; j++) ch[j] = ((x = (x * 1103515245 + 12345) >>> 0) >>> 16) - 32768;
  return writeFlac({ artists: ["Static Choir"], album: "Noise Floor", year: 2022, title: `Hiss ${i + 1}`, track: i + 1 }, pcm);
}

beforeAll(async () => {
  if (skip) return;
  rgw = await startRgw();
  proxy = startFaultProxy({ port: rgw.port });
  await rgw.createBucket(BUCKET);
  for (const [k, b] of await sampleLibraryObjects()) objects.set(k, b);
  for (let i = 0; i < OTHERS; i++) objects.set(`Static Choir/Noise Floor/${String(i + 1).padStart(2, "0")}.flac`, noiseTrack(i));
  await uploadLibrary(rgw.client(BUCKET), objects);
}, 120_000);

afterAll(async () => {
  await cleanupAll();
  proxy?.stop();
  await rgw?.stop();
}, 120_000);

function env(): Record<string, string> {
  return rgw.credentialsEnv();
}

interface StoredFile {
  id: number;
  key: string;
  path: string;
  size: number;
  mtimeMs: number;
}

function storedFiles(cache: string): StoredFile[] {
  const db = new Sqlite(join(cache, "metadata.db"), { readonly: true });
  const rows = db.query("SELECT id, real_path, virtual_path, size, mtime_ms FROM files").values() as [number, string, string, number, number][];
  db.close();
  return rows.map(([id, key, path, size, mtimeMs]) => ({ id, key, path, size, mtimeMs }));
}

/** Bytes of cached content on disk: chunk files and data files (what the cap bounds; as in cacheCap.test.ts). */
function cachedBytes(cache: string): number {
  let n = 0;
  const walk = (dir: string, keep: (name: string) => boolean) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p, keep);
      else if (keep(e.name)) {
        const st = statSync(p, { throwIfNoEntry: false }); // evicted since it was listed: 0
        n += st ? Math.min(st.size, st.blocks * 512) : 0; // bytes on disk: a partial data file's holes take none
      }
    }
  };
  walk(join(cache, "chunks"), (name) => /^[0-9a-f]{64}$/.test(name));
  walk(join(cache, "data"), (name) => !name.includes(".tmp"));
  return n;
}

async function cat(path: string): Promise<{ code: number; bytes: Uint8Array; stderr: string }> {
  const proc = Bun.spawn(["cat", path], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).arrayBuffer(), new Response(proc.stderr).text(), proc.exited]);
  return { code, bytes: new Uint8Array(out), stderr: err };
}

/** GETs of one object that reached the gateway (by its key, however the path was escaped). */
function getsOf(key: string): number {
  return proxy.requests.filter((r) => r.method === "GET" && decodeURIComponent(r.path.split("?")[0]!).endsWith(`/lib/${key}`)).length;
}

describe.skipIf(skip)("pins on an S3 mount (Ceph RGW)", () => {
  const cache = skip ? "" : tempDir();
  const mnt = skip ? "" : join(tempDir(), "mnt");
  let configPath = "";
  let pinned: StoredFile[] = [];
  let others: StoredFile[] = [];
  const args = () => ["--config", configPath, "--cache-dir", cache];
  const writeConfig = (readTimeoutMs: number) =>
    writeFileSync(
      configPath,
      `[[origins]]\nid = "cloud"\nurl = "s3://${BUCKET}/lib"\nendpoint = "${proxy.endpoint}"\nrequest_timeout_ms = 2000\n` +
        `[cache]\nmax_size = "3MiB"\nread_timeout_ms = ${readTimeoutMs}\n`,
    );

  test("an album and a collection pinned with --wait are cached whole; eviction forced many times over takes none of it, and the cache stays under its cap", async () => {
    configPath = join(tempDir(), "config.toml");
    writeConfig(3000);
    const m = await startMount(mnt, args(), { env: env() });
    const files = storedFiles(cache);
    const album = files.find((f) => f.key.startsWith("Sólveig Ørn/"))!.path.split("/").slice(0, 2).join("/");
    const collection = await run(["bun", CLI, "collection", "add", "Lanterns", "lanterns", ...args()], { env: { ...process.env, ...env() } });
    expect(collection.code).toBe(0);

    const pin = await run(["bun", CLI, "pin", join(mnt, album), join(mnt, ".collections/Lanterns"), "--wait", ...args()], { env: { ...process.env, ...env() } });
    expect(pin.stderr).toContain("Everything pinned is cached");
    expect(pin.code).toBe(0);
    const listed = JSON.parse((await run(["bun", CLI, "pins", "--json", ...args()])).stdout) as { pins: { label: string; kind: string; files: number; cachedFiles: number; bytes: number; cachedBytes: number }[] };
    expect(listed.pins.map((p) => [p.label, p.kind]).sort()).toEqual([[".collections/Lanterns", "collection"], [album, "files"]]);
    for (const p of listed.pins) {
      expect(p.files).toBeGreaterThan(0);
      expect(p.cachedFiles).toBe(p.files);
      expect(p.cachedBytes).toBe(p.bytes);
    }
    const albumFiles = files.filter((f) => f.path.startsWith(`${album}/`));
    const lanterns = JSON.parse((await run(["bun", CLI, "search", "lanterns", "--json", "--limit", "1000", ...args()])).stdout) as { results: { fileId: number }[] };
    const pinnedIds = new Set([...albumFiles.map((f) => f.id), ...lanterns.results.map((r) => r.fileId)]);
    pinned = files.filter((f) => pinnedIds.has(f.id));
    others = files.filter((f) => f.key.startsWith("Static Choir/"));
    expect(pinned.length).toBeGreaterThan(albumFiles.length);
    expect(others.length).toBe(OTHERS);

    // Play every other file twice: ~11 MB through the ~1.4 MiB the pins leave.
    const samples: number[] = [];
    const before = proxy.requests.length;
    for (let round = 0; round < 2; round++) {
      for (const f of others) {
        const r = await cat(join(mnt, f.path));
        expect(r.code).toBe(0);
        expect(sha(r.bytes)).toBe(sha(objects.get(f.key)!));
        samples.push(cachedBytes(cache));
      }
    }
    expect(proxy.requests.slice(before).filter((r) => r.method === "GET").length).toBeGreaterThanOrEqual(2 * OTHERS); // evicted and fetched again
    // The cap holds (give or take the chunks being written when the sample was taken).
    expect(Math.max(...samples)).toBeLessThanOrEqual(CAP + 1 * MiB);
    const status = JSON.parse((await run(["bun", CLI, "status", "--json", ...args()])).stdout) as { cache: { evictions: number } };
    expect(status.cache.evictions).toBeGreaterThan(0);

    // Every pinned file is still cached whole: reading it costs not one request.
    const pinnedGetsBefore = pinned.reduce((n, f) => n + getsOf(f.key), 0);
    for (const f of pinned) {
      const r = await cat(join(mnt, f.path));
      expect(r.code).toBe(0);
      expect(sha(r.bytes)).toBe(sha(objects.get(f.key)!));
    }
    expect(pinned.reduce((n, f) => n + getsOf(f.key), 0)).toBe(pinnedGetsBefore);
    expect(await m.stop()).toBe(0);
  }, 300_000);

  test("with the gateway stopped and the mount restarted, every pinned file plays byte-exact; an evicted unpinned file is EIO", async () => {
    // A read deadline of 1 s, not 3 s: the evicted file's read below waits it out before its EIO, and every other
    // read here is of a pinned file, cached whole (no request).
    writeConfig(1000);
    await rgw.stopGateway();
    try {
      const m = await startMount(mnt, args(), { env: env() });
      for (const f of pinned) {
        const r = await cat(join(mnt, f.path));
        expect(r.stderr).toBe("");
        expect(sha(r.bytes)).toBe(sha(objects.get(f.key)!));
      }
      // The restarted mount checks its pinned files in the background: all of them are found cached, none fetched.
      const listed = await eventually(
        async () => JSON.parse((await run(["bun", CLI, "pins", "--json", ...args()])).stdout) as { progress: { files: number; cachedFiles: number; failedFiles: number } },
        (p) => p.progress.files > 0 && (p.progress.cachedFiles === p.progress.files || p.progress.failedFiles > 0),
      );
      expect(listed.progress.failedFiles).toBe(0);
      expect(listed.progress.cachedFiles).toBe(listed.progress.files);
      const evicted = others.find((f) => !existsSync(dataFilePath(join(cache, "data"), asContentId(f.id), f.size, f.mtimeMs)))!;
      expect(evicted).toBeDefined();
      const r = await cat(join(mnt, evicted.path));
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("Input/output error");
      expect(await m.stop()).toBe(0);
    } finally {
      await rgw.startGateway();
    }
  }, 300_000);
});
