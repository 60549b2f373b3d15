/**
 * S3 origin throughput against a real Ceph RGW on loopback, with latency added by our TCP proxy:
 *  - first scan: files/s of the scanner (listing + ranged head/tail GETs + tag parsing) over a synthetic library;
 *  - delta sync of unchanged objects: seconds for a sync whose listing shows nothing new (size + ETag compared).
 *
 *   bun run bench/s3/scanSync.ts                          synthetic-2600 scanned, 100,000 objects synced
 *   bun run bench/s3/scanSync.ts --files 1000 --objects 20000 --runs 3 --rtt 0,20
 *
 * `--rtt` lists added round-trip times in ms (each direction gets half), added by our TCP proxy running as a
 * separate process. The same library is also scanned from a local folder in the same run, as the CPU-bound
 * reference (parsing is the same work). Needs ceph-mon, ceph-osd and radosgw (`bun run setup`). Output: Markdown
 * rows for docs/benchmarks.md.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, relative } from "node:path";
import { createConsola } from "consola";
import { generateLibrary } from "../../src/sample/syntheticLibrary.ts";
import { scanOrigins } from "../../src/library/scanner.ts";
import { S3Origin } from "../../src/origins/s3Origin.ts";
import { S3Credentials } from "../../src/origins/s3Credentials.ts";
import { Database } from "../../src/db/database.ts";
import { Library } from "../../src/app/library/library.ts";
import { deltaSync } from "../../src/app/sync/deltaSync.ts";
import { loadConfig } from "../../src/config/config.ts";
import { emptyTags, type FileMeta } from "../../src/core/types.ts";
import { extensionOf } from "../../src/library/audioFormats.ts";
import { putObjects, rgwSkipReason, startRgw } from "../../test/support/cephRgw.ts";
import { spawnFaultProxy } from "../../test/support/faultProxy.ts";
import { LocalOrigin } from "../../src/origins/localOrigin.ts";
import { readdirSync, statSync } from "node:fs";
import { asOriginId } from "../../src/core/ids.ts";

const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const FILES = Number(arg("files", "3000"));
const OBJECTS = Number(arg("objects", "100000"));
const RUNS = Number(arg("runs", "3"));
const RTTS = arg("rtt", "0,20").split(",").map(Number);
const quiet = createConsola({ level: 0 });

if (rgwSkipReason) {
  console.error(rgwSkipReason);
  process.exit(2);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}
function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? listFiles(join(dir, n)) : [join(dir, n)]));
}

const rgw = await startRgw();
// Ctrl-C or SIGTERM: stop the cluster and the proxy by PID before exiting.
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.on(signal, async () => {
    await proxy?.stop();
    await rgw.stop();
    rmSync(work, { recursive: true, force: true });
    process.exit(130);
  });
const work = mkdtempSync(join(tmpdir(), "musicfs-bench-s3-"));
let proxy = null as { endpoint: string; stop(): Promise<void> } | null;
async function useRtt(rtt: number): Promise<string> {
  await proxy?.stop();
  proxy = await spawnFaultProxy(rgw.port, rtt / 2);
  return proxy.endpoint;
}

function origin(prefix: string, endpoint: string): S3Origin {
  return new S3Origin(asOriginId("bench"), {
    location: { bucket: "bench", prefix },
    settings: {
      endpoint, region: rgw.region, pathStyle: true, exposedFiles: [],
      credentials: new S3Credentials(rgw.accessKeyId, rgw.secretAccessKey, undefined, "bench"),
    },
    maxRequests: 32,
    requestTimeoutMs: 15_000,
  });
}

try {
  await rgw.createBucket("bench");
  const client = rgw.client("bench");
  console.log(`# S3 bench: ${FILES} files to scan, ${OBJECTS} unchanged objects to sync, runs ${RUNS}, load ${loadavg()[0].toFixed(2)}`);

  let t = performance.now();
  // ── first scan ──
  if (FILES > 0) {
  // The scan benchmark's library (bench/scan): real tag layouts, small files; else a generated one of --files.
  const corpus = process.env.MUSICFS_CORPUS ?? join(import.meta.dir, "../../../shared/corpus");
  const lib = existsSync(join(corpus, "synthetic-2600")) && !args.includes("--files") ? join(corpus, "synthetic-2600") : join(work, "lib");
  if (lib.startsWith(work)) await generateLibrary({ dir: lib, files: FILES, seed: 11 });
  const files = listFiles(lib).filter((f) => !f.endsWith(".jsonl") && !f.endsWith(".json"));
  t = performance.now();
  await putObjects(client, files.map((f): [string, Uint8Array] => [`scan/${relative(lib, f)}`, new Uint8Array(readFileSync(f))]), 32);
  const bytes = files.reduce((n, f) => n + statSync(f).size, 0);
  console.log(`uploaded ${files.length} files (${(bytes / 1e6).toFixed(0)} MB) in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const local: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const s = await scanOrigins({ origins: [new LocalOrigin(asOriginId("local"), lib)], onBatch: () => {}, progress: null, log: quiet });
    local.push(s.filesPerSecond);
  }
  console.log(`| first scan of the same files from a local folder (reference) | ${median(local)} files/s (runs ${local.join(", ")}) |`);
  for (const rtt of RTTS) {
    const endpoint = await useRtt(rtt);
    const rates: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const o = origin("scan/", endpoint);
      const s = await scanOrigins({ origins: [o], onBatch: () => {}, progress: null, log: quiet });
      rates.push(s.filesPerSecond);
      console.log(`  first scan, +${rtt} ms RTT, run ${r + 1}: ${s.parsed + s.failed} files in ${(s.ms / 1000).toFixed(2)} s = ${s.filesPerSecond} files/s (${s.failed} unparsed), GETs ${o.counts.get}, lists ${o.counts.list}`);
    }
    console.log(`| first scan over S3, ${files.length} files, +${rtt} ms RTT | ${median(rates)} files/s (runs ${rates.join(", ")}) |`);
  }
  }

  // ── delta sync of unchanged objects ──
  if (OBJECTS > 0) {
    t = performance.now();
    const tiny = new Uint8Array(64);
    const keys = function* () {
      // Ten tracks per album folder, ten albums per artist: the shape of a real library (one query per folder).
      for (let i = 0; i < OBJECTS; i++)
        yield [`sync/Artist ${Math.floor(i / 100)}/Album ${Math.floor(i / 10) % 10}/${String(i).padStart(6, "0")}.mp3`, tiny] as [string, Uint8Array];
    };
    await putObjects(client, keys(), 32);
    console.log(`put ${OBJECTS} objects in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    // The library opens its origins with credentials from the environment, as a mount does.
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: rgw.accessKeyId, AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey, AWS_REGION: rgw.region });
    const config = loadConfig({ origins: ["s3://bench/sync"], cacheDir: join(work, "cache") }, process.env);
    const libraryAt = (endpoint: string) => {
      const origins = config.origins.map((o) => ({ ...o, endpoint }));
      const lib = new Library(db, { ...config, origins });
      return lib;
    };
    const db = Database.open(join(work, "sync.db"));
    let library = libraryAt(await useRtt(0));
    await library.openSearch();
    // The stored state a first scan would leave: one row per object with its size and ETag.
    t = performance.now();
    for await (const batch of library.origins[0].walk()) {
      db.upsertFiles(batch.map((e): FileMeta => ({ originId: library.origins[0].id, realPath: e.realPath, size: e.size, mtimeMs: e.mtimeMs, etag: e.etag ?? null, format: extensionOf(e.realPath), ...emptyTags() })));
    }
    console.log(`stored ${db.fileCount()} rows in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    for (const rtt of RTTS) {
      library = libraryAt(await useRtt(rtt));
      await library.openSearch();
      const secs: number[] = [];
      for (let r = 0; r < RUNS; r++) {
        const s = await deltaSync(library, {});
        secs.push(s.ms / 1000);
        console.log(`  delta sync, +${rtt} ms RTT, run ${r + 1}: ${s.unchanged} unchanged, ${s.added} added, ${s.modified} modified, ${s.removed} removed in ${(s.ms / 1000).toFixed(2)} s`);
      }
      console.log(`| delta sync over S3, ${OBJECTS} unchanged objects, +${rtt} ms RTT | ${median(secs).toFixed(2)} s (runs ${secs.map((x) => x.toFixed(2)).join(", ")}) |`);
    }
    library.close();
  }
} finally {
  await proxy?.stop();
  await rgw.stop();
  rmSync(work, { recursive: true, force: true });
}
