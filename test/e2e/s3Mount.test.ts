/**
 * Issue 11 on real mounts: a library in a bucket of a real S3 server (Ceph RGW), mounted through the CLI, with our
 * fault proxy between musicfs and RGW (request counts, throttling, resets). One cluster for the whole file.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database as Sqlite } from "bun:sqlite";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { gradientPng } from "../../src/sample/tinyImages.ts";
import { writeFlac } from "../../src/sample/flacWriter.ts";
import { silence } from "../../src/sample/tone.ts";
import { CLI, cleanupAll, findFiles, isCoverFile, run, startMount, tempDir } from "./harness.ts";
import { rgwSkipReason, startRgw, type RgwCluster } from "../support/cephRgw.ts";
import { sampleLibraryObjects, uploadLibrary } from "../support/sampleObjects.ts";
import { startFaultProxy, type FaultProxy } from "../support/faultProxy.ts";
import { eventually } from "../support/eventually.ts";

const skip = rgwSkipReason !== null;
if (skip) console.warn(`skipping S3 mount tests: ${rgwSkipReason}`);

const BUCKET = "music";
let rgw: RgwCluster;
let proxy: FaultProxy;
/** key below the prefix → bytes, as uploaded. */
const objects = new Map<string, Uint8Array>();
/** A folder image beside the tracks of one album (found by the S3 listing): that album's cover.png. */
let folderImageKey = "";
const FOLDER_IMAGE = gradientPng(0x123456, 8).data;
/** Tree files that are tracks (not special folders, not album covers). */
const tracksIn = (files: string[]) => files.filter((f) => !f.startsWith(".") && !isCoverFile(f));
const sha = (b: Uint8Array) => new Bun.CryptoHasher("sha256").update(b).digest("hex");

/** Sample library files, some of them under hostile keys. */
const HOSTILE_DIRS = ["We+Them & Co/ü x", "dots/../dots", "100% sure"];

function env(secret = rgw.secretAccessKey): Record<string, string> {
  return { AWS_ACCESS_KEY_ID: rgw.accessKeyId, AWS_SECRET_ACCESS_KEY: secret, AWS_REGION: rgw.region, AWS_PROFILE: "", AWS_ENDPOINT_URL: "" };
}

function config(extra = "", bucket = BUCKET, readTimeoutMs = 3000): string {
  const path = join(tempDir(), "config.toml");
  writeFileSync(
    path,
    `[[origins]]\nid = "cloud"\nurl = "s3://${bucket}/lib"\nendpoint = "${proxy.endpoint}"\nrequest_timeout_ms = 2000\n` +
      `[cache]\nread_timeout_ms = ${readTimeoutMs}\n[sync]\noffline_retry_secs = 0.5\n${extra}`,
  );
  return path;
}

/** real_path → virtual_path of every stored file. */
function placements(cache: string): Map<string, string> {
  const db = new Sqlite(join(cache, "metadata.db"), { readonly: true });
  const rows = db.query("SELECT real_path, virtual_path FROM files").values() as [string, string][];
  db.close();
  return new Map(rows);
}


async function readThroughMount(path: string): Promise<{ code: number; bytes: Uint8Array; stderr: string }> {
  const proc = Bun.spawn(["cat", path], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).arrayBuffer(), new Response(proc.stderr).text(), proc.exited]);
  return { code, bytes: new Uint8Array(out), stderr: err };
}

beforeAll(async () => {
  if (skip) return;
  rgw = await startRgw();
  proxy = startFaultProxy({ port: rgw.port });
  await rgw.createBucket(BUCKET);
  [...(await sampleLibraryObjects())].forEach(([rel, bytes], i) => {
    const key = i < HOSTILE_DIRS.length ? `${HOSTILE_DIRS[i]}/${rel.split("/").pop()}` : rel;
    objects.set(key, bytes);
  });
  const harbour = [...objects.keys()].find((k) => k.includes("Harbour Lights") && !HOSTILE_DIRS.some((h) => k.startsWith(h)))!;
  folderImageKey = `${dirname(harbour)}/folder.png`;
  await uploadLibrary(rgw.client(BUCKET), objects, {
    extra: [
      [`lib/${folderImageKey}`, FOLDER_IMAGE],
      ["elsewhere/not-ours.flac", objects.values().next().value!],
    ],
  });
}, 60_000);

afterAll(async () => {
  await cleanupAll();
  proxy?.stop();
  await rgw?.stop();
});

describe.skipIf(skip)("S3 origin on Ceph RGW, mounted", () => {
  const cache = skip ? "" : tempDir();
  const cfg = () => config();
  let configPath = "";
  /** The one file left unread by the first mount (so it is not cached). */
  let unreadKey = "";
  /** Cover files as the first mount read them. */
  const coverBytes = new Map<string, Uint8Array>();

  test("first mount through throttling and resets: every object once, byte-exact, hostile keys; no secret anywhere", async () => {
    configPath = cfg();
    const mnt = join(tempDir(), "mnt");
    proxy.inject("slowdown", 2, /list-type/);
    proxy.inject("reset", 2, /\.(flac|mp3)/);
    proxy.inject("slowdown", 3, /\.(flac|mp3)/);
    const m = await startMount(mnt, ["--config", configPath, "--cache-dir", cache], { env: env() });
    const files = await findFiles(mnt);
    expect(tracksIn(files).length).toBe(objects.size);
    const placed = placements(cache);
    expect([...placed.keys()].sort()).toEqual([...objects.keys()].sort());
    const keys = [...objects.keys()];
    // The file left unread must be no track's "next in folder" (opening a track fetches the next one of its tree
    // folder ahead, for gapless play): the first track of its folder, by name as the tree orders them.
    const virtuals = [...placed.values()];
    unreadKey = keys.findLast((k) => {
      const v = placed.get(k)!;
      return !virtuals.some((o) => dirname(o) === dirname(v) && Buffer.compare(Buffer.from(o), Buffer.from(v)) < 0);
    })!;
    for (const key of keys.filter((k) => k !== unreadKey)) {
      const r = await readThroughMount(join(mnt, placed.get(key)!));
      expect(r.code).toBe(0);
      expect(sha(r.bytes)).toBe(sha(objects.get(key)!));
    }
    // Album covers through the chunk store: the folder image the listing found, else a track's embedded picture.
    const harbourFolder = dirname(placed.get([...objects.keys()].find((k) => dirname(k) === dirname(folderImageKey))!)!);
    const covers = files.filter(isCoverFile);
    expect(covers).toContain(`${harbourFolder}/cover.png`);
    for (const cover of covers) {
      const r = await readThroughMount(join(mnt, cover));
      expect(r.code).toBe(0);
      if (cover.startsWith(`${harbourFolder}/`)) expect(Buffer.from(r.bytes).equals(Buffer.from(FOLDER_IMAGE))).toBe(true);
      else expect([...objects.values()].some((o) => Buffer.from(o).includes(r.bytes))).toBe(true);
      coverBytes.set(cover, r.bytes);
    }
    expect(await m.stop()).toBe(0); // the daemon writes status.json once more as it stops
    // The secret is in no log line, no status file, no database.
    const status = readFileSync(join(cache, "status.json"), "utf8");
    expect(JSON.parse(status).originRequests["s3://music/lib"].get).toBeGreaterThan(0);
    for (const text of [m.output(), status, readFileSync(join(cache, "metadata.db")).toString("latin1")])
      expect(text).not.toContain(rgw.secretAccessKey);
  }, 120_000);

  test("later mount with RGW stopped: ready with zero requests, tree there, cached files play, uncached EIO; nothing removed", async () => {
    await rgw.stopGateway();
    try {
      const mnt = join(tempDir(), "mnt");
      const seen = proxy.requests.length;
      // The same origin with a read deadline of 1 s, not 3 s: the uncached read below waits it out before its EIO,
      // and every other read here is of a cached file (no request).
      const m = await startMount(mnt, ["--config", config("", BUCKET, 1000), "--cache-dir", cache], { env: env() });
      expect(m.output()).toContain("0 requests to remote origins");
      const placed = placements(cache);
      expect(tracksIn(await findFiles(mnt)).length).toBe(objects.size);
      for (const [cover, bytes] of coverBytes) expect(Buffer.from((await readThroughMount(join(mnt, cover))).bytes).equals(Buffer.from(bytes))).toBe(true);
      for (const [key, bytes] of objects) {
        if (key === unreadKey) continue;
        const r = await readThroughMount(join(mnt, placed.get(key)!));
        expect(sha(r.bytes)).toBe(sha(bytes));
      }
      // read_timeout_ms ends the read with EIO (a read that hung instead would fail the test by its timeout).
      const uncached = await readThroughMount(join(mnt, placed.get(unreadKey)!));
      expect(uncached.code).not.toBe(0);
      expect(uncached.stderr).toContain("Input/output error");
      await m.waitFor(/not reachable/);
      await m.waitFor(/try the unreachable origins again/);
      expect(tracksIn(await findFiles(mnt)).length).toBe(objects.size);
      // The syncs did ask the store (their probes reached the proxy and failed), and removed nothing.
      expect(proxy.requests.length).toBeGreaterThan(seen);
      expect(await m.stop()).toBe(0);
    } finally {
      await rgw.startGateway();
    }
  }, 120_000);

  test("an object replaced with other bytes (new ETag) while mounted: re-parsed, and reads give the new bytes", async () => {
    const mnt = join(tempDir(), "mnt");
    const m = await startMount(mnt, ["--config", config("interval_secs = 1\n"), "--cache-dir", cache], { env: env() });
    await m.waitFor(/Delta sync complete: 0 added, 0 modified, 0 removed/);
    const key = [...objects.keys()][5];
    const before = placements(cache).get(key)!;
    const replacement = writeFlac({ artists: ["Replaced"], album: "New Bytes", year: 2024, title: "Other", track: 1 }, silence(0.3, 22050, 1));
    await rgw.client(BUCKET).write(`lib/${key}`, replacement);
    const after = await eventually(() => placements(cache).get(key)!, (v) => v !== before);
    expect(after).toBe("Replaced/New Bytes (2024) [FLAC]/01 - Other.flac");
    await eventually(async () => (await findFiles(mnt)).includes(after), (v) => v);
    const r = await readThroughMount(join(mnt, after));
    expect(sha(r.bytes)).toBe(sha(replacement));
    objects.set(key, replacement);
    expect(await m.stop()).toBe(0);
  }, 120_000);

  test("kill -9 during a fetch, restart: the file reads right; files fetched completely before are not fetched again", async () => {
    const pcm = silence(20, 44100, 2);
    let x = 1;
    for (const ch of pcm.channels) for (let i = 0; i < ch.length; i++) ch[i] = ((x = (x * 1103515245 + 12345) >>> 0) >>> 16) - 32768;
    const big = writeFlac({ artists: ["Big"], album: "Long", year: 2020, title: "Long One", track: 1 }, pcm); // noise: ~3.5 MB
    await rgw.client(BUCKET).write("lib/Big/long.flac", big);
    const mnt = join(tempDir(), "mnt");
    const first = await startMount(mnt, ["--config", config("interval_secs = 1\n"), "--cache-dir", cache], { env: env() });
    const path = join(mnt, "Big/Long (2020) [FLAC]/01 - Long One.flac");
    await eventually(async () => (await findFiles(mnt)).includes("Big/Long (2020) [FLAC]/01 - Long One.flac"), (v) => v);
    // ~7 s for the whole file: the kill comes once the first 256 KiB have passed, long before the end.
    proxy.rateBytesPerS = 512 * 1024;
    const fetchedBefore = proxy.bytesToClients;
    const reading = readThroughMount(path);
    await eventually(() => proxy.bytesToClients - fetchedBefore, (n) => n >= 256 * 1024, 60_000);
    first.proc.kill("SIGKILL");
    await first.proc.exited;
    await reading;
    const fetchedBeforeKill = proxy.bytesToClients - fetchedBefore;
    proxy.rateBytesPerS = 0;
    await run(["umount", "-l", mnt]);
    expect(fetchedBeforeKill).toBeGreaterThan(0);
    expect(fetchedBeforeKill).toBeLessThan(big.length); // really killed during the fetch

    const second = await startMount(mnt, ["--config", configPath, "--cache-dir", cache], { env: env() });
    const fetchedAtRestart = proxy.bytesToClients;
    expect(sha((await readThroughMount(path)).bytes)).toBe(sha(big));
    console.log(`kill -9 mid-fetch: ${fetchedBeforeKill} bytes before the kill, ${proxy.bytesToClients - fetchedAtRestart} after the restart, file ${big.length}`);
    const placed = placements(cache);
    const gets = () => proxy.requests.filter((r) => r.method === "GET" && !r.path.includes("list-type")).length;
    const before = gets();
    for (const [key, bytes] of objects) {
      if (key === unreadKey) continue;
      expect(sha((await readThroughMount(join(mnt, placed.get(key)!))).bytes)).toBe(sha(bytes));
    }
    expect(gets() - before).toBe(0);
    expect(await second.stop()).toBe(0);
  }, 120_000);

  test.skipIf(!Bun.which("openssl"))("an HTTPS endpoint is verified: a private CA is refused with a hint, and trusted with ca_file", async () => {
    const dir = tempDir();
    const made = await run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "key.pem"), "-out", join(dir, "ca.pem"),
      "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]);
    expect(made.code).toBe(0);
    const tls = startFaultProxy({ port: rgw.port }, { tls: { cert: readFileSync(join(dir, "ca.pem"), "utf8"), key: readFileSync(join(dir, "key.pem"), "utf8") } });
    try {
      const cfg = (extra: string) => {
        const path = join(tempDir(), "config.toml");
        writeFileSync(path, `[[origins]]\nid = "tls"\nurl = "s3://${BUCKET}/lib"\nendpoint = "${tls.endpoint}"\nrequest_timeout_ms = 2000\n${extra}`);
        return path;
      };
      const refused = await run(["bun", CLI, "scan", "--config", cfg(""), "--cache-dir", tempDir()], { env: env() });
      expect(refused.code).not.toBe(0);
      expect(refused.stdout + refused.stderr).toContain("is not trusted");
      expect(refused.stdout + refused.stderr).toContain("ca_file");
      const cache = tempDir();
      const trusted = await run(["bun", CLI, "scan", "--config", cfg(`ca_file = "${join(dir, "ca.pem")}"\n`), "--cache-dir", cache], { env: env() });
      expect(trusted.code).toBe(0);
      const placed = placements(cache);
      expect([...objects.keys()].filter((k) => !placed.has(k))).toEqual([]); // every object, read over HTTPS
    } finally {
      tls.stop();
    }
  }, 60_000);

  test("wrong credentials and a missing bucket: one clear line naming the bucket and what to check", async () => {
    const wrong = await run(["bun", CLI, "scan", "--config", config(), "--cache-dir", tempDir()], { env: env("wrong-secret-1234567890") });
    expect(wrong.code).not.toBe(0);
    const out = wrong.stdout + wrong.stderr;
    expect(out).toContain("s3://music/lib");
    expect(out).toContain("secret access key");
    expect(out).not.toContain("wrong-secret-1234567890");
    expect(out).not.toMatch(/\n\s+at /); // no stack trace
    const missing = await run(["bun", CLI, "scan", "--config", config("", "no-such-bucket"), "--cache-dir", tempDir()], { env: env() });
    expect(missing.code).not.toBe(0);
    expect(missing.stdout + missing.stderr).toContain("s3://no-such-bucket/lib");
    expect(missing.stdout + missing.stderr).toContain("does not exist");
  }, 60_000);
});
