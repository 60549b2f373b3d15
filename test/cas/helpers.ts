/** Fixtures for cache tests: temp dirs, an origin folder wrapped in a FaultyOrigin, a bus that keeps manifests. */
import { readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EventBus } from "../../src/core/eventBus.ts";
import { openChunkCache, type ChunkCacheOptions } from "../../src/cas/chunkCache.ts";
import type { CachedFileRef } from "../../src/cas/fetch/index.ts";
import { FaultyOrigin } from "../../src/origins/faultyOrigin.ts";
import { LocalOrigin } from "../../src/origins/localOrigin.ts";
import { asContentId, asOriginId } from "../../src/core/ids.ts";

export { tempDir } from "../support/cleanup.ts";

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** An origin folder with the given files, served through a FaultyOrigin (healthy until told otherwise). */
export function makeOrigin(root: string, files: Record<string, Uint8Array> = {}): FaultyOrigin {
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(root, name), bytes);
  return new FaultyOrigin(new LocalOrigin(asOriginId("test"), root));
}

export function fileRef(origin: FaultyOrigin, root: string, realPath: string, fileId: number): CachedFileRef {
  const s = statSync(join(root, realPath));
  return { fileId: asContentId(fileId), origin, realPath, size: s.size, mtimeMs: Math.floor(s.mtimeMs) };
}

/** The "database" of a test: manifests persisted by a ManifestCached listener, as the integrator will do. */
export class ManifestDb {
  readonly bus = new EventBus((event, e) => {
    throw new Error(`listener of ${event} failed: ${e}`);
  });
  readonly manifests = new Map<number, Uint8Array>();
  events = 0;
  constructor() {
    this.bus.on("ManifestCached", (e) => {
      this.events++;
      this.manifests.set(e.fileId, e.manifest);
    });
  }
  load = (fileId: number) => this.manifests.get(fileId);
}

export function openTestCache(cacheDir: string, db: ManifestDb, extra: Partial<ChunkCacheOptions> = {}) {
  return openChunkCache({ cacheDir, bus: db.bus, loadManifest: db.load, fsync: false, ...extra });
}

/** Every file below `dir` (relative paths), for "no temp file left behind" checks. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), rel + e.name + "/");
      else out.push(rel + e.name);
    }
  };
  walk(dir, "");
  return out;
}

/** Reads a whole file through `read` in pieces of `step` bytes, sequentially. */
export async function readAll(read: (offset: number, size: number) => Promise<Uint8Array>, size: number, step = 128 * 1024): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  for (let off = 0; off < size; off += step) out.set(await read(off, step), off);
  return out;
}
