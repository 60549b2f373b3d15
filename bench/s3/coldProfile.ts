/**
 * Where a cold sequential read of an S3 mount spends its time: one 64 MiB object, musicfs mounted on it (through
 * the latency proxy, or straight to RGW with --direct), `dd bs=1M` of the uncached file, and the CPU seconds each
 * party used meanwhile: musicfs per thread (main = fetcher, chunking, hashing, store writes; fuse workers), radosgw,
 * ceph-osd, and this process (the proxy). On 2 cores everything competes: CPU per MB is what bounds throughput.
 *
 * With --rclone, the same for `rclone mount --vfs-cache-mode full` (its threads summed as "rclone").
 *
 *   bun run bench/s3/coldProfile.ts [--rtt 0,20] [--mib 64] [--runs 3] [--bs 1M] [--direct] [--rclone] [--timeline]
 *
 * --bs: dd's read size (128k: what cp and cat read, 256k: rsync; the playback detector tells copies by it).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { loadavg } from "node:os";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { writeFlac } from "../../src/sample/flacWriter.ts";
import { silence } from "../../src/sample/tone.ts";
import { pseudoRandomBytes } from "../../test/cas/testData.ts";
import { freePort, rgwSkipReason, startRgw } from "../../test/support/cephRgw.ts";
import { startFaultProxy } from "../../test/support/faultProxy.ts";
import { summarizeTimeline, timelineLines } from "./timeline.ts";
import { BENCH_ROOT, flag, isMounted, lazyUnmount, median, MusicFsChild, numberList, option } from "../mount/harness.ts";

if (rgwSkipReason) {
  console.error(rgwSkipReason);
  process.exit(2);
}
const RTTS = numberList("rtt", "0,20");
const MIB = Number(option("mib", "64"));
const RUNS = Number(option("runs", "3"));
const BS = option("bs", "1M");
const DIRECT = flag("direct");
const RCLONE = flag("rclone");
/** Print each read's GETs (arrival, first byte, last byte) and how many were in flight (bench/s3/timeline.ts). */
const TIMELINE = flag("timeline");
const MB = 1_000_000;
const TICK = 100; // USER_HZ

/** utime + stime in seconds of a process, or of each of its threads by name. */
function cpuOf(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(f[11]) + Number(f[12])) / TICK;
  } catch {
    return 0; // gone (another RGW on this machine, stopped meanwhile)
  }
}
function threadsOf(pid: number, field = "cpu"): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const raw = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const name = raw.slice(raw.indexOf("(") + 1, raw.lastIndexOf(")"));
      const f = raw.split(") ")[1].split(" ");
      const key = Number(tid) === pid ? "main" : name;
      // minflt (page faults served without I/O: fresh memory touched for the first time), or CPU seconds: from
      // schedstat (ns) where the kernel has it — stat's utime + stime count 10 ms ticks, as coarse as a 64 MiB
      // read's main thread (~0.1 s) is long.
      const cpu = () => {
        try {
          return Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]) / 1e9;
        } catch {
          return (Number(f[11]) + Number(f[12])) / TICK;
        }
      };
      out.set(key, (out.get(key) ?? 0) + (field === "minflt" ? Number(f[7]) : cpu()));
    } catch {}
  }
  return out;
}
function pidsNamed(name: string): number[] {
  return readdirSync("/proc").filter((d) => /^\d+$/.test(d)).map(Number).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/comm`, "utf8").trim() === name;
    } catch {
      return false;
    }
  });
}

const rgw = await startRgw();
const proxy = startFaultProxy({ port: rgw.port });
const work = join(BENCH_ROOT, `s3cold-${process.pid}`);
const children: { stop(): Promise<unknown> }[] = [];
try {
  await rgw.createBucket("cold");
  const size = MIB * 1024 * 1024;
  const head = writeFlac({ title: "Big", artists: ["Big"], album: "Big", track: 1 }, silence(0.01));
  const data = new Uint8Array(size);
  data.set(head);
  data.set(pseudoRandomBytes(size - head.length, 3), head.length);
  for (let i = 0; i < RUNS; i++) await rgw.client("cold").write(`lib/Big${i}/01 big.flac`, data);
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: rgw.accessKeyId, AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey, AWS_REGION: rgw.region,
    AWS_ENDPOINT_URL: DIRECT ? rgw.endpoint : proxy.endpoint,
  });
  const rgwPids = pidsNamed("radosgw");
  const osdPids = pidsNamed("ceph-osd");
  console.log(`# cold read profile: ${MIB} MiB, ${DIRECT ? "direct to RGW" : "through the proxy"}, load ${loadavg()[0].toFixed(2)}`);
  for (const rtt of RTTS) {
    if (DIRECT && rtt !== 0) continue;
    proxy.delayMs = rtt / 2;
    const cache = join(work, `c-${rtt}`);
    const mnt = join(work, `m-${rtt}`);
    mkdirSync(mnt, { recursive: true });
    let child: { pid: number; stop(): Promise<unknown> };
    let metricsPort = 0;
    /** READs the FUSE workers received, and those the main thread answered (cache hits + misses of the fetcher). */
    const readCounts = async (): Promise<{ all: number; main: number }> => {
      if (!metricsPort) return { all: 0, main: 0 };
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const n = (re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
      return { all: n(/^musicfs_fuse_requests_total\{op="READ"\} (\d+)/m), main: n(/^musicfs_cache_hits_total (\d+)/m) + n(/^musicfs_cache_misses_total (\d+)/m) };
    };
    let paths: string[];
    if (RCLONE) {
      const p = Bun.spawn(["rclone", "mount", "rgw:cold/lib", mnt, "--vfs-cache-mode", "full", "--cache-dir", cache, "--read-only"], {
        env: {
          ...(process.env as Record<string, string>), AWS_CA_BUNDLE: "",
          RCLONE_CONFIG_RGW_TYPE: "s3", RCLONE_CONFIG_RGW_PROVIDER: "Ceph", RCLONE_CONFIG_RGW_ENDPOINT: DIRECT ? rgw.endpoint : proxy.endpoint,
          RCLONE_CONFIG_RGW_ACCESS_KEY_ID: rgw.accessKeyId, RCLONE_CONFIG_RGW_SECRET_ACCESS_KEY: rgw.secretAccessKey,
        },
        stdout: "ignore", stderr: "ignore",
      });
      child = { pid: p.pid, stop: async () => (p.kill("SIGTERM"), await p.exited, lazyUnmount(mnt)) };
      children.push(child);
      paths = Array.from({ length: RUNS }, (_, i) => join(mnt, `Big${i}/01 big.flac`));
      // Asynchronously: rclone lists through the proxy, which runs on this process's event loop.
      for (let t = 0; !isMounted(mnt) || (await readdir(mnt).catch(() => [])).length === 0; t++) {
        if (t > 3000) throw new Error("rclone did not mount");
        await Bun.sleep(10);
      }
    } else {
      metricsPort = freePort();
      const m = new MusicFsChild({ mnt, origin: "s3://cold/lib", cacheDir: cache, extraArgs: ["--metrics", `127.0.0.1:${metricsPort}`] });
      child = m;
      children.push(m);
      await m.waitFor(/mounted at/, 120_000);
      const db = new Database(join(cache, "metadata.db"), { readonly: true });
      paths = (db.query("SELECT virtual_path FROM files ORDER BY real_path").all() as { virtual_path: string }[]).map((r) => join(mnt, r.virtual_path));
      db.close();
    }
    const rows: Record<string, number>[] = [];
    for (const file of paths) {
      const readsBefore = await readCounts(); // before the CPU snapshot: answering it is not part of the read
      const before = { m: threadsOf(child.pid), flt: threadsOf(child.pid, "minflt"), rgw: rgwPids.map(cpuOf), osd: osdPids.map(cpuOf), me: process.cpuUsage() };
      const requestsBefore = proxy.requests.length;
      const bytesBefore = proxy.bytesToClients;
      const t = performance.now();
      const dd = Bun.spawn(["dd", `if=${file}`, "of=/dev/null", `bs=${BS}`, "status=none"]);
      await dd.exited;
      const s = (performance.now() - t) / 1000;
      const after = threadsOf(child.pid);
      const row: Record<string, number> = { "MB/s": size / s / MB, wall: s };
      if (RCLONE) row.rclone = [...after].reduce((n, [k, v]) => n + v - (before.m.get(k) ?? 0), 0);
      else {
        for (const [k, v] of after) row[`musicfs:${k}`] = v - (before.m.get(k) ?? 0);
        row["musicfs (all threads)"] = [...after].reduce((n, [k, v]) => n + v - (before.m.get(k) ?? 0), 0);
        for (const [k, v] of threadsOf(child.pid, "minflt")) row[`page faults per MiB:${k}`] = (v - (before.flt.get(k) ?? 0)) / MIB;
      }
      row.radosgw = rgwPids.map(cpuOf).reduce((a, b) => a + b, 0) - before.rgw.reduce((a, b) => a + b, 0);
      row["ceph-osd"] = osdPids.map(cpuOf).reduce((a, b) => a + b, 0) - before.osd.reduce((a, b) => a + b, 0);
      const me = process.cpuUsage(before.me);
      row["proxy (bench)"] = (me.user + me.system) / 1e6;
      if (!RCLONE) {
        // What the read set going still costs after `dd` returned: the end of the fetch (the hash worker's last
        // chunks, the completion check, ManifestCached and what follows it). Until the process is idle: less than
        // 10 ms of CPU in 300 ms (at most 10 s).
        const total = () => [...threadsOf(child.pid)].reduce((n, [, v]) => n + v, 0);
        let last = total();
        for (let t = 0; t < 33; t++) {
          await Bun.sleep(300);
          const now = total();
          if (now - last < 0.01) break;
          last = now;
        }
        row["musicfs (all threads, until idle)"] = last - [...before.m.values()].reduce((a, b) => a + b, 0);
      }
      if (metricsPort) {
        const reads = await readCounts();
        row.READs = reads.all - readsBefore.all;
        row["READs via main thread"] = reads.main - readsBefore.main;
      }
      // What RGW was asked for (through the proxy only): requests and MiB answered, for "why does RGW work more".
      if (!DIRECT) {
        row["GET requests"] = proxy.requests.slice(requestsBefore).filter((r) => r.method === "GET").length;
        row["MiB from RGW"] = (proxy.bytesToClients - bytesBefore) / 2 ** 20;
        const gets = proxy.requests.slice(requestsBefore).filter((r) => r.method === "GET" && r.range);
        const tl = summarizeTimeline(gets, t, t + s * 1000);
        row["GETs in flight (mean)"] = tl.meanInFlight;
        row["share with <= 1 GET in flight"] = tl.oneOrNoneShare;
        row["share with no GET in flight"] = tl.idleShare;
        row["GET first byte ms"] = tl.firstByteMs;
        row["GET body ms"] = tl.bodyMs;
        row["MiB per GET"] = tl.mibPerGet;
        if (TIMELINE) console.log(`\n${rtt} ms, ${file}: GETs (ms since dd started: arrival, first byte, last byte)\n${timelineLines(gets, t).join("\n")}`);
      }
      rows.push(row);
    }
    await child.stop();
    const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((k) => median(rows.map((r) => r[k] ?? 0)) >= 0.01 || k === "MB/s" || k.startsWith("READs"));
    console.log(`\nRTT ${rtt} ms (medians of ${rows.length}; CPU seconds during the read):`);
    for (const k of keys) console.log(`  ${k.padEnd(28)} ${median(rows.map((r) => r[k] ?? 0)).toFixed(3)}   (${rows.map((r) => (r[k] ?? 0).toFixed(3)).join(", ")})`);
  }
  console.log(`load at the end ${loadavg()[0].toFixed(2)}`);
} finally {
  for (const c of children) await c.stop().catch(() => {});
  proxy.stop();
  await rgw.stop();
  rmSync(work, { recursive: true, force: true });
}
