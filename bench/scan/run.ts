/**
 * Scan throughput: files/s of the Scanner (walk + head/tail reads + tag parsing in workers) with a warm page cache.
 *
 *   bun run bench/scan/run.ts                    synthetic-2600, then 20 linked copies of it (52,220 files)
 *   bun run bench/scan/run.ts --copies 100       a bigger library (hard links: same bytes, no disk used)
 *   bun run bench/scan/run.ts --copy             real copies instead of hard links
 *   bun run bench/scan/run.ts --workers 1 --runs 5
 *
 * Each library is scanned once to warm the page cache, then `--runs` times (default 3); the median is reported,
 * with the machine's load average, since other processes on a shared machine skew the figures. Output: a Markdown
 * table for docs/benchmarks.md.
 */
import { cpSync, linkSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createConsola } from "consola";
import { extensionOf, isAudioPath } from "../../src/library/audioFormats.ts";
import { openFileBytes } from "../../src/library/headTailReader.ts";
import { scanOrigins } from "../../src/library/scanner.ts";
import { readTags } from "../../src/library/tagReader.ts";
import { LocalOrigin } from "../../src/origins/localOrigin.ts";
import { asOriginId } from "../../src/core/ids.ts";

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const COPIES = arg("copies", 20);
const RUNS = arg("runs", 3);
const WORKERS = arg("workers", navigator.hardwareConcurrency);
const REAL_COPY = args.includes("--copy");
const CORPUS = process.env.MUSICFS_CORPUS ?? resolve(import.meta.dir, "../../../shared/corpus");
const SYNTHETIC = join(CORPUS, "synthetic-2600");

const quiet = createConsola({ level: 0 });

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** `copies` copies of `source` under `target/copy-N/` (hard links unless --copy). */
function buildLibrary(source: string, target: string, copies: number): void {
  const linkTree = (from: string, to: string) => {
    mkdirSync(to, { recursive: true });
    for (const e of readdirSync(from, { withFileTypes: true })) {
      const a = join(from, e.name);
      const b = join(to, e.name);
      if (e.isDirectory()) linkTree(a, b);
      else if (e.isFile()) linkSync(a, b);
    }
  };
  for (let i = 0; i < copies; i++) {
    const to = join(target, `copy-${i}`);
    if (REAL_COPY) cpSync(source, to, { recursive: true });
    else {
      try {
        linkTree(source, to);
      } catch {
        cpSync(source, to, { recursive: true }); // another filesystem: links impossible
      }
    }
  }
}

interface Result {
  library: string;
  files: number;
  filesPerSecond: number;
  ms: number;
}

async function scanOnce(root: string): Promise<{ files: number; ms: number; filesPerSecond: number }> {
  let files = 0;
  const summary = await scanOrigins({
    origins: [new LocalOrigin(asOriginId("bench"), root)],
    onBatch: (batch) => {
      files += batch.length;
    },
    workers: WORKERS,
    progress: null,
    log: quiet,
  });
  if (summary.parsed + summary.failed !== files) throw new Error("files lost");
  return { files, ms: summary.ms, filesPerSecond: summary.filesPerSecond };
}

async function benchScan(label: string, root: string): Promise<Result> {
  await scanOnce(root); // warm the page cache and the JIT
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await scanOnce(root));
  const ms = median(runs.map((r) => r.ms));
  return { library: label, files: runs[0].files, ms, filesPerSecond: median(runs.map((r) => r.filesPerSecond)) };
}

/** Tag parsing alone on this thread (no walk, no workers): the per-core ceiling. */
async function parseOnlyRate(root: string): Promise<number> {
  const paths: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (isAudioPath(p)) paths.push(p);
    }
  };
  walk(root);
  const once = async () => {
    const start = performance.now();
    for (const p of paths) {
      const ext = extensionOf(p);
      const f = openFileBytes(p, ext);
      await readTags(f.source, ext);
      f.close();
    }
    return (paths.length * 1000) / (performance.now() - start);
  };
  await once();
  const rates = [];
  for (let i = 0; i < RUNS; i++) rates.push(await once());
  return median(rates);
}

const results: Result[] = [];
const loadBefore = loadavg()[0];
results.push(await benchScan("synthetic-2600", SYNTHETIC));
const dir = mkdtempSync(join(tmpdir(), "musicfs-scan-bench-"));
try {
  buildLibrary(SYNTHETIC, dir, COPIES);
  results.push(await benchScan(`synthetic-2600 × ${COPIES} (${REAL_COPY ? "copies" : "hard links"})`, dir));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const perCore = await parseOnlyRate(SYNTHETIC);
const loadAfter = loadavg()[0];

const n = (x: number) => Math.round(x).toLocaleString("en-US");
console.log(`\nScan throughput, warm page cache, ${WORKERS} workers on ${availableParallelism()} cores, median of ${RUNS} runs`);
console.log(`(load average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after; Bun ${Bun.version})\n`);
console.log("| library | audio files | scan time | files/s |");
console.log("|---|---:|---:|---:|");
for (const r of results) console.log(`| ${r.library} | ${n(r.files)} | ${(r.ms / 1000).toFixed(2)} s | ${n(r.filesPerSecond)} |`);
console.log(`\nParsing alone on one thread (synthetic-2600, no walk, no workers): ${n(perCore)} files/s`);
