/**
 * musicfs and `rclone mount --vfs-cache-mode full` side by side on the same S3 bucket (a real Ceph RGW on loopback),
 * in the same run, through our TCP proxy (added round-trip time; it also counts requests and bytes):
 *   first mount (musicfs: scan until ready; rclone: mount + the first full `find`), `find` of the whole tree,
 *   time to first byte (open + read 4 KiB of an uncached 64 MiB file), a far seek (64 KiB at 3/4 of another
 *   uncached file), cold sequential read (`dd bs=1M`; CPU of the mount's process per MiB, from /proc), cached read
 *   with the page cache dropped (`echo 3 > drop_caches`: from each one's cache on disk) and with the pages kept, the
 *   same two reads of a plain copy of the file on the cache disk, bytes fetched by an MPD scan, later mount → first `ls`, and a replay of the cached file after the restart
 *   (requests made).
 *
 *   bun run bench/s3/mount.ts [--rtt 0,20] [--mib 64]
 *
 * Needs ceph-mon, ceph-osd, radosgw (`bun run setup`), rclone, mpd and mpc. The bench process never touches a mount
 * synchronously: the proxy runs in it, and a blocked event loop would stall the mount's requests.
 */
import { Database } from "bun:sqlite";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { open, readdir } from "node:fs/promises";
import { loadavg } from "node:os";
import { join } from "node:path";
import { writeFlac } from "../../src/sample/flacWriter.ts";
import { writeMp3 } from "../../src/sample/mp3Writer.ts";
import { silence } from "../../src/sample/tone.ts";
import { pseudoRandomBytes } from "../../test/cas/testData.ts";
import { putObjects, rgwSkipReason, startRgw } from "../../test/support/cephRgw.ts";
import { startFaultProxy } from "../../test/support/faultProxy.ts";
import { hasMpd, startMpd } from "../../test/support/mpd.ts";
import { BENCH_ROOT, isMounted, lazyUnmount, MusicFsChild, option } from "../mount/harness.ts";

const RTTS = option("rtt", "0,20").split(",").map(Number);
const BIG_MIB = Number(option("mib", "64"));
const MB = 1_000_000;

if (rgwSkipReason) {
  console.error(rgwSkipReason);
  process.exit(2);
}
if (!Bun.which("rclone") || !hasMpd) {
  console.error("rclone, mpd and mpc are needed (scripts/setup.sh installs them)");
  process.exit(2);
}

/** The bucket's library: two big files for throughput, and tracks of real sizes for the MPD scan. */
function library(): [string, Uint8Array][] {
  const flac = (i: number, size: number, artist: string) => {
    const head = writeFlac({ title: `Song ${i}`, artists: [artist], album: `Album ${i}`, track: 1 }, silence(0.01));
    const out = new Uint8Array(size);
    out.set(head);
    out.set(pseudoRandomBytes(size - head.length, i), head.length);
    return out;
  };
  const objects: [string, Uint8Array][] = [
    ["Big/A/01 a.flac", flac(100, BIG_MIB * 1024 * 1024, "Big A")],
    ["Big/B/01 b.flac", flac(101, BIG_MIB * 1024 * 1024, "Big B")],
  ];
  for (let i = 0; i < 8; i++) {
    const data = i % 2 === 0
      ? flac(i, 20 * MB + i * 100_000, `Artist ${i % 3}`)
      : writeMp3({ title: `Song ${i}`, artists: [`Artist ${i % 3}`], album: `Album ${i}`, track: 1 }, { seconds: 230 + i, bitrateKbps: 320 });
    objects.push([`Tracks/${i}.${i % 2 === 0 ? "flac" : "mp3"}`, data]);
  }
  return objects;
}

async function sh(cmd: string[]): Promise<string> {
  const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`${cmd.join(" ")} failed (${code}): ${err}`);
  return out + err;
}

async function ddMBps(file: string): Promise<number> {
  const out = await sh(["dd", `if=${file}`, "of=/dev/null", "bs=1M"]);
  const m = out.match(/(\d+) bytes .* copied, ([\d.]+) s/);
  if (!m) throw new Error(`cannot parse dd output: ${out}`);
  return Number(m[1]) / Number(m[2]) / MB;
}

/**
 * Drops the page cache (root): every page, so that a read comes from the disk whatever layer (FUSE file, passthrough
 * backing file, rclone's cache file) held it. Without root, only the file's own pages (`dd iflag=nocache`).
 */
const dropPages = (file: string) =>
  process.getuid?.() === 0
    ? sh(["sh", "-c", "sync; echo 3 > /proc/sys/vm/drop_caches"])
    : sh(["dd", `if=${file}`, "iflag=nocache", "count=0", "status=none"]);

/** CPU seconds (user + system, all threads) a process has used, from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

async function timedRead(file: string, offset: number, length: number): Promise<number> {
  const t = performance.now();
  const fh = await open(file, "r");
  try {
    const { bytesRead } = await fh.read(new Uint8Array(length), 0, length, offset);
    if (bytesRead !== length) throw new Error(`short read of ${file}: ${bytesRead}`);
  } finally {
    await fh.close();
  }
  return performance.now() - t;
}

async function timedFind(mnt: string): Promise<{ ms: number; files: number }> {
  const t = performance.now();
  const out = await sh(["find", mnt, "-type", "f"]);
  return { ms: performance.now() - t, files: out.split("\n").filter(Boolean).length };
}

/** Until `ls` of the mount lists something (async polling: the mount may need the proxy in this process). */
async function firstListingMs(mnt: string, since: number): Promise<number> {
  for (;;) {
    if (isMounted(mnt)) {
      try {
        if ((await readdir(mnt)).length > 0) return performance.now() - since;
      } catch {}
    }
    if (performance.now() - since > 120_000) throw new Error(`no listing of ${mnt}`);
    await Bun.sleep(2);
  }
}

interface Side {
  firstMountMs: number;
  findMs: number;
  ttfbMs: number;
  farSeekMs: number;
  coldMBps: number;
  /** CPU seconds of the mount's process per MiB of the cold read. */
  coldCpuPerMiB: number;
  warmMBps: number;
  keptMBps: number;
  mpdBytes: number;
  laterMountLsMs: number;
  replayRequests: number;
  restartRequests: number;
}

const rgw = await startRgw();
const proxy = startFaultProxy({ port: rgw.port });

/** Bytes the store sent while a fresh MPD scanned the mount. */
async function mpdScanBytes(mnt: string): Promise<number> {
  const before = proxy.bytesToClients;
  const mpd = await startMpd({ musicDir: mnt });
  try {
    await mpd.update(600_000);
  } finally {
    await mpd.stop();
  }
  return proxy.bytesToClients - before;
}
const work = join(BENCH_ROOT, `s3mount-${process.pid}`);
const children: { stop(): Promise<unknown> }[] = [];
try {
  await rgw.createBucket("bench");
  const objects = library();
  await putObjects(rgw.client("bench"), objects.map(([k, v]) => [`lib/${k}`, v]), 8);
  const libraryBytes = objects.reduce((n, [, v]) => n + v.length, 0);
  const trackBytes = objects.filter(([k]) => k.startsWith("Tracks/")).reduce((n, [, v]) => n + v.length, 0);
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: rgw.accessKeyId, AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey, AWS_REGION: rgw.region,
    AWS_ENDPOINT_URL: proxy.endpoint,
  });
  const rcloneEnv: Record<string, string> = {
    ...(process.env as Record<string, string>),
    RCLONE_CONFIG_RGW_TYPE: "s3", RCLONE_CONFIG_RGW_PROVIDER: "Ceph", RCLONE_CONFIG_RGW_ENDPOINT: proxy.endpoint,
    RCLONE_CONFIG_RGW_ACCESS_KEY_ID: rgw.accessKeyId, RCLONE_CONFIG_RGW_SECRET_ACCESS_KEY: rgw.secretAccessKey,
  };
  delete rcloneEnv.AWS_CA_BUNDLE; // rclone cannot load the bundle some machines point it at

  console.log(`# S3 mounts side by side: ${objects.length} objects (${(libraryBytes / MB).toFixed(0)} MB), load ${loadavg()[0].toFixed(2)}`);
  const results: { rtt: number; musicfs: Side; rclone: Side; getMs: number; plainDropped: number; plainKept: number }[] = [];
  /** One GET's latency on the same path (ranged GET of 64 KiB through the proxy, a warm connection): the unit of the TTFB and seek targets. */
  const oneGetMs = async () => {
    const client = new Bun.S3Client({ endpoint: proxy.endpoint, bucket: "bench", accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey, region: rgw.region });
    const file = client.file("lib/Big/B/01 b.flac");
    await file.slice(0, 65536).arrayBuffer();
    const xs: number[] = [];
    for (let i = 0; i < 7; i++) {
      const t = performance.now();
      await file.slice(i * 1_000_000, i * 1_000_000 + 65536).arrayBuffer();
      xs.push(performance.now() - t);
    }
    return xs.sort((a, b) => a - b)[3];
  };

  for (const rtt of RTTS) {
    proxy.delayMs = rtt / 2;
    const requests = () => proxy.requests.length;
    const getMs = await oneGetMs();

    // ── musicfs ──
    const mCache = join(work, `musicfs-${rtt}`);
    const mMnt = join(work, `mnt-musicfs-${rtt}`);
    mkdirSync(mMnt, { recursive: true });
    const mountMusicfs = () => {
      const c = new MusicFsChild({ mnt: mMnt, origin: "s3://bench/lib", cacheDir: mCache });
      children.push(c);
      return c;
    };
    let child = mountMusicfs();
    const m = {} as Side;
    m.firstMountMs = (await child.waitFor(/mounted at/, 600_000)).sinceSpawnMs;
    m.findMs = (await timedFind(mMnt)).ms;
    const db = new Database(join(mCache, "metadata.db"), { readonly: true });
    const vpath = (real: string) => join(mMnt, (db.query("SELECT virtual_path FROM files WHERE real_path = ?").get(real) as { virtual_path: string }).virtual_path);
    const [mA, mB] = [vpath("Big/A/01 a.flac"), vpath("Big/B/01 b.flac")];
    const aId = (db.query("SELECT id FROM files WHERE real_path = ?").get("Big/A/01 a.flac") as { id: number }).id;
    db.close();
    m.farSeekMs = await timedRead(mB, Math.floor((BIG_MIB * 1024 * 1024 * 3) / 4), 64 * 1024);
    m.ttfbMs = await timedRead(mA, 0, 4096);
    let cpu0 = cpuSeconds(child.pid);
    m.coldMBps = await ddMBps(mA);
    m.coldCpuPerMiB = (cpuSeconds(child.pid) - cpu0) / BIG_MIB;
    // The data file is checked against the manifest and renamed: from then on the kernel serves the file.
    const dataDir = join(mCache, "data", (aId % 256).toString(16).padStart(2, "0"));
    for (const t0 = performance.now(); !readdirSync(dataDir).some((n) => n.startsWith(`${aId}-`)); ) {
      if (performance.now() - t0 > 120_000) throw new Error("the data file of the cold-read file did not appear");
      await Bun.sleep(100);
    }
    await dropPages(mA);
    m.warmMBps = await ddMBps(mA);
    m.keptMBps = await ddMBps(mA);
    m.mpdBytes = await mpdScanBytes(mMnt);
    await child.stop();
    let reqs = requests();
    let t = performance.now();
    child = mountMusicfs();
    m.laterMountLsMs = await firstListingMs(mMnt, t);
    await child.waitFor(/mounted at/, 600_000);
    const replayFrom = requests();
    await ddMBps(mA);
    m.replayRequests = requests() - replayFrom;
    console.error(`musicfs requests since the restart: ${proxy.requests.slice(reqs).map((q) => `${q.method} ${q.path}`).join("; ")}`);
    m.restartRequests = requests() - reqs;
    await child.stop();

    // ── rclone ──
    const rCache = join(work, `rclone-${rtt}`);
    const rMnt = join(work, `mnt-rclone-${rtt}`);
    mkdirSync(rMnt, { recursive: true });
    const mountRclone = () => {
      const p = Bun.spawn(["rclone", "mount", "rgw:bench/lib", rMnt, "--vfs-cache-mode", "full", "--cache-dir", rCache, "--read-only"], {
        env: rcloneEnv, stdout: "ignore", stderr: "pipe",
      });
      const c = {
        pid: p.pid,
        async stop() {
          p.kill("SIGTERM");
          await p.exited;
          lazyUnmount(rMnt);
        },
      };
      children.push(c);
      return c;
    };
    const r = {} as Side;
    t = performance.now();
    let rc = mountRclone();
    await firstListingMs(rMnt, t);
    const firstFind = await timedFind(rMnt);
    r.firstMountMs = performance.now() - t;
    if (firstFind.files !== objects.length) throw new Error(`rclone lists ${firstFind.files} files, expected ${objects.length}`);
    r.findMs = (await timedFind(rMnt)).ms;
    const [rA, rB] = [join(rMnt, "Big/A/01 a.flac"), join(rMnt, "Big/B/01 b.flac")];
    r.farSeekMs = await timedRead(rB, Math.floor((BIG_MIB * 1024 * 1024 * 3) / 4), 64 * 1024);
    r.ttfbMs = await timedRead(rA, 0, 4096);
    cpu0 = cpuSeconds(rc.pid);
    r.coldMBps = await ddMBps(rA);
    r.coldCpuPerMiB = (cpuSeconds(rc.pid) - cpu0) / BIG_MIB;
    await Bun.sleep(3000);
    await dropPages(rA);
    r.warmMBps = await ddMBps(rA);
    r.keptMBps = await ddMBps(rA);
    r.mpdBytes = await mpdScanBytes(rMnt);
    await rc.stop();
    reqs = requests();
    t = performance.now();
    rc = mountRclone();
    r.laterMountLsMs = await firstListingMs(rMnt, t);
    const rReplayFrom = requests();
    await ddMBps(rA);
    r.replayRequests = requests() - rReplayFrom;
    r.restartRequests = requests() - reqs;
    await rc.stop();
    // The same bytes as a plain file on the cache disk (the bound for cached reads).
    const plain = join(work, `plain-${rtt}.bin`);
    writeFileSync(plain, objects.find(([k]) => k === "Big/A/01 a.flac")![1]);
    await dropPages(plain);
    const plainDropped = await ddMBps(plain);
    const plainKept = await ddMBps(plain);
    rmSync(plain);
    results.push({ rtt, musicfs: m, rclone: r, getMs, plainDropped, plainKept });
    console.error(JSON.stringify({ rtt, getMs, m, r }));
  }

  const ms = (x: number) => `${x.toFixed(x < 10 ? 1 : 0)} ms`;
  const pct = (x: number) => `${((100 * x) / trackBytes).toFixed(1)} % (${(x / MB).toFixed(1)} MB)`;
  console.log(`\nload average at the end: ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
  console.log(`\n| added RTT | figure | musicfs | rclone 1.60 \`--vfs-cache-mode full\` | musicfs vs rclone (> 1: musicfs better) |`);
  console.log(`|---|---|---:|---:|---:|`);
  for (const { rtt, musicfs: a, rclone: b, getMs, plainDropped, plainKept } of results) {
    const row = (name: string, x: string, y: string, ratio: string) => console.log(`| ${rtt} ms | ${name} | ${x} | ${y} | ${ratio} |`);
    const times = (x: number, y: number) => `${(y / x).toFixed(2)}×`;
    row(`first mount (musicfs: scan until ready, ${objects.length} files; rclone: mount + first find)`, ms(a.firstMountMs), ms(b.firstMountMs), times(a.firstMountMs, b.firstMountMs));
    row("`find` of the whole tree (after the first)", ms(a.findMs), ms(b.findMs), times(a.findMs, b.findMs));
    row("one ranged GET of 64 KiB on the same path (no mount; median of 7)", ms(getMs), "", "");
    row("time to first byte (open + read 4 KiB, uncached)", `${ms(a.ttfbMs)} (${(a.ttfbMs / getMs).toFixed(1)} GETs)`, ms(b.ttfbMs), times(a.ttfbMs, b.ttfbMs));
    row("far seek (64 KiB at 3/4 of an uncached file)", `${ms(a.farSeekMs)} (${(a.farSeekMs / getMs).toFixed(1)} GETs)`, ms(b.farSeekMs), times(a.farSeekMs, b.farSeekMs));
    row(`cold sequential read (${BIG_MIB} MiB, dd bs=1M)`, `${a.coldMBps.toFixed(0)} MB/s`, `${b.coldMBps.toFixed(0)} MB/s`, `${(a.coldMBps / b.coldMBps).toFixed(2)}×`);
    row("CPU of the mount's process per cold MiB (user + system, all threads)", `${(a.coldCpuPerMiB * 1000).toFixed(1)} ms`, `${(b.coldCpuPerMiB * 1000).toFixed(1)} ms`, `${(b.coldCpuPerMiB / a.coldCpuPerMiB).toFixed(2)}×`);
    row(`cached read, page cache dropped (plain file on the cache disk: ${plainDropped.toFixed(0)} MB/s)`, `${a.warmMBps.toFixed(0)} MB/s (${(a.warmMBps / plainDropped).toFixed(2)}× plain)`, `${b.warmMBps.toFixed(0)} MB/s`, `${(a.warmMBps / b.warmMBps).toFixed(2)}×`);
    row(`cached read, pages kept (plain file: ${plainKept.toFixed(0)} MB/s)`, `${a.keptMBps.toFixed(0)} MB/s (${(a.keptMBps / plainKept).toFixed(2)}× plain)`, `${b.keptMBps.toFixed(0)} MB/s`, `${(a.keptMBps / b.keptMBps).toFixed(2)}×`);
    row("bytes fetched by an MPD scan (of the 8 tracks' bytes)", pct(a.mpdBytes), pct(b.mpdBytes), "");
    row("later mount → first `ls`", ms(a.laterMountLsMs), ms(b.laterMountLsMs), times(a.laterMountLsMs, b.laterMountLsMs));
    row("replay of the cached file after a restart: requests (since restart)", `${a.replayRequests} (${a.restartRequests})`, `${b.replayRequests} (${b.restartRequests})`, "");
  }
} finally {
  for (const c of children.reverse()) await c.stop().catch(() => {});
  proxy.stop();
  await rgw.stop();
  rmSync(work, { recursive: true, force: true });
}
