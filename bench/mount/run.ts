/**
 * Mount-level benchmark (issue 3): musicfs from source, as a child process, on synthetic tiny libraries.
 *
 *   bun run bench/mount/run.ts                                 10k and 100k (default)
 *   bun run bench/mount/run.ts --sizes 10000,100000,1000000    also 1M (generation + first scan take minutes)
 *   bun run bench/mount/run.ts --quick                         10k only, 3 remounts
 *   options: --remounts N (default 5)  --rescan (redo the first scan even when the cache dir has one)
 *
 * Libraries live in $MUSICFS_BENCH_DIR (default /var/tmp/mfsbench) as lib10k, lib100k, lib1m (generated with
 * bench/generate.ts --tiny --seed 1 when missing); their cache dirs are c10k, c100k, c1m. Per size:
 *   1. first mount: scan throughput (the "Scan complete" line) and wall time from spawn to "mounted at" — only when
 *      the cache dir has no database yet (or --rescan), since a later mount never scans;
 *   2. N later mounts: spawn → first non-empty readdir of the root; RSS after mount / after the background delta sync
 *      / after `find MNT -type f` (last remount only); `ls -l` of an album folder and `stat` of a file, cold (first
 *      after mount, median over the remounts) and warm (median of 20 / 500 runs), against the same folder and file on
 *      the origin; the delta sync time of the unchanged library; SIGTERM-to-exit.
 * Prints a Markdown table per size for docs/benchmarks.md.
 */
import { Database } from "bun:sqlite";
import { existsSync, lstatSync, readdirSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  CLI, DELTA_SYNC_LINE, MusicFsChild, SCAN_LINE, cacheDirFor, ensureLibrary, flag, freshMountpoint, int, lazyUnmount, leftoverMounts,
  load1, mb, median, memoryOf, mountAndWait, ms, numberList, option, parseDeltaSync, pollFirstListing, sh, timeSync,
} from "./harness.ts";

const QUICK = flag("quick");
const SIZES = QUICK ? [10_000] : numberList("sizes", "10000,100000");
const REMOUNTS = Number(option("remounts", QUICK ? "3" : "5"));
const RESCAN = flag("rescan");
const LS_RUNS = 20;
const STAT_RUNS = 500;

/** What `ls -l DIR` asks the kernel: the listing, then an lstat per entry. */
function lsLong(dir: string): void {
  for (const name of readdirSync(dir)) lstatSync(join(dir, name));
}

function medianOfRuns(runs: number, fn: () => void): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(timeSync(fn));
  return median(times);
}

/** Two placed tracks in different albums, by virtual and real path (read from the database, read-only). */
function pickSamples(cacheDir: string): { album: { virtual: string; real: string }; file: { virtual: string; real: string } } {
  const db = new Database(join(cacheDir, "metadata.db"), { readonly: true });
  try {
    const count = (db.query("SELECT count(*) AS n FROM files").get() as { n: number }).n;
    const at = (offset: number) =>
      db.query("SELECT virtual_path AS virtual, real_path AS real FROM files WHERE virtual_path IS NOT NULL ORDER BY id LIMIT 1 OFFSET ?")
        .get(offset) as { virtual: string; real: string };
    const a = at(Math.floor(count / 2));
    const f = at(Math.floor(count / 3));
    return { album: { virtual: dirname(a.virtual), real: dirname(a.real) }, file: f };
  } finally {
    db.close();
  }
}

interface FirstScan {
  filesPerSecond: number;
  scanSeconds: number;
  placeMs: number;
  readyMs: number;
  rssAfterScanKiB: number;
  load: string;
}

async function measureFirstScan(origin: string, cacheDir: string): Promise<FirstScan> {
  rmSync(cacheDir, { recursive: true, force: true });
  const mnt = freshMountpoint("first");
  const load = load1();
  const { child, readyMs } = await mountAndWait({ mnt, origin, cacheDir });
  try {
    const m = (await child.waitFor(SCAN_LINE, 10_000)).match;
    const rss = memoryOf(child.pid).rssKiB;
    return { filesPerSecond: +m[3]!, scanSeconds: +m[2]!, placeMs: +m[5]!, readyMs, rssAfterScanKiB: rss, load };
  } finally {
    await child.stop();
    rmSync(mnt, { recursive: true, force: true });
  }
}

interface Remount {
  firstLsMs: number;
  /** Spawn → the mount appears in /proc/mounts (the first `ls` then also lists the whole root folder). */
  mountedMs: number;
  rootEntries: number;
  /** musicfs's own "ready in X ms" (from opening the database to mounted), without Bun's start-up. */
  readyInMs: number;
  memAfterMount: { rssKiB: number; anonKiB: number };
  memAfterSync: { rssKiB: number; anonKiB: number };
  syncSeconds: number;
  coldLsMs: number;
  warmLsMs: number;
  coldStatMs: number;
  warmStatMs: number;
  originLsMs: number;
  originStatMs: number;
  exitMs: number;
  find?: { files: number; ms: number; mem: { rssKiB: number; anonKiB: number } };
}

async function measureRemount(origin: string, cacheDir: string, withFind: boolean): Promise<Remount> {
  const samples = pickSamples(cacheDir);
  const mnt = freshMountpoint("remount");
  const child = new MusicFsChild({ mnt, origin, cacheDir });
  try {
    const { firstLsMs, mountedMs } = pollFirstListing(mnt, child.startedAt);
    const memAfterMount = memoryOf(child.pid);
    const ready = await child.waitFor(/ready in (\d+) ms/, 10_000);
    const readyInMs = Number(ready.match[1]);
    const rootEntries = readdirSync(mnt).length;
    // Cold: the first lookups after mount (the kernel has nothing cached for this mount yet). The stat's file is in
    // another album than the listed one, so neither warms the other.
    const coldStatMs = timeSync(() => statSync(join(mnt, samples.file.virtual)));
    const albumDir = join(mnt, samples.album.virtual);
    const coldLsMs = timeSync(() => lsLong(albumDir));
    const warmLsMs = medianOfRuns(LS_RUNS, () => lsLong(albumDir));
    const warmStatMs = medianOfRuns(STAT_RUNS, () => statSync(join(mnt, samples.file.virtual)));
    const originAlbum = join(origin, samples.album.real);
    const originLsMs = medianOfRuns(LS_RUNS, () => lsLong(originAlbum));
    const originStatMs = medianOfRuns(STAT_RUNS, () => statSync(join(origin, samples.file.real)));

    const sync = parseDeltaSync((await child.waitFor(DELTA_SYNC_LINE, 1_800_000)).match);
    const memAfterSync = memoryOf(child.pid);
    let find: Remount["find"];
    if (withFind) {
      const t = performance.now();
      const files = Number(sh(`find '${mnt}' -type f | wc -l`).trim());
      find = { files, ms: performance.now() - t, mem: memoryOf(child.pid) };
    }
    const { exitMs } = await child.stop();
    return {
      firstLsMs, mountedMs, rootEntries, readyInMs, memAfterMount, memAfterSync, syncSeconds: sync.seconds, coldLsMs, warmLsMs, coldStatMs, warmStatMs,
      originLsMs, originStatMs, exitMs, find,
    };
  } finally {
    await child.stop();
    lazyUnmount(mnt);
    rmSync(mnt, { recursive: true, force: true });
  }
}

function report(size: number, first: FirstScan | null, runs: Remount[], loadBefore: string, loadAfter: string) {
  const med = (f: (r: Remount) => number) => median(runs.map(f));
  const last = runs.at(-1)!;
  const ok = (value: number, target: number) => (value <= target ? "met" : "**not met**");
  const targetLs = size >= 1_000_000 ? 500 : size >= 100_000 ? 300 : Infinity;
  const rows: [string, string, string][] = [];
  if (first) {
    rows.push(["first scan throughput", `${int(first.filesPerSecond)} files/s (${first.scanSeconds} s scan + ${int(first.placeMs)} ms placement; load ${first.load})`, ""]);
    rows.push(["first mount: spawn → ready", ms(first.readyMs), ""]);
    rows.push(["RSS after the first scan", mb(first.rssAfterScanKiB), ""]);
  }
  const firstLs = med((r) => r.firstLsMs);
  rows.push([`later mount: spawn → first \`ls\` of root (median of ${runs.length})`, `${ms(firstLs)} (min ${ms(Math.min(...runs.map((r) => r.firstLsMs)))}, max ${ms(Math.max(...runs.map((r) => r.firstLsMs)))})`, Number.isFinite(targetLs) ? `≤ ${targetLs} ms: ${ok(firstLs, targetLs)}` : ""]);
  rows.push([`… spawn → mount in /proc/mounts (then the first \`ls\` lists ${int(last.rootEntries)} root entries)`, ms(med((r) => r.mountedMs)), ""]);
  rows.push(["… of which musicfs's own \"ready in\" (database open → mounted)", ms(med((r) => r.readyInMs)), ""]);
  rows.push(["… for comparison: `bun src/cli/main.ts --version` (Bun start-up + CLI import)", ms(bunStartupMs), ""]);
  const rss = med((r) => r.memAfterMount.rssKiB);
  rows.push(["RSS / anonymous after mount", `${mb(rss)} / ${mb(med((r) => r.memAfterMount.anonKiB))}`, size >= 1_000_000 ? `≤ 150 MB: ${ok(rss / 1024, 150)}` : ""]);
  rows.push(["RSS / anonymous after the delta sync", `${mb(med((r) => r.memAfterSync.rssKiB))} / ${mb(med((r) => r.memAfterSync.anonKiB))}`, ""]);
  if (last.find) {
    rows.push([`RSS / anonymous after \`find MNT -type f \\| wc -l\``, `${mb(last.find.mem.rssKiB)} / ${mb(last.find.mem.anonKiB)} (find: ${int(last.find.files)} files in ${ms(last.find.ms)})`, ""]);
  }
  rows.push(["`ls -l` album, cold (first after mount)", ms(med((r) => r.coldLsMs)), ""]);
  rows.push([`\`ls -l\` album, warm (median of ${LS_RUNS})`, ms(med((r) => r.warmLsMs)), ""]);
  rows.push(["`ls -l` same folder on the origin (warm)", ms(med((r) => r.originLsMs)), ""]);
  rows.push(["`stat` file, cold (first after mount)", ms(med((r) => r.coldStatMs)), ""]);
  rows.push([`\`stat\` file, warm (median of ${STAT_RUNS})`, ms(med((r) => r.warmStatMs)), ""]);
  rows.push(["`stat` same file on the origin (warm)", ms(med((r) => r.originStatMs)), ""]);
  rows.push(["background delta sync, unchanged library", `${med((r) => r.syncSeconds).toFixed(1)} s`, ""]);
  rows.push(["SIGTERM → exit (after the sync)", ms(med((r) => r.exitMs)), ""]);

  console.log(`\n### ${int(size)} files (load average ${loadBefore} before, ${loadAfter} after; ${runs.length} remounts)\n`);
  console.log("| figure | median | target |");
  console.log("|---|---:|---|");
  for (const [name, value, target] of rows) console.log(`| ${name} | ${value} | ${target} |`);
}

/** Bun start-up plus importing the CLI: the floor under any "spawn → first ls" time. */
function measureBunStartup(): number {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) times.push(timeSync(() => sh(`bun '${CLI}' --version`)));
  return median(times);
}

const bunStartupMs = measureBunStartup();
const summary: string[] = [];
try {
  for (const size of SIZES) {
    const loadBefore = load1();
    const origin = await ensureLibrary(size);
    const cacheDir = cacheDirFor(size);
    let first: FirstScan | null = null;
    if (RESCAN || QUICK || !existsSync(join(cacheDir, "metadata.db"))) {
      console.error(`[${int(size)}] first mount (scan)…`);
      first = await measureFirstScan(origin, cacheDir);
    }
    const runs: Remount[] = [];
    for (let i = 0; i < REMOUNTS; i++) {
      console.error(`[${int(size)}] remount ${i + 1}/${REMOUNTS}…`);
      runs.push(await measureRemount(origin, cacheDir, i === REMOUNTS - 1));
    }
    report(size, first, runs, loadBefore, load1());
    summary.push(`mount ${int(size)}: first ls ${ms(median(runs.map((r) => r.firstLsMs)))}, RSS ${mb(median(runs.map((r) => r.memAfterMount.rssKiB)))}`);
  }
} finally {
  const left = leftoverMounts();
  if (left.length) console.error(`leftover mounts: ${left.join("; ")}`);
}
console.log(`\nSUMMARY ${summary.join(" | ")}`);
