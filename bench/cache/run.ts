/**
 * Content cache at mount level (issue 4): `--cache-mode full` on a library of a few large files on a local origin.
 *
 *   bun run bench/cache/run.ts                     8 × 64 MiB files, 3 rounds
 *   bun run bench/cache/run.ts --quick             2 × 16 MiB files, 1 round
 *   options: --files N  --mib M  --rounds R
 *
 * The files (BENCH_ROOT/big-N-M) are a real FLAC header with tags (each file its own artist and album, so no album
 * prefetch links them) followed by random bytes (nothing for content-defined chunking to deduplicate). Per round,
 * with a NEW cache dir:
 *   - time to first byte: open + read 4 KiB of a file never read (the fetch from the origin included);
 *   - cold sequential read through the mount (`dd bs=1M`, every chunk fetched from the origin and stored);
 *   - then a remount (the mount's page cache is new, the chunks are on disk) and a warm sequential read of each file,
 *     after dropping that file's pages (`dd iflag=nocache count=0`) — served from the chunk store;
 *   - the same file once more in that mount, pages dropped again: the workers verified (hashed) its chunks on the
 *     first read, so this isolates the cost of verification;
 *   - side by side, the same file read directly on the origin: warm page cache, and with its pages dropped.
 * Targets: warm cached sequential ≥ 1.2 GB/s; cold time to first byte ≤ 50 ms.
 */
import { Database } from "bun:sqlite";
import { closeSync, existsSync, mkdirSync, openSync, readSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeFlac } from "../../src/sample/flacWriter.ts";
import { silence } from "../../src/sample/tone.ts";
import { BENCH_ROOT, flag, freshMountpoint, leftoverMounts, load1, median, mountAndWait, ms, option, sh } from "../mount/harness.ts";

const QUICK = flag("quick");
const FILES = Number(option("files", QUICK ? "2" : "8"));
const MIB = Number(option("mib", QUICK ? "16" : "64"));
const ROUNDS = Number(option("rounds", QUICK ? "1" : "3"));
const LIB = join(BENCH_ROOT, `big-${FILES}x${MIB}`);

/** FLAC header + tags, then random bytes up to MIB MiB. Reused when present with the right size. */
function ensureBigLibrary(): string[] {
  const paths: string[] = [];
  for (let i = 0; i < FILES; i++) {
    const dir = join(LIB, `Artist ${i}`, `Album ${i}`);
    const path = join(dir, `01 Track ${i}.flac`);
    paths.push(path);
    if (existsSync(path) && statSync(path).size === MIB * 1024 * 1024) continue;
    mkdirSync(dir, { recursive: true });
    const head = writeFlac(
      { title: `Track ${i}`, artists: [`Artist ${i}`], album: `Album ${i}`, albumArtist: `Artist ${i}`, track: 1, year: 2000 + i, genre: "Noise" },
      silence(0.01),
    );
    writeFileSync(path, head);
    sh(`head -c ${MIB * 1024 * 1024 - head.length} /dev/urandom >> '${path}'`);
  }
  return paths;
}

/** GB/s of `dd if=FILE of=/dev/null bs=1M` (dd's own byte count and time). */
function ddGBps(file: string): number {
  const out = sh(`dd if='${file}' of=/dev/null bs=1M 2>&1`);
  const m = out.match(/(\d+) bytes .* copied, ([\d.]+) s/);
  if (!m) throw new Error(`cannot parse dd output: ${out}`);
  return Number(m[1]) / Number(m[2]) / 1e9;
}

/** Drops one file's cached pages (fadvise DONTNEED), leaving everything else cached. */
function dropPages(file: string): void {
  sh(`dd if='${file}' iflag=nocache count=0 status=none`);
}

/** open + read 4 KiB: what a player waits for before it can start. */
function timeToFirstByteMs(file: string): number {
  const t = performance.now();
  const fd = openSync(file, "r");
  try {
    const n = readSync(fd, Buffer.alloc(4096), 0, 4096, 0);
    if (n !== 4096) throw new Error(`short read ${n}`);
  } finally {
    closeSync(fd);
  }
  return performance.now() - t;
}

function virtualPaths(cacheDir: string): Map<string, string> {
  const db = new Database(join(cacheDir, "metadata.db"), { readonly: true });
  try {
    const rows = db.query("SELECT real_path AS real, virtual_path AS virtual FROM files").all() as { real: string; virtual: string }[];
    return new Map(rows.map((r) => [r.real, r.virtual]));
  } finally {
    db.close();
  }
}

async function waitForManifests(cacheDir: string, count: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const db = new Database(join(cacheDir, "metadata.db"), { readonly: true });
    const n = (db.query("SELECT count(*) AS n FROM files WHERE chunk_manifest IS NOT NULL").get() as { n: number }).n;
    db.close();
    if (n >= count) return;
    if (Date.now() > deadline) throw new Error(`only ${n}/${count} manifests persisted`);
    await Bun.sleep(200);
  }
}

interface Round {
  ttfbMs: number;
  coldGBps: number[];
  warmGBps: number[];
  /** The same file again in the same mount, pages dropped: its chunks were already verified (SHA-256) by the workers. */
  rereadGBps: number[];
  originWarmGBps: number[];
  originColdGBps: number[];
}

async function measureRound(paths: string[], round: number): Promise<Round> {
  const cacheDir = join(BENCH_ROOT, `cbig-${process.pid}`);
  rmSync(cacheDir, { recursive: true, force: true });
  const mnt = freshMountpoint("cache");
  const args = ["--cache-mode", "full"];
  const r: Round = { ttfbMs: NaN, coldGBps: [], warmGBps: [], rereadGBps: [], originWarmGBps: [], originColdGBps: [] };
  try {
    let { child } = await mountAndWait({ mnt, origin: LIB, cacheDir, extraArgs: args });
    try {
      const vpaths = virtualPaths(cacheDir);
      const inMount = (p: string) => join(mnt, vpaths.get(p.slice(LIB.length + 1))!);
      // Each round starts time-to-first-byte on another file; nothing of it is cached (new cache dir).
      const first = paths[round % paths.length]!;
      r.ttfbMs = timeToFirstByteMs(inMount(first));
      for (const p of paths) if (p !== first) r.coldGBps.push(ddGBps(inMount(p)));
      ddGBps(inMount(first)); // complete the first file too, so every file is cached for the warm pass
      await waitForManifests(cacheDir, paths.length);
    } finally {
      await child.stop();
    }
    // Remount: the mount's page cache starts empty, the chunks are in the cache dir.
    ({ child } = await mountAndWait({ mnt, origin: LIB, cacheDir, extraArgs: args }));
    try {
      const vpaths = virtualPaths(cacheDir);
      for (const p of paths) {
        const v = join(mnt, vpaths.get(p.slice(LIB.length + 1))!);
        dropPages(v);
        r.warmGBps.push(ddGBps(v));
        dropPages(v);
        r.rereadGBps.push(ddGBps(v));
        ddGBps(p); // the origin file warm in the page cache
        r.originWarmGBps.push(ddGBps(p));
        dropPages(p);
        r.originColdGBps.push(ddGBps(p));
      }
    } finally {
      await child.stop();
    }
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
    rmSync(mnt, { recursive: true, force: true });
  }
  return r;
}

const paths = ensureBigLibrary();
const loadBefore = load1();
const rounds: Round[] = [];
try {
  for (let i = 0; i < ROUNDS; i++) {
    console.error(`round ${i + 1}/${ROUNDS}…`);
    rounds.push(await measureRound(paths, i));
  }
} finally {
  const left = leftoverMounts();
  if (left.length) console.error(`leftover mounts: ${left.join("; ")}`);
}
const all = (f: (r: Round) => number[]) => rounds.flatMap(f);
const gb = (xs: number[]) => `${median(xs).toFixed(2)} GB/s (min ${Math.min(...xs).toFixed(2)}, max ${Math.max(...xs).toFixed(2)})`;
const warm = median(all((r) => r.warmGBps));
const ttfb = median(rounds.map((r) => r.ttfbMs));
console.log(`\n### Content cache, ${FILES} × ${MIB} MiB, ${ROUNDS} rounds (load average ${loadBefore} before, ${load1()} after)\n`);
console.log("| figure | median | target |");
console.log("|---|---:|---|");
console.log(`| cold time to first byte (open + read 4 KiB, uncached, local origin), median of ${rounds.length} | ${ms(ttfb)} (runs: ${rounds.map((r) => ms(r.ttfbMs)).join(", ")}) | ≤ 50 ms: ${ttfb <= 50 ? "met" : "**not met**"} |`);
console.log(`| cold sequential read through the cache (fetch + store), ${all((r) => r.coldGBps).length} files | ${gb(all((r) => r.coldGBps))} | |`);
console.log(`| origin directly, pages dropped first | ${gb(all((r) => r.originColdGBps))} | |`);
console.log(`| warm sequential read from the cache (remounted, file pages dropped), ${all((r) => r.warmGBps).length} files | ${gb(all((r) => r.warmGBps))} | ≥ 1.2 GB/s: ${warm >= 1.2 ? "met" : "**not met**"} |`);
console.log(`| … the same file re-read in the same mount, pages dropped (chunks already verified) | ${gb(all((r) => r.rereadGBps))} | |`);
console.log(`| origin directly, warm page cache | ${gb(all((r) => r.originWarmGBps))} | |`);
console.log(`\nSUMMARY cache: warm ${warm.toFixed(2)} GB/s, cold ${median(all((r) => r.coldGBps)).toFixed(2)} GB/s, ttfb ${ms(ttfb)}`);
