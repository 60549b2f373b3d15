/**
 * Range blocks: a file without a manifest is read in aligned blocks (32 KiB) with ranged origin reads, contiguous
 * missing blocks in one request (the kernel's readahead makes the READs of a sequential reader large). Unless the
 * file is being fetched whole, each block is stored as a chunk and recorded in the RangeIndex, so a tag reader's
 * head and tail reads are fetched once, ever (also across restarts), and never pull the whole file. Recently used
 * blocks of all files are also kept in memory. When the file's manifest arrives, its blocks are dropped.
 */
import { errorMessage } from "../../core/errors.ts";
import type { ContentId } from "../../core/types.ts";
import { Lru } from "../../core/lru.ts";
import { log } from "../../core/logger.ts";
import { chunkHex, hexToId, type ChunkHex } from "../chunkHash.ts";
import { manifestChunkHexes, type Manifest } from "../manifestCodec.ts";
import type { RangeBlock } from "../rangeIndex.ts";
import { noteStoreFailure } from "./fetchError.ts";
import { copyOverlap, type FileFetch } from "./fileFetch.ts";
import type { FetchEnv } from "./options.ts";
import { checkVersion, fetchExactly } from "./originReads.ts";
import { bounded, type ReadContext } from "./readContext.ts";

/** Blocks fetched for reads are kept in memory and stored; blocks fetched for the sequential fetch are neither. */
export type BlockPurpose = "read" | "primary";

export class RangeBlocks {
  /** Recently used range blocks of all files, keyed by file version and block index. */
  private readonly memory: Lru<string, Promise<Uint8Array>>;
  /** Bytes of blocks held back (FileFetch.unstored) in all files. */
  private heldBytes = 0;

  constructor(
    private readonly env: FetchEnv,
    /** The decoded manifest of a file, if one is known (a block stored after it arrived is not recorded). */
    private readonly knownManifest: (fileId: ContentId) => Manifest | undefined,
  ) {
    this.memory = new Lru(env.o.maxMemoryBlocks);
  }

  /**
   * Serves [pos, end) from range blocks: the blocks the read covers, and those up to `aheadTo` (the read-ahead
   * window, readAheadWindow.ts) in the same ranged request, not waited for.
   */
  async read(ff: FileFetch, pos: number, end: number, out: Uint8Array, outBase: number, ctx: ReadContext, aheadTo = end): Promise<number> {
    const B = this.env.o.rangeBlockBytes;
    const first = Math.floor(pos / B);
    const last = Math.floor((end - 1) / B);
    const blocks = this.blocks(ff, first, Math.max(last, Math.floor((aheadTo - 1) / B)), "read");
    for (const b of blocks) b.catch(() => {}); // a failure ends the loop below before the later blocks are awaited
    for (let k = first; k <= last; k++) {
      const bytes = await bounded(blocks[k - first], ctx);
      copyOverlap(bytes, k * B, out, outBase, end, pos);
    }
    return end;
  }

  /** The file's stored range blocks, looked up once per read state (Fetcher.opened does it ahead of the first read). */
  lookUpStored(ff: FileFetch): void {
    const index = this.env.deps.rangeIndex;
    if (index) ff.stored ??= index.blocksOf(ff.file.fileId, ff.file, this.env.o.rangeBlockBytes);
  }

  /**
   * The first block from `first` (up to `last`) that is neither in memory (fetched or being fetched for a read) nor
   * recorded in the store: the whole-file fetch reuses the run of blocks before it instead of fetching them again.
   */
  knownUntil(ff: FileFetch, first: number, last: number): number {
    this.lookUpStored(ff);
    let k = first;
    while (k <= last && (this.memory.peek(memoryKey(ff, k)) !== undefined || ff.stored?.has(k))) k++;
    return k;
  }

  /**
   * Blocks first..last of a file, each from memory, the store (a recorded range block) or the origin — contiguous
   * missing blocks in one ranged read.
   */
  blocks(ff: FileFetch, first: number, last: number, purpose: BlockPurpose): Promise<Uint8Array>[] {
    const out: Promise<Uint8Array>[] = [];
    let missingFrom = -1;
    const fetchMissing = (until: number) => {
      if (missingFrom < 0) return;
      out.push(...this.fetchBlocks(ff, missingFrom, until, purpose));
      missingFrom = -1;
    };
    for (let k = first; k <= last; k++) {
      const known = this.memory.get(memoryKey(ff, k)) ?? this.storedBlock(ff, k, purpose);
      if (known) {
        fetchMissing(k);
        out.push(known);
      } else if (missingFrom < 0) missingFrom = k;
    }
    fetchMissing(last + 1);
    return out;
  }

  /**
   * The manifest supersedes the file's range blocks: their records go, and so do their chunk files (unless the
   * manifest or an open file uses the same bytes). Another file with identical bytes may share a block; it then
   * finds it missing and fetches it again, which costs a request but is never wrong.
   */
  dropAll(ff: FileFetch, m: Manifest): void {
    const index = this.env.deps.rangeIndex;
    if (!index) return;
    const blocks = ff.stored ?? index.blocksOf(ff.file.fileId, ff.file, this.env.o.rangeBlockBytes);
    index.forget(ff.file.fileId);
    if (blocks.size === 0) return;
    const keep = this.manifestKeeps(m);
    for (const b of blocks.values()) this.dropBlockChunk(b.hex, keep);
  }

  /**
   * The chunks a file fetched whole still needs in the chunk store: its manifest's when it is read from chunks; none
   * with data files (`partials`), where its bytes are in its data file. A range block has the same bytes, and so the
   * same id, as the manifest chunk at its place when their sizes match: kept "for the manifest", it stayed on disk
   * beside the data file for good (the contentCache e2e found one such chunk in about one run of three).
   */
  private manifestKeeps(m: Manifest | null | undefined): Set<ChunkHex> {
    return m && !this.env.deps.partials ? manifestChunkHexes(m) : new Set();
  }

  private remember(ff: FileFetch, k: number, p: Promise<Uint8Array>): void {
    const key = memoryKey(ff, k);
    this.memory.set(key, p);
    p.catch(() => {
      if (this.memory.peek(key) === p) this.memory.delete(key);
    });
  }

  /** A recorded range block read back from the store (verified); fetched again if it went missing or bad. */
  private storedBlock(ff: FileFetch, k: number, purpose: BlockPurpose): Promise<Uint8Array> | undefined {
    if (!this.env.deps.rangeIndex) return undefined;
    this.lookUpStored(ff);
    const b = ff.stored?.get(k);
    if (!b) return undefined;
    const p = this.env.deps.store.get(hexToId(b.hex), b.length).then((r) => {
      if (r.kind === "ok") return r.bytes;
      ff.stored?.delete(k);
      return this.fetchBlocks(ff, k, k + 1, purpose)[0];
    });
    if (purpose === "read") this.remember(ff, k, p);
    return p;
  }

  /** One ranged origin read of blocks [from, until), split into one promise per block. */
  private fetchBlocks(ff: FileFetch, from: number, until: number, purpose: BlockPurpose): Promise<Uint8Array>[] {
    const { o, deps } = this.env;
    const B = o.rangeBlockBytes;
    const start = from * B;
    const run = Promise.all([
      fetchExactly(ff.file, start, Math.min(ff.file.size, until * B) - start, o.originTimeoutMs, deps.stats),
      checkVersion(ff, o.originTimeoutMs, this.env.heads),
    ]).then(([bytes]) => bytes);
    const out: Promise<Uint8Array>[] = [];
    for (let k = from; k < until; k++) {
      const p = run.then((bytes) => bytes.subarray((k - from) * B, Math.min(bytes.length, (k - from + 1) * B)));
      if (purpose === "read") this.remember(ff, k, p);
      out.push(p);
    }
    // Stored in a later turn of the event loop: the read that waits for the blocks is answered (its reply posted to
    // the worker) before they are hashed and written, not after. Blocks that extend what was read from offset 0
    // are held back instead: most such reading is a player's, whose file is then fetched whole and its bytes
    // recorded by that fetch (storing its first 4 MiB as 128 chunk files, deleted at the end, cost 30-40 ms of CPU
    // per played file). `storeUnstored` keeps what that fetch did not record when the reading ends.
    const persist = purpose === "read" && !ff.playback && deps.rangeIndex !== undefined;
    if (persist && this.mayBecomePlayback(ff, start, until * B - start)) {
      run.catch(() => {});
      ff.unstored.push({ from, bytes: run });
      ff.unstoredBytes += until * B - start;
      ff.unstoredEnd = Math.max(ff.unstoredEnd, until * B);
      this.heldBytes += until * B - start;
    } else if (persist) this.env.track(run.then((bytes) => afterThisTurn().then(() => this.storeBlocks(ff, from, bytes)))).catch(() => {});
    return out;
  }

  /**
   * A read at `start` continues the coverage of the file from offset 0 (before this read: playbackDetector.ts) or
   * the blocks already held back for it, and the blocks held back for it stay within the playback threshold and a
   * window beyond it, and those of all files within `retainedBytes` (a program that keeps many files open after
   * reading their heads has its blocks stored at once, as before, instead of held in memory).
   *
   * Why the held-back blocks count: a reader's coverage is noted when its read returns, and the kernel has several
   * READs of a sequential reader in flight, each fetching its read-ahead beyond what the one before fetched. With
   * the coverage alone, those runs (starting past it) were stored as chunk files: ~2 MiB of 32 KiB blocks per played
   * file in a cold `dd bs=1M` (bench/s3/coldProfile.ts), each hashed, written, renamed, recorded and deleted again
   * when the fetch recorded the same bytes: a fifth of the main thread's profile samples during the read.
   */
  private mayBecomePlayback(ff: FileFetch, start: number, bytes: number): boolean {
    const first = ff.readRanges[0];
    const covered = first && first[0] === 0 ? first[1] : 0;
    const { playbackThresholdBytes, fetchWindowMaxBytes, retainedBytes } = this.env.o;
    return start <= Math.max(covered, ff.unstoredEnd) && ff.unstoredBytes + bytes <= playbackThresholdBytes + fetchWindowMaxBytes && this.heldBytes + bytes <= retainedBytes;
  }

  /**
   * The reading ended (the file closed, its read state let go, the cache closing): the held-back blocks are stored
   * now, but for those the whole-file fetch has recorded in its progress already (or a completed fetch: its
   * manifest is the record). Nothing fetched is thrown away, however the reading ended.
   */
  storeUnstored(ff: FileFetch): void {
    const held = ff.unstored;
    this.forgetUnstored(ff);
    const B = this.env.o.rangeBlockBytes;
    for (const h of held)
      this.env.track(h.bytes.then((bytes) => {
        if (ff.primary === "done" || h.from * B + bytes.length <= recordedPrefixEnd(ff)) return;
        return this.storeBlocks(ff, h.from, bytes);
      })).catch(() => {});
  }

  /** The file's read state is let go without its held-back blocks (its version changed, its fetch completed). */
  forgetUnstored(ff: FileFetch): void {
    this.heldBytes -= ff.unstoredBytes;
    ff.unstored = [];
    ff.unstoredBytes = 0;
    ff.unstoredEnd = 0;
  }

  /**
   * Stores fetched range blocks as chunks and records them, so they are never fetched again: the rows of one ranged
   * read in one transaction once its blocks are stored (a row per block, each its own commit, cost ~40 µs each).
   */
  private async storeBlocks(ff: FileFetch, from: number, bytes: Uint8Array): Promise<void> {
    const B = this.env.o.rangeBlockBytes;
    const index = this.env.deps.rangeIndex!;
    const stored: RangeBlock[] = [];
    for (let k = from, at = 0; at < bytes.length; k++, at += B) {
      const block = bytes.subarray(at, Math.min(bytes.length, at + B));
      const id = this.env.deps.store.ids.idOf(block);
      try {
        await this.env.deps.store.put(block, id);
      } catch (e) {
        noteStoreFailure(ff.file, e);
        break;
      }
      stored.push({ block: k, hex: chunkHex(id), length: block.length });
    }
    // Recorded even while closing (close waits for this): the bytes were fetched and stored, so keep them. But a
    // file fetched whole meanwhile has no use for them: its manifest is the record now.
    if (ff.primary === "done") {
      const keep = this.manifestKeeps(this.knownManifest(ff.file.fileId));
      for (const b of stored) this.dropBlockChunk(b.hex, keep);
      return;
    }
    index.recordAll(ff.file.fileId, ff.file, B, stored);
    for (const b of stored) ff.stored?.set(b.block, b);
  }

  private dropBlockChunk(hex: ChunkHex, keep: Set<ChunkHex>): void {
    if (keep.has(hex) || this.env.deps.pins?.isPinned(hex)) return;
    try {
      this.env.deps.store.deleteNow(hex);
    } catch (e) {
      log.debug(`cannot delete range block ${hex.slice(0, 16)}…: ${errorMessage(e)}`);
    }
  }
}

/** The end of the file's prefix recorded in FetchProgress (chunks [0, persisted)). */
function recordedPrefixEnd(ff: FileFetch): number {
  const last = ff.chunks[ff.persisted - 1];
  return last ? last.offset + last.length : 0;
}

function afterThisTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function memoryKey(ff: FileFetch, k: number): string {
  return `${ff.file.fileId}/${ff.file.size}/${ff.file.mtimeMs}/${k}`;
}
