/**
 * A real library for tests: the embedded sample library, scanned by the CLI into a real cache dir (metadata.db,
 * origins.json…). The scan runs once per test process (`bun test` runs every file in one process) and each call
 * hands out a fresh copy of the scanned cache dir, so a test may change its copy freely (remove rows, mount it, fill
 * it) without a scan of its own. The origin folder is shared: tests must not change it (copy it if they need to).
 */
import { cpSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { cachePaths, type CachePaths } from "../../src/config/paths.ts";
import { writeSampleLibraryCopy } from "./sampleLibraryCopy.ts";
import { processTempDir, tempDir } from "./cleanup.ts";
import { CLI } from "./paths.ts";
import { run } from "./process.ts";

export interface ScannedLibrary {
  /** The sample library's folder (shared by every caller: read it, never change it). */
  origin: string;
  /** The origin's id in the cache dir (the CLI derives it from the folder). */
  originId: string;
  /** This caller's own copy of the scanned cache dir (removed by cleanupAll()). */
  paths: CachePaths;
}

let scanned: Promise<{ origin: string; originId: string; cacheDir: string }> | null = null;

/** The one scan of this process. Its folder outlives every test file's cleanupAll(), and goes after the last file. */
async function scanOnce(): Promise<{ origin: string; originId: string; cacheDir: string }> {
  const base = processTempDir("musicfs-sample-scanned-");
  const origin = join(base, "library");
  await writeSampleLibraryCopy(origin);
  const cacheDir = join(base, "cache");
  const scan = await run(["bun", CLI, "scan", "--origin", origin, "--cache-dir", cacheDir], { timeoutMs: 120_000 });
  if (scan.code !== 0) throw new Error(`musicfs scan failed (${scan.code}): ${scan.stderr}`);
  const remembered = JSON.parse(readFileSync(cachePaths(cacheDir).originsFile, "utf8")) as { id: string }[] | { origins: { id: string }[] };
  const originId = (Array.isArray(remembered) ? remembered : remembered.origins)[0]!.id;
  return { origin, originId, cacheDir };
}

export async function scannedSampleLibrary(): Promise<ScannedLibrary> {
  scanned ??= scanOnce().catch((e) => {
    scanned = null; // a failed scan is tried again by the next caller, not handed out as a failure forever
    throw e;
  });
  const { origin, originId, cacheDir } = await scanned;
  const copy = join(tempDir("musicfs-lib-"), "cache");
  cpSync(cacheDir, copy, { recursive: true });
  return { origin, originId, paths: cachePaths(copy) };
}
