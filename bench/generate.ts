/**
 * Generates a synthetic music library for benchmarks and tests:
 *
 *   bun run bench/generate.ts --out DIR --files N [--seed S] [--formats mp3,flac] [--tiny] [--workers W]
 *
 * Same arguments → byte-identical library. Prints progress to stderr and a summary (files/s) to stdout.
 */
import { parseArgs } from "node:util";
import { generateLibrary, type SyntheticFormat } from "../src/sample/syntheticLibrary.ts";

const USAGE = "usage: bun run bench/generate.ts --out DIR --files N [--seed S] [--formats mp3,flac] [--tiny] [--workers W]";

function fail(message: string): never {
  console.error(`generate: ${message}\n${USAGE}`);
  process.exit(2);
}

function wholeNumber(text: string | undefined, name: string, fallback?: number): number {
  if (text === undefined) {
    if (fallback === undefined) fail(`--${name} is required`);
    return fallback;
  }
  const value = Number(text.replaceAll("_", ""));
  if (!Number.isInteger(value) || value < 0) fail(`--${name} must be a whole number, got "${text}"`);
  return value;
}

function parseCommandLine() {
  try {
    return parseArgs({
      options: {
        out: { type: "string" },
        files: { type: "string" },
        seed: { type: "string" },
        formats: { type: "string" },
        tiny: { type: "boolean", default: false },
        workers: { type: "string" },
        help: { type: "boolean", default: false },
      },
      strict: true,
    }).values;
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
}
const values = parseCommandLine();
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (!values.out) fail("--out is required");
const files = wholeNumber(values.files, "files");
const seed = wholeNumber(values.seed, "seed", 1);
const workers = wholeNumber(values.workers, "workers", 0);
const formats = (values.formats ?? "mp3,flac").split(",").map((f) => f.trim()) as SyntheticFormat[];
for (const format of formats) if (format !== "mp3" && format !== "flac") fail(`unknown format "${format}" (use mp3, flac)`);

const started = performance.now();
let lastReport = started;
const result = await generateLibrary({
  dir: values.out,
  files,
  seed,
  formats,
  tiny: values.tiny,
  workers,
  onProgress: (written, total) => {
    const now = performance.now();
    if (now - lastReport < 2000) return;
    lastReport = now;
    const rate = written / ((now - started) / 1000);
    console.error(`  ${written.toLocaleString("en")} / ${total.toLocaleString("en")} files (${Math.round(rate).toLocaleString("en")} files/s)`);
  },
});
const seconds = (performance.now() - started) / 1000;
console.log(
  `generated ${result.files.toLocaleString("en")} files (${result.albums.toLocaleString("en")} albums, ` +
    `${(result.bytes / 1024 / 1024).toFixed(1)} MiB, ${Math.round(result.bytes / Math.max(1, result.files))} B/file) ` +
    `in ${seconds.toFixed(1)} s: ${Math.round(result.files / seconds).toLocaleString("en")} files/s → ${values.out}`,
);
console.log(`manifest: ${result.manifestPath}`);
