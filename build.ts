/**
 * Builds the single executable (`bun run build` → dist/musicfs for this machine; scripts/release.ts builds every
 * release target through buildExecutable). `bun build --compile` embeds only the entry points it is given, and a
 * Worker whose module is missing from the binary fails only AFTER the mount exists (every caller then hangs), so
 * every worker entry is listed here and checked before building.
 *
 * The commit the binary is built from is embedded with --define (MUSICFS_COMMIT, read by src/cli/buildInfo.ts), so
 * `musicfs --version` names it without a git checkout beside the executable.
 */
import { existsSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { buildCommit } from "./src/cli/buildInfo.ts";

const REPO = dirname(new URL(import.meta.url).pathname);
const CLI_ENTRY = "src/cli/main.ts";
/** Every module started with `new Worker(new URL("./x.ts", import.meta.url))`. */
export const WORKER_ENTRIES = ["src/fs/fuseWorker.ts", "src/library/scanWorker.ts", "src/cas/hashWorker.ts"];

export interface BuildOptions {
  /** Output path, relative to the repository or absolute. */
  outfile: string;
  /** A `bun build --target` such as "bun-linux-arm64"; default: this machine. */
  target?: string;
  /** The commit to embed (default: $MUSICFS_COMMIT, else the checkout's, src/cli/buildInfo.ts; a source tarball has no checkout). */
  commit?: string;
  /** "syntax" (default, what releases ship) or "full" (--minify: also whitespace and identifiers). */
  minify?: "syntax" | "full";
  /** "inline" (default: stack traces name source lines) or "none". */
  sourcemap?: "inline" | "none";
}

/** The bun build command line for one executable (pure: the release notes quote it). */
export function buildCommand(o: BuildOptions & { commit: string }): string[] {
  return [
    "bun", "build", "--compile",
    ...(o.target ? [`--target=${o.target}`] : []),
    ...(o.minify === "full" ? ["--minify"] : ["--minify-syntax"]),
    `--sourcemap=${o.sourcemap ?? "inline"}`,
    "--define", `MUSICFS_COMMIT=${JSON.stringify(o.commit)}`,
    CLI_ENTRY, ...WORKER_ENTRIES,
    "--outfile", o.outfile,
  ];
}

/** Builds one executable; throws with bun's exit code when the build fails. Returns its size in bytes. */
export async function buildExecutable(o: BuildOptions): Promise<{ outfile: string; bytes: number; commit: string }> {
  const missing = [CLI_ENTRY, ...WORKER_ENTRIES].filter((p) => !existsSync(join(REPO, p)));
  if (missing.length > 0) throw new Error(`build: missing entry point(s): ${missing.join(", ")}`);
  const commit = o.commit ?? (process.env.MUSICFS_COMMIT || buildCommit());
  const proc = Bun.spawn(buildCommand({ ...o, commit }), { cwd: REPO, stdout: "inherit", stderr: "inherit" });
  const code = await proc.exited;
  if (code !== 0) throw new Error(`build: bun build failed with exit code ${code}`);
  const outfile = resolve(REPO, o.outfile);
  return { outfile, bytes: statSync(outfile).size, commit };
}

if (import.meta.main) {
  const OUTFILE = "dist/musicfs";
  try {
    const { bytes, commit } = await buildExecutable({ outfile: OUTFILE });
    console.log(`build: ${OUTFILE} (${(bytes / 1024 / 1024).toFixed(1)} MiB, commit ${commit}), workers: ${WORKER_ENTRIES.join(", ")}`);
  } catch (e) {
    console.error((e as Error).message);
    process.exit(1);
  }
}
