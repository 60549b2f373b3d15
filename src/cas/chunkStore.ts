/**
 * The content-addressed chunk store (main thread): put, verified get, delete. One file per chunk, named by its
 * id (`ids`: keyed XXH3 for new chunks, SHA-256 for those of old manifests; chunkHash.ts); written as a temp file
 * in the chunk's own directory, fsynced, then renamed, so a chunk file is either
 * absent or complete. Every get re-hashes, so a torn or rotted file is reported (and removed), never returned.
 *
 * The file system is the index: "file exists" means "chunk present". The ledger only does accounting and LRU.
 */
import { closeSync, existsSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { mkdir, open, readFile, rename, stat, unlink } from "node:fs/promises";
import { errnoCode, errorMessage } from "../core/errors.ts";
import { log, tildify } from "../core/logger.ts";
import { chunkHex, chunkIdentity, type ChunkHex, type ChunkId, type ChunkIdentity } from "./chunkHash.ts";
import { randomChunkIdKey } from "./chunkIdKey.ts";
import { chunkDir, chunkPath, chunkTempPath } from "./chunkPaths.ts";
import type { ChunkLedger } from "./chunkLedger.ts";
import type { CacheStats } from "./cacheStats.ts";

/** Writes a complete temp file. Injectable so that tests can simulate a full disk or a crash mid-write. */
export interface ChunkFileWriter {
  write(path: string, bytes: Uint8Array, fsync: boolean): Promise<void>;
  /**
   * The same without fsync, synchronously (used when the store does not fsync): a chunk of 32-64 KiB goes to the
   * page cache in a few µs, where the async open, write, close and rename cost a thread-pool round trip and a
   * promise each.
   */
  writeNow?(path: string, bytes: Uint8Array): void;
}

export const fsChunkFileWriter: ChunkFileWriter = {
  async write(path, bytes, fsync) {
    const fh = await open(path, "wx", 0o644);
    try {
      let written = 0;
      while (written < bytes.length) {
        const { bytesWritten } = await fh.write(bytes, written, bytes.length - written, written);
        written += bytesWritten;
      }
      if (fsync) await fh.sync();
    } finally {
      await fh.close();
    }
  },
  writeNow(path, bytes) {
    const fd = openSync(path, "wx", 0o644);
    try {
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written, written);
    } finally {
      closeSync(fd);
    }
  },
};

export interface ChunkStoreOptions {
  ledger?: ChunkLedger;
  stats?: CacheStats;
  /** fsync each chunk before the rename (default true). Off only for benchmarks/tests on throwaway dirs. */
  fsync?: boolean;
  writer?: ChunkFileWriter;
  /** Called after a new chunk file is in place. */
  onStored?: (hex: ChunkHex, size: number) => void;
  /**
   * Asked before a new chunk file is written (the evictor: the cap and the free-space reserve hold as writes
   * happen); false: the chunk is not written (StoreFullError). `settle` is told when an admitted write is over.
   */
  admission?: ChunkAdmission;
  /**
   * The ids' key: the cache dir's (`chunkIdKey.ts`, what `openChunkCache` passes). Without one (a store of a test or
   * a benchmark) a random key of this store alone: its chunks of new ids are not found by another store.
   */
  idKey?: bigint;
}

export interface ChunkAdmission {
  admit(bytes: number): Promise<boolean>;
  settle(bytes: number): void;
}

export type PutOutcome = "stored" | "duplicate";

export type ChunkRead =
  | { kind: "ok"; bytes: Uint8Array }
  | { kind: "missing" }
  /** The file was there but its bytes did not hash to the id (or had the wrong length); it has been deleted. */
  | { kind: "corrupt" };

/**
 * The disk (or quota) is full, or eviction could not make room for the chunk (code "NOROOM", warned by the evictor):
 * nothing was left behind; callers fall back to serving from the origin.
 */
export class StoreFullError extends Error {
  override readonly name = "StoreFullError";
  constructor(readonly code: string, chunksDir: string) {
    super(`chunk cache at ${tildify(chunksDir)} is full (${code}): serving from the origin without caching`);
  }
}

export class ChunkStore {
  private readonly ledger?: ChunkLedger;
  private readonly stats?: CacheStats;
  private readonly fsync: boolean;
  private readonly writer: ChunkFileWriter;
  private readonly onStored?: (hex: ChunkHex, size: number) => void;
  /** Makes and checks chunk ids with this cache's key: everything that names or checks a stored chunk uses it. */
  readonly ids: ChunkIdentity;
  /** The key of `ids` (handed to the hash worker, which makes the ids of whole-file fetches). */
  readonly idKey: bigint;
  /** Set after construction by the cache's wiring (the evictor needs the store first). */
  admission: ChunkAdmission | undefined;
  private readonly madeDirs = new Set<string>();
  /** Puts in progress by id: two files sharing a chunk, fetched at once, write it once. */
  private readonly inflight = new Map<ChunkHex, Promise<PutOutcome>>();
  private tempSerial = 0;
  /** Warn once per episode of a full disk, not once per chunk. */
  private fullWarned = false;

  constructor(
    readonly chunksDir: string,
    options: ChunkStoreOptions = {},
  ) {
    this.ledger = options.ledger;
    this.stats = options.stats;
    this.fsync = options.fsync ?? true;
    this.writer = options.writer ?? fsChunkFileWriter;
    this.onStored = options.onStored;
    this.admission = options.admission;
    this.idKey = options.idKey ?? randomChunkIdKey();
    this.ids = chunkIdentity(this.idKey);
  }

  pathOf(hex: ChunkHex): string {
    return chunkPath(this.chunksDir, hex);
  }

  /**
   * Whether the chunk file exists, by a synchronous stat (a few µs on cached dentries, also for a missing file): for
   * walks over many chunks that are mostly absent, where an async stat per chunk cost a thread-pool round trip each.
   */
  hasNow(hex: ChunkHex): boolean {
    return existsSync(this.pathOf(hex));
  }

  async has(hex: ChunkHex): Promise<boolean> {
    try {
      await stat(this.pathOf(hex));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Stores `bytes` under their hash (pass `id` when already computed). A chunk already present is a dedup hit and
   * costs no write. Throws StoreFullError on ENOSPC/EDQUOT, other errors as they are; never leaves a temp file.
   */
  put(bytes: Uint8Array, id: ChunkId = this.ids.idOf(bytes)): Promise<PutOutcome> {
    const hex = chunkHex(id);
    const running = this.inflight.get(hex);
    if (running) return running;
    const p = this.putOnce(hex, bytes).finally(() => this.inflight.delete(hex));
    this.inflight.set(hex, p);
    return p;
  }

  private async putOnce(hex: ChunkHex, bytes: Uint8Array): Promise<PutOutcome> {
    // A synchronous stat (a few µs on cached dentries): the async one cost a thread-pool round trip and a promise
    // per chunk on the main thread, ~5 % of its CPU in a cold read.
    if (existsSync(this.pathOf(hex))) {
      this.ledger?.recordAccess([hex]);
      return "duplicate";
    }
    const admission = this.admission;
    if (admission && !(await admission.admit(bytes.length))) throw new StoreFullError("NOROOM", this.chunksDir);
    try {
      return await this.write(hex, bytes);
    } finally {
      admission?.settle(bytes.length);
    }
  }

  private async write(hex: ChunkHex, bytes: Uint8Array): Promise<PutOutcome> {
    const dir = chunkDir(this.chunksDir, hex);
    const temp = chunkTempPath(this.chunksDir, hex, process.pid, this.tempSerial++);
    try {
      if (!this.fsync && this.writer.writeNow) {
        if (!this.madeDirs.has(dir)) mkdirSync(dir, { recursive: true });
        this.madeDirs.add(dir);
        this.writer.writeNow(temp, bytes);
        renameSync(temp, this.pathOf(hex));
      } else {
        if (!this.madeDirs.has(dir)) {
          await mkdir(dir, { recursive: true });
          this.madeDirs.add(dir);
        }
        await this.writer.write(temp, bytes, this.fsync);
        await rename(temp, this.pathOf(hex));
      }
    } catch (e) {
      await unlink(temp).catch(() => {});
      const code = errnoCode(e);
      if (code === "ENOSPC" || code === "EDQUOT") {
        const err = new StoreFullError(code, this.chunksDir);
        if (!this.fullWarned) log.warn(err.message);
        this.fullWarned = true;
        this.stats?.countWriteFailure();
        throw err;
      }
      this.stats?.countWriteFailure();
      throw new Error(`cannot write chunk ${hex.slice(0, 16)}… to ${tildify(this.chunksDir)}: ${errorMessage(e)}`, {
        cause: e,
      });
    }
    if (this.fullWarned) log.info(`chunk cache at ${tildify(this.chunksDir)} accepts writes again`);
    this.fullWarned = false;
    this.stats?.countStored(bytes.length);
    this.ledger?.recordAdded(hex, bytes.length);
    this.onStored?.(hex, bytes.length);
    return "stored";
  }

  /**
   * Reads and verifies a chunk. A chunk whose bytes do not match its id (or `expectedLength`) is deleted, so that
   * the caller's re-fetch can store a good copy; wrong bytes are never returned.
   */
  async get(id: ChunkId, expectedLength?: number): Promise<ChunkRead> {
    const hex = chunkHex(id);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(this.pathOf(hex)));
    } catch (e) {
      if (errnoCode(e) === "ENOENT") return { kind: "missing" };
      throw e;
    }
    if ((expectedLength !== undefined && bytes.length !== expectedLength) || !this.ids.matches(bytes, id)) {
      log.warn(`chunk ${hex.slice(0, 16)}… failed verification (${bytes.length} bytes): deleted, will be re-fetched`);
      this.stats?.countCorrupt();
      await this.delete(hex);
      return { kind: "corrupt" };
    }
    this.ledger?.recordAccess([hex]);
    return { kind: "ok", bytes };
  }

  /**
   * Deletes a chunk file at once (no thread-pool round trip): for the few files a caller must know gone before it
   * goes on (a file's range blocks, before its manifest is announced).
   */
  deleteNow(hex: ChunkHex): void {
    try {
      unlinkSync(this.pathOf(hex));
    } catch (e) {
      if (errnoCode(e) !== "ENOENT") throw e;
    }
    this.ledger?.recordRemoved(hex);
  }

  /** Deletes a chunk file; returns the bytes freed (0 when it was already gone). */
  async delete(hex: ChunkHex): Promise<number> {
    const path = this.pathOf(hex);
    let size: number;
    try {
      size = (await stat(path)).size;
      await unlink(path);
    } catch (e) {
      if (errnoCode(e) === "ENOENT") {
        this.ledger?.recordRemoved(hex);
        return 0;
      }
      throw e;
    }
    this.ledger?.recordRemoved(hex);
    return size;
  }
}
