/**
 * Issue 18 item 3: `--metrics ADDR` serves Prometheus text that promtool accepts, its figures move with what the
 * mount does (a read adds bytes and READs), and an address off loopback is refused before anything starts.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeSampleLibraryCopy } from "../support/sampleLibraryCopy.ts";
import { generateLibrary } from "../../src/sample/syntheticLibrary.ts";
import { eventually } from "../support/eventually.ts";
import { freePort, putObjects, rgwSkipReason, startRgw, type RgwCluster } from "../support/cephRgw.ts";
import { startFaultProxy, type FaultProxy } from "../support/faultProxy.ts";
import { uploadFolder } from "../support/sampleObjects.ts";
import { hasProgram } from "../support/system.ts";
import { CLI, cleanupAll, findTracks, REPO, run, startMount, tempDir } from "./harness.ts";

let rgw: RgwCluster | null = null;
let proxy: FaultProxy | null = null;

/** One RGW behind one fault proxy for the tests that need them, started by the first. */
async function cluster(): Promise<{ rgw: RgwCluster; proxy: FaultProxy }> {
  rgw ??= await startRgw();
  proxy ??= startFaultProxy({ port: rgw.port });
  return { rgw, proxy };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? filesUnder(join(dir, n)) : [join(dir, n)]));
}


afterAll(async () => {
  await cleanupAll();
  proxy?.stop();
  await rgw?.stop();
}, 120_000);

/** The value of one sample line (`name{labels} value`), or 0 when absent. */
function sample(text: string, line: string): number {
  const found = text.split("\n").find((l) => l.startsWith(`${line} `));
  return found ? Number(found.slice(line.length + 1)) : 0;
}

async function promtool(text: string): Promise<{ code: number; out: string }> {
  const p = Bun.spawn(["promtool", "check", "metrics"], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  p.stdin.write(text);
  p.stdin.end();
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out: out + err };
}

describe("--metrics", () => {
  test("an address off loopback is refused with what to do, on the command line and in the config file", async () => {
    const origin = tempDir();
    const cache = tempDir();
    const r = await run(["bun", CLI, "mount", join(tempDir(), "mnt"), "--origin", origin, "--cache-dir", cache, "--metrics", "0.0.0.0:9464"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--metrics = "0.0.0.0:9464" would serve metrics to the network');
    expect(r.stderr).toContain("127.0.0.1");
    const cfg = join(tempDir(), "config.toml");
    writeFileSync(cfg, `metrics = "192.0.2.7:9464"\n[[origins]]\npath = "${origin}"\n`);
    const c = await run(["bun", CLI, "mount", join(tempDir(), "mnt"), "--config", cfg, "--cache-dir", cache]);
    expect(c.code).toBe(1);
    expect(c.stderr).toContain('metrics = "192.0.2.7:9464" would serve metrics to the network');
  });

  test.skipIf(!hasProgram("promtool"))("serves what promtool accepts; a read moves the byte and request figures", async () => {
    const origin = tempDir();
    await writeSampleLibraryCopy(origin);
    const cfg = join(tempDir(), "config.toml");
    writeFileSync(cfg, `[[origins]]\nid = "lib"\npath = "${origin}"\ncache = "full"\n`);
    const mnt = join(tempDir(), "mnt");
    const port = freePort();
    const m = await startMount(mnt, ["--config", cfg, "--cache-dir", tempDir(), "--metrics", `127.0.0.1:${port}`]);
    const scrape = async () => {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("text/plain");
      return res.text();
    };
    const before = await scrape();
    const lint = await promtool(before);
    expect(lint.out).toBe("");
    expect(lint.code).toBe(0);
    expect(sample(before, "musicfs_library_files")).toBe(20);
    // Every metric served is listed in docs/metrics.md (a cached origin: every family is there).
    const docs = readFileSync(join(REPO, "docs/metrics.md"), "utf8");
    const served = [...before.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!);
    expect(served).toContain("musicfs_cache_used_bytes");
    expect(served).toContain("musicfs_scan_files");
    expect(served.filter((name) => !docs.includes(`\`${name}\``))).toEqual([]);

    const track = join(mnt, (await findTracks(mnt))[0]!);
    expect((await run(["cat", track])).code).toBe(0);
    // A local origin's file is read from the origin and copied into the cache beside the reads: wait for the copy.
    const after = await eventually(scrape, (text) => sample(text, "musicfs_cache_used_bytes") > 0, 30_000);
    expect((await promtool(after)).code).toBe(0);
    expect(sample(after, "musicfs_cache_fetched_bytes_total")).toBeGreaterThan(sample(before, "musicfs_cache_fetched_bytes_total"));
    expect(sample(after, 'musicfs_fuse_requests_total{op="READ"}')).toBeGreaterThan(sample(before, 'musicfs_fuse_requests_total{op="READ"}'));
    expect(sample(after, 'musicfs_fuse_request_duration_seconds_count{op="READ"}')).toBeGreaterThan(0);
    expect(sample(after, 'musicfs_fuse_request_duration_seconds_bucket{op="READ",le="+Inf"}')).toBe(sample(after, 'musicfs_fuse_request_duration_seconds_count{op="READ"}'));
    expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
    expect(await m.stop()).toBe(0);
  }, 120_000);

  test.skipIf(!hasProgram("promtool") || rgwSkipReason !== null)(
    "a READ that waits for a slow origin is timed to its reply: it lands above the bucket of the origin's latency",
    async () => {
      const { rgw, proxy } = await cluster();
      await rgw.createBucket("metrics");
      const lib = tempDir();
      await writeSampleLibraryCopy(lib);
      await uploadFolder(rgw.client("metrics"), lib);
      const cfg = join(tempDir(), "config.toml");
      writeFileSync(cfg, `[[origins]]\nid = "cloud"\nurl = "s3://metrics/lib"\nendpoint = "${proxy.endpoint}"\n`);
      const mnt = join(tempDir(), "mnt");
      const port = freePort();
      const m = await startMount(mnt, ["--config", cfg, "--cache-dir", tempDir(), "--metrics", `127.0.0.1:${port}`], { env: rgw.credentialsEnv() });
      const scrape = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const slowReads = (text: string) =>
        sample(text, 'musicfs_fuse_request_duration_seconds_count{op="READ"}') - sample(text, 'musicfs_fuse_request_duration_seconds_bucket{op="READ",le="0.5"}');
      expect(slowReads(await scrape())).toBe(0);

      proxy.delayMs = 300; // each way: every request to the origin takes 0.6 s or more from here on
      const track = join(mnt, (await findTracks(mnt))[0]!);
      const r = await run(["head", "-c", "4096", track]);
      expect(r.code).toBe(0);
      const after = await scrape();
      const lint = await promtool(after);
      expect(lint.out).toBe("");
      expect(sample(after, "musicfs_cache_misses_total")).toBeGreaterThan(0);
      // The first READ of the track waited for the origin (0.6 s at least) on the main thread: it is counted above
      // 0.5 s, not as the microseconds the worker took to hand it on.
      expect(slowReads(after)).toBeGreaterThanOrEqual(1);
      expect(sample(after, 'musicfs_fuse_request_duration_seconds_sum{op="READ"}')).toBeGreaterThanOrEqual(0.6);
      expect(await m.stop()).toBe(0);
      proxy.delayMs = 0;
    },
    180_000,
  );

  test.skipIf(!hasProgram("promtool") || rgwSkipReason !== null)(
    "the first scan's progress and a delta sync's show while they run (files and bytes: found, to parse, parsed)",
    async () => {
      const { rgw, proxy } = await cluster();
      proxy.delayMs = 0;
      await rgw.createBucket("scanning");
      const lib = tempDir();
      const generated = await generateLibrary({ dir: lib, files: 30, seed: 18, tiny: true });
      await uploadFolder(rgw.client("scanning"), lib);
      const cfg = join(tempDir(), "config.toml");
      // Requests are held below for as long as the test needs: no request deadline may end them meanwhile.
      writeFileSync(cfg, `[[origins]]\nid = "cloud"\nurl = "s3://scanning/lib"\nendpoint = "${proxy.endpoint}"\nrequest_timeout_ms = 600000\n`);
      const cache = tempDir();
      const mnt = join(tempDir(), "mnt");
      const port = freePort();
      const scrape = async () => {
        try {
          return await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        } catch {
          return ""; // not listening yet
        }
      };
      const figures = (text: string, kind: string) => ({
        running: sample(text, `musicfs_scan_running{kind="${kind}"}`),
        walkDone: sample(text, `musicfs_scan_walk_done{kind="${kind}"}`),
        found: sample(text, `musicfs_scan_files{kind="${kind}",state="found"}`),
        toParse: sample(text, `musicfs_scan_files{kind="${kind}",state="to_parse"}`),
        done: sample(text, `musicfs_scan_files{kind="${kind}",state="done"}`),
        foundBytes: sample(text, `musicfs_scan_bytes{kind="${kind}",state="found"}`),
        doneBytes: sample(text, `musicfs_scan_bytes{kind="${kind}",state="done"}`),
      });

      // The first scan lists the bucket, then reads each file's tags: those reads are held, so the scan stays
      // half-way (everything found, nothing parsed) until they are let through.
      proxy.hold(/\.(mp3|flac)/);
      const m = await startMount(mnt, ["--config", cfg, "--cache-dir", cache, "--metrics", `127.0.0.1:${port}`], { env: rgw.credentialsEnv(), waitReady: false });
      const during = await eventually(scrape, (t) => figures(t, "first_scan").walkDone === 1, 90_000);
      expect(figures(during, "first_scan")).toEqual({ running: 1, walkDone: 1, found: generated.files, toParse: generated.files, done: 0, foundBytes: generated.bytes, doneBytes: 0 });
      expect((await promtool(during)).out).toBe("");
      proxy.release();
      await m.waitFor(/mounted at/, 120_000);
      const scanned = figures(await scrape(), "first_scan");
      expect(scanned).toEqual({ running: 0, walkDone: 1, found: generated.files, toParse: generated.files, done: generated.files, foundBytes: generated.bytes, doneBytes: generated.bytes });

      // A delta sync (`musicfs sync`) of a bucket with two new files: their reads are held, the sync shows them.
      await eventually(scrape, (t) => sample(t, "musicfs_syncs_total") >= 1); // the sync every mount starts with
      const added = tempDir();
      await writeSampleLibraryCopy(added);
      const newKeys = filesUnder(added).filter((f) => /\.(mp3|flac)$/.test(f)).slice(0, 2);
      await putObjects(rgw.client("scanning"), newKeys.map((f, i): [string, Uint8Array] => [`lib/Late Arrivals/${i + 1}${f.slice(f.lastIndexOf("."))}`, new Uint8Array(readFileSync(f))]));
      const newBytes = newKeys.reduce((n, f) => n + statSync(f).size, 0);
      proxy.hold(/\.(mp3|flac)/);
      const sync = Bun.spawn(["bun", CLI, "sync", "--cache-dir", cache], { stdout: "pipe", stderr: "pipe" });
      const syncing = await eventually(scrape, (t) => figures(t, "sync").running === 1 && figures(t, "sync").walkDone === 1, 90_000);
      expect(figures(syncing, "sync")).toMatchObject({ found: generated.files + 2, toParse: 2, done: 0, foundBytes: generated.bytes + newBytes });
      expect(sample(syncing, "musicfs_sync_running")).toBe(1);
      proxy.release();
      expect(await sync.exited).toBe(0);
      const synced = figures(await scrape(), "sync");
      expect(synced).toMatchObject({ running: 0, found: generated.files + 2, toParse: 2, done: 2, doneBytes: newBytes });
      expect(await m.stop()).toBe(0);
    },
    300_000,
  );
});
