/**
 * Prints musicfs(1) (src/cli/manPage.ts) for packagers: `bun scripts/manPage.ts > musicfs.1`. The date is the
 * commit's ($SOURCE_DATE_EPOCH when set, as in reproducible builds), so the page is the same on every build.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { VERSION } from "../src/cli/buildInfo.ts";
import { rootCommand } from "../src/cli/commands.ts";
import { commandSpec } from "../src/cli/commandSpec.ts";
import { manPage } from "../src/cli/manPage.ts";

const REPO = resolve(import.meta.dir, "..");

/** Seconds since 1970 of the build: $SOURCE_DATE_EPOCH, else the commit's time, else now. */
export function sourceDateEpoch(): number {
  const fromEnv = Number(process.env.SOURCE_DATE_EPOCH);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  const r = Bun.spawnSync(["git", "log", "-1", "--format=%ct"], { cwd: REPO, stderr: "ignore" });
  const fromGit = Number(r.stdout.toString().trim());
  return r.exitCode === 0 && fromGit > 0 ? fromGit : Math.floor(Date.now() / 1000);
}

export async function manPageText(epoch = sourceDateEpoch()): Promise<string> {
  const readme = readFileSync(join(REPO, "README.md"), "utf8");
  return manPage({ spec: await commandSpec(rootCommand), readme, version: VERSION, date: new Date(epoch * 1000).toISOString().slice(0, 10) });
}

if (import.meta.main) process.stdout.write(await manPageText());
