/**
 * Pin throughput against `rclone copy` of the same files, in the same run, from a real Ceph RGW on loopback through
 * our TCP proxy (added round-trip time): `musicfs pin ALBUM --wait` on a fresh mount (the album's files fetched whole
 * into the cache) vs `rclone copy rgw:bench/lib/ALBUM DIR` (rclone 1.60 defaults: 4 transfers). Each side is timed
 * from the command's start to its exit; MB/s = the album's bytes / that time. In alternated rounds (musicfs first in
 * even rounds, rclone first in odd ones: a machine whose load changes favours neither), a fresh cache dir and copy
 * destination each time; per RTT the median of the rounds' ratios (and their range), load average before and after.
 * CPU seconds of each side (user + system; musicfs: the mount's process tree during the pin plus the pin command;
 * rclone: its rusage) and of the Ceph daemons serving it (from /proc), which a loaded machine stretches least.
 *
 * The timed pin runs on a mount that has already pinned another album (4 × 4 MiB, untimed), as a mount that has
 * run a while has its fetch path compiled by the JIT; `--fresh` times the first pin of a new process instead.
 *
 *   bun run bench/s3/pin.ts [--rtt 0,20] [--tracks 8] [--mib 16] [--rounds 3] [--fresh]
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
import { BENCH_ROOT, flag, lazyUnmount, median, MusicFsChild, option } from "../mount/harness.ts";
import { cpuSecondsOfProcessesWith, treeCpuSeconds } from "./measure.ts";

const RTTS = option("rtt", "0,20").split(",").map(Number);
const TRACKS = Number(option("tracks", "8"));
const MIB = Number(option("mib", "16"));
const ROUNDS = Math.max(1, Number(option("rounds", "3")));
/** `--fresh`: time the pin on a mount that has pinned nothing before (default: after an untimed warm-up pin). */
const WARM = !flag("fresh");
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
function album(artist = "Pin Bench", tracks = TRACKS, mib = MIB): [string, Uint8Array][] {
  return Array.from({ length: tracks }, (_, i) => {
    const head = writeFlac({ title: `Track ${i + 1}`, artists: [artist], album: "Offline", year: 2024, track: i + 1 }, silence(0.01));
    const out = new Uint8Array(mib * 1024 * 1024);
    out.set(head);
    out.set(pseudoRandomBytes(out.length - head.length, 500 + i + (artist === "Pin Bench" ? 0 : 1000)), head.length);
    return [`${artist}/Offline/${String(i + 1).padStart(2, "0")}.flac`, out];
  });
}

/** Runs a command: its wall time and its own CPU seconds (user + system, from its rusage). */
async function run(cmd: string[], env: Record<string, string>): Promise<{ ms: number; cpu: number }> {
  const t = performance.now();
  const p = Bun.spawn(cmd, { env, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`${cmd.join(" ")} failed (${code}): ${out}${err}`);
  const ms = performance.now() - t;
  const usage = p.resourceUsage();
  return { ms, cpu: usage ? Number(usage.cpuTime.user + usage.cpuTime.system) / 1e6 : NaN };
}

async function timed(cmd: string[], env: Record<string, string>): Promise<number> {
  return (await run(cmd, env)).ms;
}

const load = () => loadavg().map((x) => x.toFixed(2)).join(" ");

const rgw = await startRgw();
const proxy = startFaultProxy({ port: rgw.port });
const work = join(BENCH_ROOT, `s3pin-${process.pid}`);
const children: { stop(): Promise<unknown> }[] = [];
try {
  await rgw.createBucket("bench");
  const objects = album();
  await putObjects(rgw.client("bench"), [...objects, ...album("Warm Up", 4, 4)].map(([k, v]) => [`lib/${k}`, v]), 4);
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

  console.log(`# pin vs rclone copy: ${TRACKS} files, ${(bytes / MB).toFixed(0)} MB, ${ROUNDS} alternated rounds, ${WARM ? "warm mount (another album pinned first)" : "fresh mount"}; load ${load()}`);
  const mbps = (ms: number) => (bytes / MB / (ms / 1000)).toFixed(1);

  /** `musicfs pin --wait` on a fresh mount: its time, the GETs it made, a CLI round trip alone. */
  const pin = async (rtt: number, round: number) => {
    const cache = join(work, `musicfs-${rtt}-${round}`);
    const mnt = join(work, `mnt-${rtt}-${round}`);
    mkdirSync(mnt, { recursive: true });
    const child = new MusicFsChild({ mnt, origin: "s3://bench/lib", cacheDir: cache });
    children.push(child);
    await child.waitFor(/mounted at/, 600_000);
    // A mount that has run a while has its fetch path compiled: another album (4 × 4 MiB) pinned first, untimed.
    // Without it a fresh process's JIT compiling showed as ~10 % of the mount's CPU samples in the timed pin (perf).
    if (WARM) await run(["bun", CLI, "pin", join(mnt, "Warm Up"), "--wait", "--cache-dir", cache], env);
    const getsBefore = proxy.requests.filter((r) => r.method === "GET").length;
    const mountCpu0 = treeCpuSeconds(child.pid);
    const rgwCpu0 = cpuSecondsOfProcessesWith(rgw.dir);
    const { ms, cpu: cliCpu } = await run(["bun", CLI, "pin", join(mnt, "Pin Bench"), "--wait", "--cache-dir", cache], env);
    const mountCpu = treeCpuSeconds(child.pid) - mountCpu0;
    const cpu = mountCpu + cliCpu;
    const rgwCpu = cpuSecondsOfProcessesWith(rgw.dir) - rgwCpu0;
    const gets = proxy.requests.filter((r) => r.method === "GET").length - getsBefore;
    const cliMs = await timed(["bun", CLI, "pins", "--cache-dir", cache], env); // the CLI's own share: start bun, ask, print
    await child.stop();
    lazyUnmount(mnt);
    rmSync(cache, { recursive: true, force: true });
    return { ms, gets, cliMs, cpu, mountCpu, cliCpu, rgwCpu };
  };
  const copy = async (rtt: number, round: number) => {
    const dest = join(work, `rclone-${rtt}-${round}`);
    const rgwCpu0 = cpuSecondsOfProcessesWith(rgw.dir);
    const { ms, cpu } = await run(["rclone", "copy", "rgw:bench/lib/Pin Bench", dest], rcloneEnv);
    const rgwCpu = cpuSecondsOfProcessesWith(rgw.dir) - rgwCpu0;
    rmSync(dest, { recursive: true, force: true });
    return { ms, cpu, rgwCpu };
  };

  const rows: string[] = [];
  const summary: string[] = [];
  for (const rtt of RTTS) {
    proxy.delayMs = rtt / 2;
    const ratios: number[] = [];
    const pins: number[] = [];
    const copies: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const before = load();
      let p: Awaited<ReturnType<typeof pin>>;
      let c: Awaited<ReturnType<typeof copy>>;
      if (round % 2 === 0) {
        p = await pin(rtt, round);
        c = await copy(rtt, round);
      } else {
        c = await copy(rtt, round);
        p = await pin(rtt, round);
      }
      const after = load();
      ratios.push(c.ms / p.ms);
      pins.push(p.ms);
      copies.push(c.ms);
      rows.push(
        `| ${rtt} ms | ${round + 1} (${round % 2 === 0 ? "musicfs first" : "rclone first"}) | ${(p.ms / 1000).toFixed(2)} s (${mbps(p.ms)} MB/s, ${p.gets} GETs; CLI round trip ${(p.cliMs / 1000).toFixed(2)} s; CPU ${p.cpu.toFixed(2)} s = mount ${p.mountCpu.toFixed(2)} + pin command ${p.cliCpu.toFixed(2)}, RGW ${p.rgwCpu.toFixed(2)} s) | ${(c.ms / 1000).toFixed(2)} s (${mbps(c.ms)} MB/s; CPU ${c.cpu.toFixed(2)} s, RGW ${c.rgwCpu.toFixed(2)} s) | ${(c.ms / p.ms).toFixed(2)} | ${before} → ${after} |`,
      );
      console.error(rows.at(-1));
    }
    summary.push(
      `| ${rtt} ms | ${mbps(median(pins))} MB/s | ${mbps(median(copies))} MB/s | **${median(ratios).toFixed(2)}** (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}) |`,
    );
  }
  console.log(`\n| added RTT | round | \`musicfs pin ALBUM --wait\` | \`rclone copy\` | pin vs copy (> 1: pin faster) | load average (1, 5, 15 min) before → after |`);
  console.log("|---|---|---|---|---:|---|");
  for (const r of rows) console.log(r);
  console.log(`\n| added RTT | pin (median) | copy (median) | pin vs copy: median of the rounds (range) |`);
  console.log("|---|---|---|---|");
  for (const r of summary) console.log(r);
  console.log(`\nload at the end: ${load()}`);
} finally {
  for (const c of children) await c.stop().catch(() => {});
  proxy.stop();
  await rgw.stop();
  rmSync(work, { recursive: true, force: true });
}
