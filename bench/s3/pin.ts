/**
 * Pin throughput against `rclone copy` of the same files, in the same run, from a real Ceph RGW on loopback through
 * our TCP proxy (added round-trip time): `musicfs pin ALBUM --wait` on a fresh mount (the album's files fetched whole
 * into the cache) vs `rclone copy rgw:bench/lib/ALBUM DIR` (rclone 1.60 defaults: 4 transfers). Each side is timed
 * from the command's start to its exit; MB/s = the album's bytes / that time. Load average before and after each.
 *
 *   bun run bench/s3/pin.ts [--rtt 0,20] [--tracks 8] [--mib 16]
 *
 * Needs ceph-mon, ceph-osd, radosgw (`bun run setup`) and rclone. The proxy runs in this process: nothing here
 * touches the mount synchronously.
 */
import { mkdirSync, rmSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { writeFlac } from "../../src/sample/flacWriter.ts";
import { silence } from "../../src/sample/tone.ts";
import { pseudoRandomBytes } from "../../test/cas/testData.ts";
import { putObjects, rgwSkipReason, startRgw } from "../../test/support/cephRgw.ts";
import { startFaultProxy } from "../../test/support/faultProxy.ts";
import { CLI } from "../../test/support/paths.ts";
import { BENCH_ROOT, lazyUnmount, MusicFsChild, option } from "../mount/harness.ts";

const RTTS = option("rtt", "0,20").split(",").map(Number);
const TRACKS = Number(option("tracks", "8"));
const MIB = Number(option("mib", "16"));
const MB = 1_000_000;

if (rgwSkipReason) {
  console.error(rgwSkipReason);
  process.exit(2);
}
if (!Bun.which("rclone")) {
  console.error("rclone is needed (apt-get install rclone)");
  process.exit(2);
}

/** One album of TRACKS FLAC files of MIB MiB each (a real header, then bytes no cache can shrink). */
function album(): [string, Uint8Array][] {
  return Array.from({ length: TRACKS }, (_, i) => {
    const head = writeFlac({ title: `Track ${i + 1}`, artists: ["Pin Bench"], album: "Offline", year: 2024, track: i + 1 }, silence(0.01));
    const out = new Uint8Array(MIB * 1024 * 1024);
    out.set(head);
    out.set(pseudoRandomBytes(out.length - head.length, 500 + i), head.length);
    return [`Pin Bench/Offline/${String(i + 1).padStart(2, "0")}.flac`, out];
  });
}

async function timed(cmd: string[], env: Record<string, string>): Promise<number> {
  const t = performance.now();
  const p = Bun.spawn(cmd, { env, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`${cmd.join(" ")} failed (${code}): ${out}${err}`);
  return performance.now() - t;
}

const load = () => loadavg().map((x) => x.toFixed(2)).join(" ");

const rgw = await startRgw();
const proxy = startFaultProxy({ port: rgw.port });
const work = join(BENCH_ROOT, `s3pin-${process.pid}`);
const children: { stop(): Promise<unknown> }[] = [];
try {
  await rgw.createBucket("bench");
  const objects = album();
  await putObjects(rgw.client("bench"), objects.map(([k, v]) => [`lib/${k}`, v]), 4);
  const bytes = objects.reduce((n, [, v]) => n + v.length, 0);
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    AWS_ACCESS_KEY_ID: rgw.accessKeyId, AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey, AWS_REGION: rgw.region, AWS_ENDPOINT_URL: proxy.endpoint,
  };
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: rgw.accessKeyId, AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey, AWS_REGION: rgw.region, AWS_ENDPOINT_URL: proxy.endpoint });
  const rcloneEnv: Record<string, string> = {
    ...env,
    RCLONE_CONFIG_RGW_TYPE: "s3", RCLONE_CONFIG_RGW_PROVIDER: "Ceph", RCLONE_CONFIG_RGW_ENDPOINT: proxy.endpoint,
    RCLONE_CONFIG_RGW_ACCESS_KEY_ID: rgw.accessKeyId, RCLONE_CONFIG_RGW_SECRET_ACCESS_KEY: rgw.secretAccessKey,
  };
  delete rcloneEnv.AWS_CA_BUNDLE; // rclone cannot load the bundle some machines point it at

  console.log(`# pin vs rclone copy: ${TRACKS} files, ${(bytes / MB).toFixed(0)} MB; load ${load()}`);
  const rows: string[] = [];
  for (const rtt of RTTS) {
    proxy.delayMs = rtt / 2;
    // musicfs: a fresh mount (the scan reads tags only), then the album pinned and waited for.
    const cache = join(work, `musicfs-${rtt}`);
    const mnt = join(work, `mnt-${rtt}`);
    mkdirSync(mnt, { recursive: true });
    const child = new MusicFsChild({ mnt, origin: "s3://bench/lib", cacheDir: cache });
    children.push(child);
    await child.waitFor(/mounted at/, 600_000);
    const loadBeforePin = load();
    const getsBefore = proxy.requests.filter((r) => r.method === "GET").length;
    const pinMs = await timed(["bun", CLI, "pin", join(mnt, "Pin Bench"), "--wait", "--cache-dir", cache], env);
    const pinGets = proxy.requests.filter((r) => r.method === "GET").length - getsBefore;
    const loadAfterPin = load();
    // The CLI's own share of that time: one `musicfs pins` (start bun, ask the mount, print).
    const cliMs = await timed(["bun", CLI, "pins", "--cache-dir", cache], env);
    await child.stop();
    lazyUnmount(mnt);
    // rclone copy of the same files.
    const dest = join(work, `rclone-${rtt}`);
    const loadBeforeCopy = load();
    const copyMs = await timed(["rclone", "copy", "rgw:bench/lib/Pin Bench", dest], rcloneEnv);
    const loadAfterCopy = load();
    rmSync(dest, { recursive: true, force: true });
    const mbps = (ms: number) => (bytes / MB / (ms / 1000)).toFixed(1);
    rows.push(
      `| ${rtt} ms | ${(pinMs / 1000).toFixed(2)} s (${mbps(pinMs)} MB/s, ${pinGets} GETs; a CLI round trip alone ${(cliMs / 1000).toFixed(2)} s) | ${(copyMs / 1000).toFixed(2)} s (${mbps(copyMs)} MB/s) | ${(copyMs / pinMs).toFixed(2)} | ${loadBeforePin} → ${loadAfterPin} | ${loadBeforeCopy} → ${loadAfterCopy} |`,
    );
    console.error(rows.at(-1));
  }
  console.log(`\n| added RTT | \`musicfs pin ALBUM --wait\` | \`rclone copy\` | pin vs copy (> 1: pin faster) | load (pin) | load (copy) |`);
  console.log("|---|---|---|---|---|---|");
  for (const r of rows) console.log(r);
} finally {
  for (const c of children) await c.stop().catch(() => {});
  proxy.stop();
  await rgw.stop();
  rmSync(work, { recursive: true, force: true });
}
