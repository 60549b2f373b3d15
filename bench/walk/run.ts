/**
 * Whole-tree walks (issue 12): what a player's library scan, `find`, `du` and `rsync` do. musicfs from source as a
 * child process on the synthetic 100k library, side by side with the SAME tree on ext4 in one run.
 *
 *   bun run bench/walk/run.ts                        100k files, 3 rounds, 3 warm walks per round (as root)
 *   bun run bench/walk/run.ts --files 10000 --rounds 1 --warm 2      quick
 *   options: --no-drop-caches (non-root: "cold" is then only a fresh mount's empty kernel caches)
 *            --cache-dir DIR (default BENCH_ROOT/c100k-walk; a first mount scans into it when it has no database)
 *
 * The ext4 side is a mirror of the mount's tree: every placed file hard-linked under its virtual path
 * (BENCH_ROOT/walkmirror-<size>, rebuilt when the database has a different number of placed files), so both sides
 * have the same directories, names and file inodes. The mount also shows /.search and /.collections; their few
 * entries are in the mount's counts, not the mirror's.
 *
 * Per round, for each walk (`find DIR -type f`, `ls -lR DIR`):
 *   cold ext4:  echo 3 > /proc/sys/vm/drop_caches; walk the mirror
 *   cold mount: echo 3 > /proc/sys/vm/drop_caches; start `musicfs mount` (a later mount: the database exists);
 *               walk as soon as it is mounted ("first walk after a later mount"; the background delta sync starts
 *               at the same time, as it does for a user)
 *   warm:       --warm more walks of each, alternating ext4 and the mount
 * and prints medians and the ratios mount/ext4 (median of the per-round ratios, measured side by side).
 */
import { Database } from "bun:sqlite";
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  BENCH_ROOT, cacheDirFor, ensureLibrary, flag, freshMountpoint, int, lazyUnmount, leftoverMounts, load1, median,
  mountAndWait, ms, option, sizeLabel,
} from "../mount/harness.ts";

const FILES = Number(option("files", "100000"));
const ROUNDS = Number(option("rounds", "3"));
const WARM = Number(option("warm", "3"));
const DROP = process.getuid?.() === 0 && !flag("no-drop-caches");

const WALKS = {
  find: (dir: string) => ["find", dir, "-type", "f"],
  "ls -lR": (dir: string) => ["ls", "-lR", dir],
} as const;
type WalkName = keyof typeof WALKS;

function dropCaches(): void {
  if (!DROP) return;
  Bun.spawnSync(["sync"]);
  Bun.spawnSync(["sh", "-c", "echo 3 > /proc/sys/vm/drop_caches"]);
}

/** Runs one walk to completion; returns its wall time and how many lines it printed. */
async function walk(name: WalkName, dir: string): Promise<{ ms: number; lines: number }> {
  const t = performance.now();
  const p = Bun.spawn([...WALKS[name](dir)], { stdout: "pipe", stderr: "inherit" });
  let lines = 0;
  for await (const chunk of p.stdout) for (const b of chunk) if (b === 10) lines++;
  const code = await p.exited;
  const elapsed = performance.now() - t;
  if (code !== 0) throw new Error(`${WALKS[name](dir).join(" ")} exited ${code}`);
  return { ms: elapsed, lines };
}

/** The library's tree on ext4: every placed file hard-linked at its virtual path. */
function ensureMirror(origin: string, cacheDir: string): { dir: string; files: number } {
  const dir = join(BENCH_ROOT, `walkmirror-${sizeLabel(FILES)}`);
  const db = new Database(join(cacheDir, "metadata.db"), { readonly: true });
  try {
    const rows = db.query("SELECT virtual_path AS v, real_path AS r FROM files WHERE virtual_path IS NOT NULL").all() as { v: string; r: string }[];
    const stamp = join(dir, ".mirror-files");
    if (existsSync(stamp) && Number(readFileSync(stamp, "utf8")) === rows.length) return { dir, files: rows.length };
    console.error(`building the ext4 mirror of ${int(rows.length)} files in ${dir} …`);
    rmSync(dir, { recursive: true, force: true });
    const tree = join(dir, "tree");
    const made = new Set<string>();
    for (const { v, r } of rows) {
      const target = join(tree, v);
      const parent = dirname(target);
      if (!made.has(parent)) {
        mkdirSync(parent, { recursive: true });
        made.add(parent);
      }
      linkSync(join(origin, r), target);
    }
    Bun.write(stamp, String(rows.length));
    return { dir, files: rows.length };
  } finally {
    db.close();
  }
}

interface Sample {
  ext4Cold: number;
  fuseCold: number;
  ext4Warm: number[];
  fuseWarm: number[];
  lines: { ext4: number; fuse: number };
}

async function round(name: WalkName, origin: string, cacheDir: string, mirror: string): Promise<Sample> {
  dropCaches();
  const ext4Cold = await walk(name, mirror);
  dropCaches();
  const mnt = freshMountpoint("walk");
  const { child } = await mountAndWait({ mnt, origin, cacheDir });
  try {
    const fuseCold = await walk(name, mnt);
    const ext4Warm: number[] = [];
    const fuseWarm: number[] = [];
    let lines = { ext4: 0, fuse: fuseCold.lines };
    for (let i = 0; i < WARM; i++) {
      const e = await walk(name, mirror);
      const f = await walk(name, mnt);
      ext4Warm.push(e.ms);
      fuseWarm.push(f.ms);
      lines = { ext4: e.lines, fuse: f.lines };
    }
    return { ext4Cold: ext4Cold.ms, fuseCold: fuseCold.ms, ext4Warm, fuseWarm, lines };
  } finally {
    await child.stop();
    lazyUnmount(mnt);
    rmSync(mnt, { recursive: true, force: true });
  }
}

const origin = await ensureLibrary(FILES);
const cacheDir = option("cache-dir", cacheDirFor(FILES, "-walk"));
if (!existsSync(join(cacheDir, "metadata.db"))) {
  console.error(`first mount of ${origin} (scan) into ${cacheDir} …`);
  const mnt = freshMountpoint("walkscan");
  const { child } = await mountAndWait({ mnt, origin, cacheDir });
  await child.waitFor(/Delta sync complete|Scan complete/, 3_600_000);
  await child.stop();
  rmSync(mnt, { recursive: true, force: true });
}
const mirror = ensureMirror(origin, cacheDir);
const mirrorTree = join(mirror.dir, "tree");

console.log(`walk bench: ${int(FILES)} files, ${ROUNDS} rounds × (1 cold + ${WARM} warm), drop caches: ${DROP}, load ${load1()}`);
const results = new Map<WalkName, Sample[]>();
try {
  for (let r = 0; r < ROUNDS; r++) {
    for (const name of Object.keys(WALKS) as WalkName[]) {
      const s = await round(name, origin, cacheDir, mirrorTree);
      results.set(name, [...(results.get(name) ?? []), s]);
      console.log(
        `round ${r + 1} ${name.padEnd(6)} cold ext4 ${ms(s.ext4Cold)} mount ${ms(s.fuseCold)} (${(s.fuseCold / s.ext4Cold).toFixed(2)}×); ` +
          `warm ext4 ${ms(median(s.ext4Warm))} mount ${ms(median(s.fuseWarm))} (${(median(s.fuseWarm) / median(s.ext4Warm)).toFixed(2)}×); ` +
          `lines ext4 ${int(s.lines.ext4)} mount ${int(s.lines.fuse)}; load ${load1()}`,
      );
    }
  }
} finally {
  const left = leftoverMounts();
  if (left.length) console.error(`leftover mounts: ${left.join("\n")}`);
}

const targets = { cold: 2, warm: 3 };
console.log(`\n| walk (${int(mirror.files)} files) | ext4 | musicfs | ratio (median of per-round ratios) | target |`);
console.log("|---|---:|---:|---:|---|");
const summary: string[] = [];
for (const [name, samples] of results) {
  const coldRatio = median(samples.map((s) => s.fuseCold / s.ext4Cold));
  const warmRatio = median(samples.map((s) => median(s.fuseWarm) / median(s.ext4Warm)));
  const row = (label: string, e: number, f: number, ratio: number, target: number) =>
    console.log(`| \`${name}\` ${label} | ${ms(e)} | ${ms(f)} | ${ratio.toFixed(2)}× | ≤ ${target}×: ${ratio <= target ? "met" : "**not met**"} |`);
  row("cold (first walk after a later mount)", median(samples.map((s) => s.ext4Cold)), median(samples.map((s) => s.fuseCold)), coldRatio, targets.cold);
  row("warm", median(samples.flatMap((s) => s.ext4Warm)), median(samples.flatMap((s) => s.fuseWarm)), warmRatio, targets.warm);
  summary.push(`${name} cold ${coldRatio.toFixed(2)}× warm ${warmRatio.toFixed(2)}×`);
}
console.log(`\nSUMMARY walk ${sizeLabel(FILES)}: ${summary.join("; ")} (load ${load1()})`);
