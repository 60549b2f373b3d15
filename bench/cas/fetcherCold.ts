/**
 * Cold reads through the Fetcher alone (no FUSE): a sequential reader of an uncached file on a local origin, in
 * 1 MiB reads, as `dd bs=1M` through the mount asks. Measures the store side of a first play: ranged reads, FastCDC,
 * SHA-256, chunk writes.
 *
 *   bun run bench/cas/fetcherCold.ts [--mib 64] [--runs 5] [--chunks]
 *
 * Default: the fetch writes into the file's data file (the mount's layout); `--chunks`: one chunk file per chunk
 * (the layout before data files), for an A/B in the same run conditions.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openChunkCache } from "../../src/cas/chunkCache.ts";
import { LocalOrigin } from "../../src/origins/localOrigin.ts";
import { pseudoRandomBytes } from "../../test/cas/testData.ts";
import { asContentId, asOriginId } from "../../src/core/ids.ts";

const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const MIB = arg("mib", 64);
const RUNS = arg("runs", 5);
const root = mkdtempSync(join(tmpdir(), "musicfs-fcold-"));
writeFileSync(join(root, "f.flac"), pseudoRandomBytes(MIB * 1024 * 1024, 7));
const st = statSync(join(root, "f.flac"));
const origin = new LocalOrigin(asOriginId("bench"), root);
const results: number[] = [];
try {
  for (let r = 0; r < RUNS; r++) {
    const cacheDir = mkdtempSync(join(tmpdir(), "musicfs-fcold-cache-"));
    const cache = openChunkCache({ cacheDir, fsync: false, fetchIntoDataFiles: !process.argv.includes("--chunks") });
    const file = { fileId: asContentId(1), origin, realPath: "f.flac", size: st.size, mtimeMs: Math.floor(st.mtimeMs) };
    const t = performance.now();
    for (let off = 0; off < st.size; off += 1024 * 1024) await cache.fetcher.read(file, off, 1024 * 1024);
    await cache.fetcher.prefetch(file); // until every chunk is stored
    const ms = performance.now() - t;
    results.push(st.size / ms / 1000);
    await cache.close();
    rmSync(cacheDir, { recursive: true, force: true });
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
results.sort((a, b) => a - b);
console.log(`fetcher cold sequential read (${process.argv.includes("--chunks") ? "chunk files" : "data file"}), ${MIB} MiB, 1 MiB reads: median ${results[results.length >> 1].toFixed(0)} MB/s (runs ${results.map((x) => x.toFixed(0)).join(", ")})`);
