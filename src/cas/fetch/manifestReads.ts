/**
 * Reads of a file with a current manifest: chunk by chunk from the store; a missing or corrupt chunk is re-fetched
 * alone (a ranged origin read of exactly that chunk, checked against its id) — never the whole file — and the next
 * few missing chunks with it, for a player reading on. Also keeps the decoded manifests recently used.
 */
import { errorMessage } from "../../core/errors.ts";
import { log } from "../../core/logger.ts";
import { Lru } from "../../core/lru.ts";
import type { ContentId } from "../../core/types.ts";
import { chunkHex, type ChunkId } from "../chunkHash.ts";
import {
  chunkIndexAt, decodeManifest, isManifestCurrent, manifestChunkId, manifestChunkLength, type Manifest,
} from "../manifestCodec.ts";
import { describe, noteStoreFailure } from "./fetchError.ts";
import { copyOverlap } from "./fileFetch.ts";
import type { CachedFileRef, FetchEnv } from "./options.ts";
import { fetchExactly } from "./originReads.ts";
import { bounded, type ReadContext } from "./readContext.ts";

/** Decoded manifests kept in memory (the database is the durable copy). */
const MANIFESTS_KEPT = 1024;

export class ManifestReads {
  private readonly manifests = new Lru<ContentId, Manifest>(MANIFESTS_KEPT);
  private readonly repairs = new Map<string, Promise<Uint8Array | null>>();

  constructor(private readonly env: FetchEnv) {}

  /** The file's manifest if it is current (built for the file's size and mtime). */
  current(file: CachedFileRef): Manifest | undefined {
    let m = this.manifests.get(file.fileId);
    if (!m) {
      const source = file.manifest ?? this.env.deps.loadManifest?.(file.fileId);
      if (!source) return undefined;
      try {
        m = source instanceof Uint8Array ? decodeManifest(source) : source;
      } catch (e) {
        log.debug(`ignoring unreadable manifest of ${describe(file)}: ${errorMessage(e)}`);
        return undefined;
      }
      this.remember(file.fileId, m);
    }
    if (!isManifestCurrent(m, file.size, file.mtimeMs)) return undefined;
    return m;
  }

  /** The decoded manifest in memory, whether current or not (no loading). */
  known(fileId: ContentId): Manifest | undefined {
    return this.manifests.peek(fileId);
  }

  remember(fileId: ContentId, m: Manifest): void {
    this.manifests.set(fileId, m);
  }

  forget(fileId: ContentId): void {
    this.manifests.delete(fileId);
  }

  /** Null when a chunk re-fetched from the origin does not match the manifest (stale manifest). */
  async read(file: CachedFileRef, m: Manifest, offset: number, end: number, ctx: ReadContext): Promise<Uint8Array | null> {
    const { store, stats } = this.env.deps;
    const out = new Uint8Array(end - offset);
    let repaired = false;
    for (let i = chunkIndexAt(m, offset); i < m.chunkCount && m.offsets[i] < end; i++) {
      const id = manifestChunkId(m, i);
      const length = manifestChunkLength(m, i);
      const r = await store.get(id, length);
      ctx.check();
      let bytes: Uint8Array | null;
      if (r.kind === "ok") bytes = r.bytes;
      else {
        repaired = true;
        const repair = this.repairChunk(file, m.offsets[i], length, id);
        this.repairAhead(file, m, i + 1);
        bytes = await bounded(repair, ctx);
        if (!bytes) return null;
      }
      copyOverlap(bytes, m.offsets[i], out, offset, end);
    }
    if (!repaired) stats?.countHit();
    else stats?.countMiss();
    return out;
  }

  /**
   * Fetches one chunk's byte range from the origin, checks it against its id, stores it. Shared by concurrent reads.
   * The check is the id, never the manifest's read checksum alone: the chunk is stored under its id, which other
   * files may share, so only bytes that hash to that id may be written (the store's get checks the id too).
   */
  repairChunk(file: CachedFileRef, offset: number, length: number, id: ChunkId): Promise<Uint8Array | null> {
    const key = `${file.fileId}:${offset}`;
    const running = this.repairs.get(key);
    if (running) return running;
    const { deps, o } = this.env;
    const p = (async () => {
      const bytes = await fetchExactly(file, offset, length, o.originTimeoutMs, deps.stats);
      if (!deps.store.ids.matches(bytes, id)) return null;
      await deps.store.put(bytes, id).catch((e) => noteStoreFailure(file, e));
      return bytes;
    })().finally(() => this.repairs.delete(key));
    p.catch(() => {});
    this.env.track(p).catch(() => {});
    this.repairs.set(key, p);
    return p;
  }

  /**
   * Read-ahead for a file whose chunks were evicted (or lost): a player reading on will need the next chunks too,
   * so their repairs start now instead of one origin round trip per read.
   */
  private repairAhead(file: CachedFileRef, m: Manifest, from: number): void {
    const last = Math.min(m.chunkCount, from + this.env.o.repairAheadChunks);
    for (let i = from; i < last; i++) {
      const id = manifestChunkId(m, i);
      void this.env.deps.store.has(chunkHex(id)).then((present) => {
        if (!present && !this.env.closed()) this.repairChunk(file, m.offsets[i], manifestChunkLength(m, i), id).catch(() => {});
      });
    }
  }
}
