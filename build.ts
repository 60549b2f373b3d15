/**
 * Builds the single executable dist/musicfs. `bun build --compile` embeds only the entry points it is given, and a
 * Worker whose module is missing from the binary fails only AFTER the mount exists (every caller then hangs), so
 * every worker entry is listed here and checked before building.
 */
import { existsSync, statSync } from "node:fs";

const CLI_ENTRY = "src/cli/main.ts";
/** Every module started with `new Worker(new URL("./x.ts", import.meta.url))`. */
export const WORKER_ENTRIES = ["src/fs/fuseWorker.ts", "src/library/scanWorker.ts"];
const OUTFILE = "dist/musicfs";

const missing = [CLI_ENTRY, ...WORKER_ENTRIES].filter((p) => !existsSync(p));
if (missing.length > 0) {
  console.error(`build: missing entry point(s): ${missing.join(", ")}`);
  process.exit(1);
}

const proc = Bun.spawn(
  ["bun", "build", "--compile", "--minify-syntax", "--sourcemap=inline", CLI_ENTRY, ...WORKER_ENTRIES, "--outfile", OUTFILE],
  { stdout: "inherit", stderr: "inherit" },
);
const code = await proc.exited;
if (code !== 0) {
  console.error(`build: bun build failed with exit code ${code}`);
  process.exit(code);
}
const mb = (statSync(OUTFILE).size / 1024 / 1024).toFixed(1);
console.log(`build: ${OUTFILE} (${mb} MiB), workers: ${WORKER_ENTRIES.join(", ")}`);
