/**
 * Issue 18 item 3: `--metrics ADDR` serves Prometheus text that promtool accepts, its figures move with what the
 * mount does (a read adds bytes and READs), and an address off loopback is refused before anything starts.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { writeSampleLibrary } from "../../src/sample/sampleLibrary.ts";
import { freePort, putObjects, rgwSkipReason, startRgw, type RgwCluster } from "../support/cephRgw.ts";
import { startFaultProxy, type FaultProxy } from "../support/faultProxy.ts";
import { hasProgram } from "../support/system.ts";
import { CLI, cleanupAll, findTracks, run, startMount, tempDir } from "./harness.ts";

let rgw: RgwCluster | null = null;
let proxy: FaultProxy | null = null;

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
    await writeSampleLibrary(origin);
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

    const track = join(mnt, (await findTracks(mnt))[0]!);
    expect((await run(["cat", track])).code).toBe(0);
    const after = await scrape();
    expect((await promtool(after)).code).toBe(0);
    expect(sample(after, "musicfs_cache_fetched_bytes_total")).toBeGreaterThan(sample(before, "musicfs_cache_fetched_bytes_total"));
    expect(sample(after, "musicfs_cache_used_bytes")).toBeGreaterThan(0);
    expect(sample(after, 'musicfs_fuse_requests_total{op="READ"}')).toBeGreaterThan(sample(before, 'musicfs_fuse_requests_total{op="READ"}'));
    expect(sample(after, 'musicfs_fuse_request_duration_seconds_count{op="READ"}')).toBeGreaterThan(0);
    expect(sample(after, 'musicfs_fuse_request_duration_seconds_bucket{op="READ",le="+Inf"}')).toBe(sample(after, 'musicfs_fuse_request_duration_seconds_count{op="READ"}'));
    expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
    expect(await m.stop()).toBe(0);
  }, 120_000);

  test.skipIf(!hasProgram("promtool") || rgwSkipReason !== null)(
    "a READ that waits for a slow origin is timed to its reply: it lands above the bucket of the origin's latency",
    async () => {
      rgw = await startRgw();
      proxy = startFaultProxy({ port: rgw.port });
      await rgw.createBucket("metrics");
      const lib = tempDir();
      await writeSampleLibrary(lib);
      const files = (dir: string): string[] => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : [join(dir, n)]));
      await putObjects(rgw.client("metrics"), files(lib).map((f): [string, Uint8Array] => [`lib/${relative(lib, f)}`, new Uint8Array(readFileSync(f))]));
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
    },
    180_000,
  );
});
