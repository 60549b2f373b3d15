/**
 * `ls` of a `/.search/<query>/` directory on a mounted library (issue 6).
 *
 *   bun run bench/searchdir/run.ts                 100k library (BENCH_ROOT/lib100k, cache c100k), 3 mounts
 *   bun run bench/searchdir/run.ts --quick         10k library, 1 mount
 *   options: --size N  --mounts M
 *
 * Per mount (after its background delta sync, so the search index is settled), for each query: the first listing
 * (readdir of a directory nobody opened: the worker runs the query) and the second (the result cached by the worker
 * and the kernel), plus `ls -l` of it (readdir + lstat of every result symlink). Medians over queries × mounts.
 */
import { lstatSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import {
  DELTA_SYNC_LINE, cacheDirFor, ensureLibrary, flag, freshMountpoint, int, leftoverMounts, load1, median, mountAndWait, ms, option, timeSync,
} from "../mount/harness.ts";

const QUICK = flag("quick");
const SIZE = Number(option("size", QUICK ? "10000" : "100000"));
const MOUNTS = Number(option("mounts", QUICK ? "1" : "3"));
/** A mix: a common word, a prefix, a field, a year range, an OR (every word occurs in the synthetic vocabulary). */
const QUERIES = ["morning", "summ", "genre:soul", "year:1990s", "artist:amara OR artist:chloe", "blue -live"];

interface QueryRun {
  query: string;
  entries: number;
  firstMs: number;
  secondMs: number;
  lsLongMs: number;
}

async function measureMount(origin: string, cacheDir: string): Promise<QueryRun[]> {
  const mnt = freshMountpoint("search");
  const { child } = await mountAndWait({ mnt, origin, cacheDir });
  try {
    await child.waitFor(DELTA_SYNC_LINE, 600_000);
    return QUERIES.map((query) => {
      const dir = join(mnt, ".search", query);
      let entries = 0;
      const firstMs = timeSync(() => (entries = readdirSync(dir).length));
      const secondMs = timeSync(() => readdirSync(dir));
      const lsLongMs = timeSync(() => {
        for (const name of readdirSync(dir)) lstatSync(join(dir, name));
      });
      return { query, entries, firstMs, secondMs, lsLongMs };
    });
  } finally {
    await child.stop();
    rmSync(mnt, { recursive: true, force: true });
  }
}

const origin = await ensureLibrary(SIZE);
const loadBefore = load1();
const runs: QueryRun[] = [];
try {
  for (let i = 0; i < MOUNTS; i++) runs.push(...(await measureMount(origin, cacheDirFor(SIZE))));
} finally {
  const left = leftoverMounts();
  if (left.length) console.error(`leftover mounts: ${left.join("; ")}`);
}
console.log(`\n### \`/.search/<query>/\` on ${int(SIZE)} files (${MOUNTS} mounts; load average ${loadBefore} before, ${load1()} after)\n`);
console.log("| query | results | first `ls` (runs the query) | second `ls` (cached) | `ls -l` after |");
console.log("|---|---:|---:|---:|---:|");
for (const q of QUERIES) {
  const mine = runs.filter((r) => r.query === q);
  const m = (f: (r: QueryRun) => number) => ms(median(mine.map(f)));
  console.log(`| \`${q}\` | ${mine[0]!.entries} | ${m((r) => r.firstMs)} | ${m((r) => r.secondMs)} | ${m((r) => r.lsLongMs)} |`);
}
const first = median(runs.map((r) => r.firstMs));
const second = median(runs.map((r) => r.secondMs));
console.log(`| **all queries** | | **${ms(first)}** | **${ms(second)}** | **${ms(median(runs.map((r) => r.lsLongMs)))}** |`);
console.log(`\nSUMMARY searchdir ${int(SIZE)}: first ${ms(first)}, cached ${ms(second)}`);
