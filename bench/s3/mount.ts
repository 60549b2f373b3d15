/**
 * Every figure of issue 17 in one command: musicfs and `rclone mount --vfs-cache-mode full` side by side on the same
 * library, in alternated rounds (musicfs first in even rounds, rclone first in odd ones), fresh cache dirs for every
 * mount, medians (and ranges) over the rounds.
 *
 * S3 (a real Ceph RGW on loopback, through our TCP proxy: added round-trip time, requests and bytes counted), at
 * each `--rtt`, per round:
 *   the ceiling — the same 64 MiB object read by ranged GETs of the size and depth musicfs' whole-file fetch uses
 *   (src/cas/fetch/options.ts), straight to RGW by Bun's client through the same proxy, no FUSE;
 *   then each tool: first mount, `find`, far seek (64 KiB at 3/4 of an uncached file) and time to first byte (4 KiB)
 *   in ms and in GETs (one 64 KiB ranged GET on the same path is the unit), cold sequential read (`dd bs=1M`) and
 *   its CPU per MiB (user + system of the mount's whole process tree, all threads, from /proc), cached read with
 *   the page cache dropped and with the pages kept, each paired with the same read of a plain file on the cache
 *   disk taken right after it, and (musicfs) the FUSE READs that reached the daemon during the cached reads (0:
 *   the kernel served them by passthrough). Round 1 only: bytes fetched by an MPD scan of the tracks, later mount →
 *   first `ls`, requests of a replay after a restart.
 * Local (`cache = "full"`, i.e. `--cache-mode full`, against `rclone mount DIR` of the same folder): the same cold
 * and cached reads, the origin's file in the page cache (what the tools add, not the disk's speed).
 *
 *   bun run bench/s3/mount.ts [--rtt 0,20] [--mib 64] [--rounds 3] [--no-local] [--no-s3]
 *
 * Prints the markdown rows to paste into docs/benchmarks.md, with the load average at the start and at the end.
 * Needs ceph-mon, ceph-osd, radosgw (`bun run setup`), rclone, mpd and mpc. Every mount, daemon and proxy it starts
 * is stopped by PID (and unmounted) even when it fails. The bench process never touches a mount synchronously: the
 * proxy runs in it, and a blocked event loop would stall the mount's requests.
 */
import { Database } from "bun:sqlite";
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { resolveOptions, type FetcherOptions } from "../../src/cas/fetch/options.ts";
import { writeFlac } from "../../src/sample/flacWriter.ts";
import { writeMp3 } from "../../src/sample/mp3Writer.ts";
import { silence } from "../../src/sample/tone.ts";
import { pseudoRandomBytes } from "../../test/cas/testData.ts";
import { freePort, putObjects, rgwSkipReason, startRgw } from "../../test/support/cephRgw.ts";
import { startFaultProxy } from "../../test/support/faultProxy.ts";
import { hasMpd, startMpd } from "../../test/support/mpd.ts";
import { BENCH_ROOT, flag, isMounted, lazyUnmount, median, MusicFsChild, numberList, option } from "../mount/harness.ts";
import { ddMBps, dropPages, fuseReads, MB, rangedGetsMBps, settleDisk, sh, threadCpuSeconds, timedRead, treeCpuSeconds, untilAllocated } from "./measure.ts";

const RTTS = numberList("rtt", "0,20");
const BIG_MIB = Number(option("mib", "64"));
const BIG = BIG_MIB * 1024 * 1024;
const ROUNDS = Number(option("rounds", "3"));
/** Pairs (tool, plain file) of each cached read per round. */
const PAIRS = 4;
const WITH_S3 = !flag("no-s3");
const WITH_LOCAL = !flag("no-local");
/** How musicfs' whole-file fetch reads the origin: the ceiling uses the same GETs. */
const FETCH = resolveOptions({} as FetcherOptions);

if (WITH_S3 && rgwSkipReason) {
  console.error(rgwSkipReason);
  process.exit(2);
}
if (!Bun.which("rclone") || !hasMpd) {
  console.error("rclone, mpd and mpc are needed (scripts/setup.sh installs them)");
  process.exit(2);
}

/** The library: two big files for throughput, and tracks of real sizes for the MPD scan. */
function library(): [string, Uint8Array][] {
  const flac = (i: number, size: number, artist: string) => {
    const head = writeFlac({ title: `Song ${i}`, artists: [artist], album: `Album ${i}`, track: 1 }, silence(0.01));
    const out = new Uint8Array(size);
    out.set(head);
    out.set(pseudoRandomBytes(size - head.length, i), head.length);
    return out;
  };
  const objects: [string, Uint8Array][] = [
    ["Big/A/01 a.flac", flac(100, BIG, "Big A")],
    ["Big/B/01 b.flac", flac(101, BIG, "Big B")],
  ];
  for (let i = 0; i < 8; i++) {
    const data = i % 2 === 0
      ? flac(i, 20 * MB + i * 100_000, `Artist ${i % 3}`)
      : writeMp3({ title: `Song ${i}`, artists: [`Artist ${i % 3}`], album: `Album ${i}`, track: 1 }, { seconds: 230 + i, bitrateKbps: 320 });
    objects.push([`Tracks/${i}.${i % 2 === 0 ? "flac" : "mp3"}`, data]);
  }
  return objects;
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

/** What one tool measured in one round. */
interface Side {
  firstMountMs: number;
  findMs: number;
  ttfbMs: number;
  farSeekMs: number;
  coldMBps: number;
  /** CPU ms of the mount's process tree per MiB of the cold read. */
  coldCpuMsPerMiB: number;
  /**
   * CPU ms of the mount's process tree per MiB from the cold read's start until the file is cached whole: the read
   * and the copy into the cache, which (a local origin's file read by the FUSE workers from the origin) may run on
   * after the read returned.
   */
  untilCachedCpuMsPerMiB: number;
  /** The same, of the mount's own process by thread name (threadCpuSeconds): where the cold read's CPU goes. */
  coldThreadMsPerMiB: Record<string, number>;
  /** Cached read after drop_caches, and the same read of the plain file right after it (medians of 2 pairs). */
  warmMBps: number;
  warmPlainMBps: number;
  warmVsPlain: number;
  keptMBps: number;
  keptPlainMBps: number;
  keptVsPlain: number;
  /** musicfs: FUSE READs that reached the daemon during the cached reads. */
  cachedFuseReads?: number;
  /** Round 1 only. replayRequests: requests for the cached file while it is read again after a restart. */
  mpdBytes?: number;
  laterMountLsMs?: number;
  replayRequests?: number;
  restartRequests?: number;
}

interface Round {
  musicfs: Side;
  rclone: Side;
  /** S3 only: MB/s of the ranged GETs straight to RGW, and one GET's latency (ms). */
  ceilingMBps?: number;
  getMs?: number;
}

/** A mounted tool, as a round drives it. */
interface Mounted {
  pid: number;
  /** The big file read cold, then cached. */
  fileA: string;
  /** The other big file (far seek). */
  fileB: string;
  /** Resolves once the cold-read file is completely in the tool's cache. */
  untilCached(): Promise<void>;
  stop(): Promise<unknown>;
}

const work = join(BENCH_ROOT, `s3mount-${process.pid}`);
const children: { stop(): Promise<unknown> }[] = [];
const track = <T extends { stop(): Promise<unknown> }>(c: T): T => {
  children.push(c);
  return c;
};

/**
 * Cached reads of `file` with the page cache dropped and kept, each paired with the same read of the plain file; the
 * pairs alternate which goes first (a read right after another may find the disk or the CPU in another state). The
 * pages-kept reads start after one untimed read of each: a drop before the other file's read emptied them.
 */
async function cachedReads(file: string, plain: string): Promise<Pick<Side, "warmMBps" | "warmPlainMBps" | "warmVsPlain" | "keptMBps" | "keptPlainMBps" | "keptVsPlain">> {
  const pairs = async (read: (f: string) => Promise<number>) => {
    const xs: number[] = [], ps: number[] = [], ratios: number[] = [];
    for (let i = 0; i < PAIRS; i++) {
      let x: number, p: number;
      if (i % 2 === 0) {
        x = await read(file);
        p = await read(plain);
      } else {
        p = await read(plain);
        x = await read(file);
      }
      xs.push(x), ps.push(p), ratios.push(x / p);
    }
    return [median(xs), median(ps), median(ratios)] as const;
  };
  const [warmMBps, warmPlainMBps, warmVsPlain] = await pairs(async (f) => {
    await dropPages(f);
    return ddMBps(f);
  });
  await ddMBps(file);
  await ddMBps(plain);
  const [keptMBps, keptPlainMBps, keptVsPlain] = await pairs(ddMBps);
  return { warmMBps, warmPlainMBps, warmVsPlain, keptMBps, keptPlainMBps, keptVsPlain };
}

/**
 * One tool, one round: mount on a fresh cache dir, then the figures in the order a user meets them. `firstMount`
 * resolves when the mount is ready to use (its time is the first-mount figure).
 */
async function measureSide(
  mount: () => Promise<{ m: Mounted; firstMountMs: number }>,
  mnt: string,
  plain: string,
  opts: { metricsPort?: number },
): Promise<{ side: Side; m: Mounted }> {
  const { m, firstMountMs } = await mount();
  const s = { firstMountMs } as Side;
  s.findMs = (await timedFind(mnt)).ms;
  s.farSeekMs = await timedRead(m.fileB, Math.floor((BIG * 3) / 4), 64 * 1024);
  s.ttfbMs = await timedRead(m.fileA, 0, 4096);
  const cpu0 = treeCpuSeconds(m.pid);
  const threads0 = threadCpuSeconds(m.pid);
  s.coldMBps = await ddMBps(m.fileA);
  s.coldCpuMsPerMiB = ((treeCpuSeconds(m.pid) - cpu0) * 1000) / BIG_MIB;
  const threads1 = threadCpuSeconds(m.pid);
  s.coldThreadMsPerMiB = Object.fromEntries(Object.entries(threads1).map(([g, x]) => [g, ((x - (threads0[g] ?? 0)) * 1000) / BIG_MIB]));
  // Not cached whole in time: the cached reads are measured anyway (the READ count then shows who served them), so
  // one slow completion does not cost the whole run.
  await m.untilCached().catch((e) => console.error(`warning: ${e instanceof Error ? e.message : String(e)}`));
  s.untilCachedCpuMsPerMiB = ((treeCpuSeconds(m.pid) - cpu0) * 1000) / BIG_MIB;
  await settleDisk();
  const reads0 = opts.metricsPort ? await fuseReads(opts.metricsPort) : 0;
  Object.assign(s, await cachedReads(m.fileA, plain));
  if (opts.metricsPort) s.cachedFuseReads = (await fuseReads(opts.metricsPort)) - reads0;
  return { side: s, m };
}

/** The musicfs data file of the file at `realPath` exists: the fetch completed and was verified. */
async function untilDataFile(cacheDir: string, realPath: string): Promise<void> {
  const db = new Database(join(cacheDir, "metadata.db"), { readonly: true });
  const id = (db.query("SELECT id FROM files WHERE real_path = ?").get(realPath) as { id: number }).id;
  db.close();
  const dir = join(cacheDir, "data", (id % 256).toString(16).padStart(2, "0"));
  const present = () => {
    try {
      return readdirSync(dir).some((n) => n.startsWith(`${id}-`));
    } catch {
      return false; // the shard directory is made by the first write
    }
  };
  for (const t0 = performance.now(); !present(); ) {
    if (performance.now() - t0 > 120_000) throw new Error(`the data file of ${realPath} did not appear`);
    await Bun.sleep(100);
  }
}

function virtualPath(cacheDir: string, mnt: string, realPath: string): string {
  const db = new Database(join(cacheDir, "metadata.db"), { readonly: true });
  try {
    return join(mnt, (db.query("SELECT virtual_path FROM files WHERE real_path = ?").get(realPath) as { virtual_path: string }).virtual_path);
  } finally {
    db.close();
  }
}

/** A musicfs mount of `origin` on a fresh cache dir (or `cacheDir` again, for the restart). */
function musicfsMount(origin: string, extraArgs: string[], cacheDir: string, mnt: string, metricsPort: number) {
  return async () => {
    const c = new MusicFsChild({ mnt, origin, cacheDir, extraArgs: [...extraArgs, "--metrics", `127.0.0.1:${metricsPort}`] });
    // MusicFsChild.stop skips the unmount when the process already exited (a crash): unmount anyway.
    const stop = async () => {
      await c.stop();
      lazyUnmount(mnt);
    };
    track({ stop });
    const firstMountMs = (await c.waitFor(/mounted at/, 600_000)).sinceSpawnMs;
    const m: Mounted = {
      pid: c.pid,
      fileA: virtualPath(cacheDir, mnt, "Big/A/01 a.flac"),
      fileB: virtualPath(cacheDir, mnt, "Big/B/01 b.flac"),
      untilCached: () => untilDataFile(cacheDir, "Big/A/01 a.flac"),
      stop,
    };
    return { m, firstMountMs };
  };
}

/** An `rclone mount --vfs-cache-mode full` of `remote`; ready when a first full `find` listed every file. */
function rcloneMount(remote: string, cacheDir: string, mnt: string, env: Record<string, string>, files: number) {
  return async () => {
    const t = performance.now();
    const p = Bun.spawn(["rclone", "mount", remote, mnt, "--vfs-cache-mode", "full", "--cache-dir", cacheDir, "--read-only"], {
      // its log to a file: a pipe nobody reads would block rclone once full; the file is there to read after a failure
      env, stdout: "ignore", stderr: Bun.file(`${cacheDir}.rclone.log`),
    });
    const c = track({
      async stop() {
        p.kill("SIGTERM");
        await p.exited;
        lazyUnmount(mnt);
      },
    });
    await Promise.race([
      firstListingMs(mnt, t),
      p.exited.then((code) => {
        throw new Error(`rclone exited (${code}) before the mount listed anything (log: ${cacheDir}.rclone.log)`);
      }),
    ]);
    const found = await timedFind(mnt);
    if (found.files !== files) throw new Error(`rclone lists ${found.files} files, expected ${files}`);
    const cachedA = () => {
      // rclone keeps a sparse copy under <cache-dir>/vfs/<remote>/<path>; find it by name
      const hits = Bun.spawnSync(["find", join(cacheDir, "vfs"), "-name", "01 a.flac", "-type", "f"]).stdout.toString().split("\n").filter(Boolean);
      if (hits.length !== 1) throw new Error(`rclone's cache copy of 01 a.flac not found (${hits.length})`);
      return hits[0]!;
    };
    const m: Mounted = {
      pid: p.pid,
      fileA: join(mnt, "Big/A/01 a.flac"),
      fileB: join(mnt, "Big/B/01 b.flac"),
      untilCached: () => untilAllocated(cachedA(), BIG),
      stop: () => c.stop(),
    };
    return { m, firstMountMs: performance.now() - t };
  };
}

// ───────────────────────────────────────────── output

const fmt = (x: number, unit: string) => `${Math.abs(x) < 10 && !Number.isInteger(x) ? x.toFixed(1) : Math.round(x).toLocaleString("en-US")}${unit}`;
/** Median of the rounds, with the range when there are several. */
function med(xs: number[], unit: string): string {
  const ok = xs.filter(Number.isFinite);
  if (ok.length === 0) return "n/a";
  const m = fmt(median(ok), unit);
  return ok.length === 1 ? m : `${m} (${fmt(Math.min(...ok), "")}–${fmt(Math.max(...ok), "")})`;
}
const times = (x: number) => `${x.toFixed(2)}×`;
const verdict = (ok: boolean) => (ok ? "met" : "**not met**");

function printRows(label: string, rounds: Round[], extras: { trackBytes: number; s3: boolean }): void {
  const m = (k: keyof Side) => rounds.map((r) => r.musicfs[k] as number);
  const r = (k: keyof Side) => rounds.map((x) => x.rclone[k] as number);
  const ratio = (f: (x: Round) => number) => median(rounds.map(f));
  const row = (name: string, a: string, b: string, rat: string, target = "") => console.log(`| ${label} | ${name} | ${a} | ${b} | ${rat} | ${target} |`);
  const higher = (k: keyof Side) => ratio((x) => (x.musicfs[k] as number) / (x.rclone[k] as number));
  const lower = (k: keyof Side) => ratio((x) => (x.rclone[k] as number) / (x.musicfs[k] as number));

  row(`first mount (musicfs: scan until ready; rclone: mount + first find)`, med(m("firstMountMs"), " ms"), med(r("firstMountMs"), " ms"), times(lower("firstMountMs")));
  row("`find` of the whole tree (after the first)", med(m("findMs"), " ms"), med(r("findMs"), " ms"), times(lower("findMs")));
  const cold = higher("coldMBps");
  row(`cold sequential read (${BIG_MIB} MiB, \`dd bs=1M\`)`, med(m("coldMBps"), " MB/s"), med(r("coldMBps"), " MB/s"), times(cold), `≥ 1.5× rclone: ${verdict(cold >= 1.5)}`);
  if (extras.s3) {
    const ceil = rounds.map((x) => x.ceilingMBps!);
    const frac = ratio((x) => x.musicfs.coldMBps / x.ceilingMBps!);
    row(
      `ceiling: ranged GETs of ${FETCH.segmentBytes / 1024 / 1024} MiB × ${FETCH.parallelReads} in flight straight to RGW (no FUSE); cold read as a fraction of it`,
      `${med(ceil, " MB/s")}; musicfs ${times(frac)}`, `rclone ${times(ratio((x) => x.rclone.coldMBps / x.ceilingMBps!))}`, "", `≥ 0.7× ceiling: ${verdict(frac >= 0.7)}`,
    );
  }
  const cpu = lower("coldCpuMsPerMiB");
  row("CPU per cold MiB (user + system, the mount's process tree, all threads, /proc)", med(m("coldCpuMsPerMiB"), " ms"), med(r("coldCpuMsPerMiB"), " ms"), times(cpu), `≤ rclone's: ${verdict(cpu >= 1)}`);
  row("CPU per MiB until cached whole (the cold read and the copy into the cache, which may run on after it)", med(m("untilCachedCpuMsPerMiB"), " ms"), med(r("untilCachedCpuMsPerMiB"), " ms"), times(lower("untilCachedCpuMsPerMiB")));
  // Thread names present in any round, largest share first.
  const names = [...new Set(rounds.flatMap((x) => Object.keys(x.musicfs.coldThreadMsPerMiB)))];
  const perName = names.map((n) => [n, median(rounds.map((x) => x.musicfs.coldThreadMsPerMiB[n] ?? 0))] as const)
    .filter(([, v]) => v >= 0.05).sort((a, b) => b[1] - a[1]);
  row("… musicfs by thread name (ms per cold MiB; \"bun\" is the main thread, \"fuse N\" the FUSE workers, \"hash\" the hash worker)", perName.map(([n, v]) => `${n} ${v.toFixed(1)}`).join(", "), "", "");
  const warm = higher("warmMBps");
  const warmPlain = median(rounds.map((x) => x.musicfs.warmVsPlain));
  row(
    `cached read, page cache dropped (plain file on the cache disk read right after: ${med(m("warmPlainMBps"), " MB/s")})`,
    `${med(m("warmMBps"), " MB/s")}; ${times(warmPlain)} plain`, `${med(r("warmMBps"), " MB/s")}; ${times(median(rounds.map((x) => x.rclone.warmVsPlain)))} plain`, times(warm),
    `≥ 0.9× plain: ${verdict(warmPlain >= 0.9)}; ≥ 1.5× rclone: ${verdict(warm >= 1.5)}`,
  );
  const keptPlain = median(rounds.map((x) => x.musicfs.keptVsPlain));
  row(
    `cached read, pages kept (plain file: ${med(m("keptPlainMBps"), " MB/s")})`,
    `${med(m("keptMBps"), " MB/s")}; ${times(keptPlain)} plain`, `${med(r("keptMBps"), " MB/s")}; ${times(median(rounds.map((x) => x.rclone.keptVsPlain)))} plain`, times(higher("keptMBps")),
    `≥ 0.9× plain: ${verdict(keptPlain >= 0.9)}`,
  );
  row("FUSE READs that reached musicfs during the cached reads (0: served by the kernel, passthrough)", med(m("cachedFuseReads"), ""), "", "");
  if (!extras.s3) return;
  const getMs = median(rounds.map((x) => x.getMs!));
  const ttfbGets = median(rounds.map((x) => x.musicfs.ttfbMs / x.getMs!));
  const seekGets = median(rounds.map((x) => x.musicfs.farSeekMs / x.getMs!));
  const zero = label.startsWith("0 ");
  row(`time to first byte (open + read 4 KiB, uncached; one GET of 64 KiB: ${fmt(getMs, " ms")})`, `${med(m("ttfbMs"), " ms")}; ${ttfbGets.toFixed(1)} GETs`, med(r("ttfbMs"), " ms"), times(lower("ttfbMs")), `≤ ${zero ? 3 : 2} GETs: ${verdict(ttfbGets <= (zero ? 3 : 2))}`);
  row("far seek (64 KiB at 3/4 of an uncached file)", `${med(m("farSeekMs"), " ms")}; ${seekGets.toFixed(1)} GETs`, med(r("farSeekMs"), " ms"), times(lower("farSeekMs")), `≤ ${zero ? 4 : 3} GETs: ${verdict(seekGets <= (zero ? 4 : 3))}`);
  const first = rounds[0]!;
  const pct = (x: number | undefined) => (x === undefined ? "n/a" : `${((100 * x) / extras.trackBytes).toFixed(1)} % (${(x / MB).toFixed(1)} MB)`);
  const mpd = first.musicfs.mpdBytes;
  row("bytes fetched by an MPD scan of the 8 tracks (round 1)", pct(mpd), pct(first.rclone.mpdBytes), "", `≤ 10 %: ${verdict(mpd !== undefined && mpd / extras.trackBytes <= 0.1)}`);
  row("later mount → first `ls` (round 1)", fmt(first.musicfs.laterMountLsMs!, " ms"), fmt(first.rclone.laterMountLsMs!, " ms"), times(first.rclone.laterMountLsMs! / first.musicfs.laterMountLsMs!));
  row("replay of the cached file after a restart: requests for it (all requests since the restart, listings included; round 1)", `${first.musicfs.replayRequests} (${first.musicfs.restartRequests})`, `${first.rclone.replayRequests} (${first.rclone.restartRequests})`, "");
}

// ───────────────────────────────────────────── the run

const load0 = loadavg();
const started = performance.now();
const objects = library();
const libraryBytes = objects.reduce((n, [, v]) => n + v.length, 0);
const trackBytes = objects.filter(([k]) => k.startsWith("Tracks/")).reduce((n, [, v]) => n + v.length, 0);
const bigA = objects.find(([k]) => k === "Big/A/01 a.flac")![1];
const results: { label: string; rounds: Round[]; s3: boolean }[] = [];
const failedRounds: string[] = [];
const rgw = WITH_S3 ? await startRgw() : undefined;
const proxy = rgw ? startFaultProxy({ port: rgw.port }) : undefined;
try {
  mkdirSync(work, { recursive: true });
  // The bound for cached reads: the same bytes as a plain file on the cache disk.
  const plain = join(work, "plain.bin");
  writeFileSync(plain, bigA);
  /** A fresh, empty directory (a used one is renamed away first: a daemon may still be writing into it). */
  const fresh = (name: string) => {
    const dir = join(work, name);
    try {
      renameSync(dir, `${dir}.old-${Date.now()}`);
    } catch {}
    mkdirSync(dir, { recursive: true });
    return dir;
  };
  /**
   * Both tools, in this round's order. A tool that fails (a mount that does not come up, a read error) loses the
   * round, not the run: its mounts are stopped at once and the round is left out of the medians (said on stderr and
   * in the header).
   */
  const oneRound = async (label: string, round: number, tools: { musicfs: () => Promise<Side>; rclone: () => Promise<Side> }): Promise<Pick<Round, "musicfs" | "rclone"> | undefined> => {
    const order: ("musicfs" | "rclone")[] = round % 2 === 0 ? ["musicfs", "rclone"] : ["rclone", "musicfs"];
    const out = {} as Pick<Round, "musicfs" | "rclone">;
    for (const tool of order) {
      const mark = children.length;
      try {
        out[tool] = await tools[tool]();
      } catch (e) {
        console.error(`${label} round ${round + 1} ${tool} FAILED, round left out: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
        if (tool === "rclone") console.error(`rclone's log, last lines:\n${Bun.spawnSync(["sh", "-c", `ls -t "${work}"/*.rclone.log | head -1 | xargs -r -d '\\n' tail -n 20`]).stdout.toString()}`);
        for (const c of children.splice(mark).reverse()) await c.stop().catch(() => {});
        failedRounds.push(`${label} round ${round + 1} (${tool})`);
        return undefined;
      }
      console.error(`${label} round ${round + 1} ${tool}: ${JSON.stringify(out[tool])} (load ${loadavg()[0]!.toFixed(2)}, ${((performance.now() - started) / 1000).toFixed(0)} s)`);
    }
    return out;
  };

  if (rgw && proxy) {
    await rgw.createBucket("bench");
    await putObjects(rgw.client("bench"), objects.map(([k, v]) => [`lib/${k}`, v]), 8);
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
    const client = new Bun.S3Client({ endpoint: proxy.endpoint, bucket: "bench", accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey, region: rgw.region });
    /** One GET's latency on the same path (64 KiB, a warm connection, median of 7): the unit of the TTFB and seek targets. */
    const oneGetMs = async () => {
      const file = client.file("lib/Big/B/01 b.flac");
      await file.slice(0, 65536).arrayBuffer();
      const xs: number[] = [];
      for (let i = 0; i < 7; i++) {
        const t = performance.now();
        await file.slice(i * 1_000_000, i * 1_000_000 + 65536).arrayBuffer();
        xs.push(performance.now() - t);
      }
      return median(xs);
    };
    /** Bytes the store sent while a fresh MPD scanned the mount. */
    const mpdScanBytes = async (mnt: string) => {
      const before = proxy.bytesToClients;
      const mpd = await startMpd({ musicDir: mnt });
      try {
        await mpd.update(600_000);
      } finally {
        await mpd.stop();
      }
      return proxy.bytesToClients - before;
    };
    /** Round 1's extras: MPD scan, then restart on the same cache dir: first `ls`, and the replay's requests. */
    const extras = async (side: Side, m: Mounted, mnt: string, remount: () => Promise<{ m: Mounted }>, untilReady: (m: Mounted) => Promise<unknown>) => {
      side.mpdBytes = await mpdScanBytes(mnt);
      await m.stop();
      const reqs = proxy.requests.length;
      const t = performance.now();
      const again = remount();
      side.laterMountLsMs = await firstListingMs(mnt, t);
      const m2 = (await again).m;
      await untilReady(m2);
      const from = proxy.requests.length;
      await ddMBps(m2.fileA);
      // Requests for the file itself: the listings of the start-up delta sync may land during the replay too.
      side.replayRequests = proxy.requests.slice(from).filter((q) => q.path.includes("01%20a.flac")).length;
      console.error(`requests since the restart (replay from #${from - reqs + 1}): ${proxy.requests.slice(reqs).map((q) => `${q.method} ${q.path}`).join("; ")}`);
      side.restartRequests = proxy.requests.length - reqs;
      await m2.stop();
    };

    for (const rtt of RTTS) {
      const label = `${rtt} ms`;
      const rounds: Round[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        proxy.delayMs = rtt / 2;
        const getMs = await oneGetMs();
        const ceilings: number[] = [];
        for (let i = 0; i < 3; i++) ceilings.push(await rangedGetsMBps(client.file("lib/Big/A/01 a.flac"), BIG, FETCH.segmentBytes, FETCH.parallelReads));
        const pair = await oneRound(label, round, {
          musicfs: async () => {
            const cacheDir = fresh(`musicfs-${rtt}-${round}`);
            const mnt = fresh(`mnt-musicfs-${rtt}`);
            const port = freePort();
            const mount = musicfsMount("s3://bench/lib", [], cacheDir, mnt, port);
            const { side, m } = await measureSide(mount, mnt, plain, { metricsPort: port });
            if (round === 0) await extras(side, m, mnt, musicfsMount("s3://bench/lib", [], cacheDir, mnt, freePort()), async () => {});
            else await m.stop();
            return side;
          },
          rclone: async () => {
            const cacheDir = fresh(`rclone-${rtt}-${round}`);
            const mnt = fresh(`mnt-rclone-${rtt}`);
            const mount = rcloneMount("rgw:bench/lib", cacheDir, mnt, rcloneEnv, objects.length);
            const { side, m } = await measureSide(mount, mnt, plain, {});
            if (round === 0) await extras(side, m, mnt, mount, async () => {});
            else await m.stop();
            return side;
          },
        });
        if (pair) rounds.push({ ...pair, ceilingMBps: median(ceilings), getMs });
      }
      results.push({ label, rounds, s3: true });
    }
  }

  if (WITH_LOCAL) {
    // The same library as a local folder on the cache disk; the origin's files stay in the page cache (written just
    // now, and read again each round): what each tool adds on top of reading a file, not the disk's speed.
    const lib = join(work, "local-lib");
    for (const [k, v] of objects) {
      mkdirSync(dirname(join(lib, k)), { recursive: true });
      writeFileSync(join(lib, k), v);
    }
    const rounds: Round[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const pair = await oneRound("local", round, {
        musicfs: async () => {
          const cacheDir = fresh(`musicfs-local-${round}`);
          const mnt = fresh("mnt-musicfs-local");
          const port = freePort();
          const { side, m } = await measureSide(musicfsMount(lib, ["--cache-mode", "full"], cacheDir, mnt, port), mnt, plain, { metricsPort: port });
          await m.stop();
          return side;
        },
        rclone: async () => {
          const cacheDir = fresh(`rclone-local-${round}`);
          const mnt = fresh("mnt-rclone-local");
          const { side, m } = await measureSide(rcloneMount(lib, cacheDir, mnt, process.env as Record<string, string>, objects.length), mnt, plain, {});
          await m.stop();
          return side;
        },
      });
      if (pair) rounds.push(pair);
    }
    results.push({ label: "local", rounds, s3: false });
  }

  const load1 = loadavg();
  console.log(`\n\`bun run bench/s3/mount.ts ${process.argv.slice(2).join(" ")}\`: ${objects.length} files (${(libraryBytes / MB).toFixed(0)} MB), ${ROUNDS} alternated rounds, medians (range); ` +
    `${((performance.now() - started) / 1000).toFixed(0)} s; load average at the start ${load0.map((x) => x.toFixed(2)).join(" ")}, at the end ${load1.map((x) => x.toFixed(2)).join(" ")}` +
    (process.getuid?.() === 0 ? "; as root (FUSE passthrough where the kernel has it)" : "; not root (no passthrough; page cache dropped per file only)") +
    (failedRounds.length > 0 ? `; **left out (failed): ${failedRounds.join(", ")}**` : ""));
  console.log(`\n| added RTT | figure | musicfs | rclone \`--vfs-cache-mode full\` | musicfs vs rclone (> 1: musicfs better) | issue 17 target |`);
  console.log(`|---|---|---:|---:|---:|---|`);
  for (const { label, rounds, s3 } of results) {
    if (rounds.length > 0) printRows(label, rounds, { trackBytes, s3 });
    else console.log(`| ${label} | every round failed (stderr says why) | | | | |`);
  }
} finally {
  for (const c of children.reverse()) await c.stop().catch(() => {});
  proxy?.stop();
  await rgw?.stop();
  rmSync(work, { recursive: true, force: true });
}
