/**
 * The slowest tag parses of the corpus: every audio-extension file outside synthetic-2600 (the hostile and odd
 * files of the tagger corpora) parsed once on this thread, each timed. Moved here from test/library/tagReader.test.ts
 * ("slowest parse < 1 s"), where a wall-clock bound made a correctness test depend on the machine's load.
 *
 *   bun run bench/scan/slowestParse.ts [--top 10]
 *
 * Prints the slowest files with their parse times and the load average; figures go to docs/benchmarks.md.
 */
import { readdirSync } from "node:fs";
import { loadavg } from "node:os";
import { join, relative, resolve } from "node:path";
import { extensionOf, isAudioPath } from "../../src/library/audioFormats.ts";
import { openFileBytes } from "../../src/library/headTailReader.ts";
import { readTags } from "../../src/library/tagReader.ts";

const args = process.argv.slice(2);
const topAt = args.indexOf("--top");
const TOP = topAt >= 0 ? Number(args[topAt + 1]) : 10;
const CORPUS = process.env.MUSICFS_CORPUS ?? resolve(import.meta.dir, "../../../shared/corpus");
const SYNTHETIC = join(CORPUS, "synthetic-2600");

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

const files = walk(CORPUS).filter((p) => isAudioPath(p) && !p.startsWith(SYNTHETIC));
const load = loadavg()[0]!.toFixed(2);
const times: { path: string; ms: number }[] = [];
for (const path of files) {
  const ext = extensionOf(path);
  const t0 = performance.now();
  const file = openFileBytes(path, ext);
  try {
    await readTags(file.source, ext);
  } finally {
    file.close();
  }
  times.push({ path: relative(CORPUS, path), ms: performance.now() - t0 });
}
times.sort((a, b) => b.ms - a.ms);
console.log(`${files.length} files of ${CORPUS} (synthetic-2600 left out), load average ${load} → ${loadavg()[0]!.toFixed(2)}`);
console.log("| ms | file |\n|---:|---|");
for (const t of times.slice(0, TOP)) console.log(`| ${t.ms.toFixed(1)} | ${t.path} |`);
console.log(`SUMMARY slowest parse ${times[0]?.ms.toFixed(1)} ms (${times[0]?.path}), median ${times[Math.floor(times.length / 2)]?.ms.toFixed(2)} ms, load ${load}`);
