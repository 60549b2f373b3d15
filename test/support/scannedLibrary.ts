/** A real library for tests that need a metadata.db but no mount: the embedded sample library, scanned by the CLI. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { cachePaths, type CachePaths } from "../../src/config/paths.ts";
import { writeSampleLibrary } from "../../src/sample/sampleLibrary.ts";
import { tempDir } from "./cleanup.ts";
import { CLI } from "./paths.ts";
import { run } from "./process.ts";

export interface ScannedLibrary {
  origin: string;
  originId: string;
  paths: CachePaths;
}

export async function scannedSampleLibrary(): Promise<ScannedLibrary> {
  const base = tempDir("musicfs-lib-");
  const origin = join(base, "library");
  await writeSampleLibrary(origin);
  const cache = join(base, "cache");
  const scan = await run(["bun", CLI, "scan", "--origin", origin, "--cache-dir", cache], { timeoutMs: 120_000 });
  if (scan.code !== 0) throw new Error(`musicfs scan failed (${scan.code}): ${scan.stderr}`);
  const paths = cachePaths(cache);
  const remembered = JSON.parse(readFileSync(paths.originsFile, "utf8")) as { id: string }[] | { origins: { id: string }[] };
  const originId = (Array.isArray(remembered) ? remembered : remembered.origins)[0]!.id;
  return { origin, originId, paths };
}
