/**
 * What `musicfs --version` prints: the version from package.json and the commit the program was built from.
 * build.ts embeds the commit with `--define MUSICFS_COMMIT=…`; run from source, the checkout itself is asked.
 */
import { dirname } from "node:path";
import pkg from "../../package.json" with { type: "json" };

declare const MUSICFS_COMMIT: string | undefined;

/** The embedded commit, else the source checkout's (with -dirty for uncommitted changes), else "unknown". */
export function buildCommit(): string {
  if (typeof MUSICFS_COMMIT === "string") return MUSICFS_COMMIT;
  const cwd = dirname(new URL(import.meta.url).pathname);
  const head = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"], { cwd, stderr: "ignore" });
  if (head.exitCode !== 0) return "unknown";
  const dirty = Bun.spawnSync(["git", "diff", "--quiet", "HEAD", "--"], { cwd, stderr: "ignore" }).exitCode !== 0;
  return `${head.stdout.toString().trim()}${dirty ? "-dirty" : ""}`;
}

export const VERSION: string = pkg.version;

/** The --version line: "musicfs 0.1.0 (commit 0123456789ab)". */
export function versionLine(commit = buildCommit()): string {
  return `musicfs ${VERSION} (commit ${commit})`;
}
