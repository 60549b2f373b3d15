/**
 * The sequential ("primary") fetch of a whole file: streaming GETs that start small and double in size
 * (fetchWindow.ts, streamedSegments.ts; blocks already fetched are reused, not fetched again), their pieces taken in
 * file order as they arrive; readers waiting just ahead are answered as the bytes go by. Into a data file
 * (`runWritten`): each read is written at its offset and the hash worker cuts (fixed boundaries) and hashes it after
 * it is written. The chunk layout: fed to FastCDC on this thread, chunks stored as they are cut. At EOF the manifest
 * is built and `ManifestCached` is emitted.
 *
 * Its progress (the stored prefix of chunks) is recorded in FetchProgress as it goes: a fetch that fails (origin
 * error, stall, offline) or is cut off by a restart resumes from its last cut — CDC restarts exactly at a chunk
 * boundary, so the resumed stream yields the same chunks and nothing stored is fetched again.
 */
import { errorMessage } from "../../core/errors.ts";
import { log } from "../../core/logger.ts";
import { withTimeout } from "../../core/timeout.ts";
import { chunkHex, hexToId, isCurrentChunkHex } from "../chunkHash.ts";
import { StreamingChunker, type CutChunk } from "../fastCdc.ts";
import type { ProgressChunk } from "../fetchProgress.ts";
import { buildManifest, encodeManifest, readChecksum } from "../manifestCodec.ts";
import { asFetchError, describe, FetchError, noteStoreFailure } from "./fetchError.ts";
import type { HashedChunk } from "../chunkHasher.ts";
import type { FetchedChunk, FileFetch } from "./fileFetch.ts";
import type { ManifestReads } from "./manifestReads.ts";
import { requestParams, type FetchEnv } from "./options.ts";
import { checkVersion } from "./originReads.ts";
import type { RangeBlocks } from "./rangeBlocks.ts";
import type { RetainedPieces } from "./retained.ts";
import { StreamedSegments } from "./streamedSegments.ts";
import { deliver, rejectAll } from "./waiters.ts";

export class SequentialFetch {
  constructor(
    private readonly env: FetchEnv,
    private readonly parts: {
      blocks: RangeBlocks;
      manifests: ManifestReads;
      retained: RetainedPieces;
      /** True while `ff` is still the file's fetch (not abandoned for a newer version, not closed). */
      isCurrent: (ff: FileFetch) => boolean;
      /** Forgets a finished fetch (its waiters, pins and retained pieces). */
      drop: (ff: FileFetch) => void;
    },
  ) {}

  /**
   * A whole-file fetch interrupted before (kill -9, crash, unmount) left its stored prefix in FetchProgress: take it
   * as already cut, so the fetch resumes at its end. The file was being played, so it counts as playback: the
   * next read restarts the fetch. Its chunks are pinned like any chunk of a running fetch; one evicted since is
   * found missing when read and served from the origin (the manifest is still right; the chunk is repaired later).
   */
  resumeFromProgress(ff: FileFetch): void {
    const prefix = this.env.deps.progress?.prefixOf(ff.file.fileId, ff.file) ?? [];
    if (prefix.length === 0) return;
    // A prefix recorded with SHA-256 ids (by a musicfs before keyed XXH3 ids): a manifest has one id algorithm, so
    // the fetch starts over (the partial data file is written again from its first byte). Once, after the upgrade.
    if (!prefix.every((c) => isCurrentChunkHex(c.hex))) {
      log.debug(`the fetch of ${describe(ff.file)} was recorded with SHA-256 chunk ids: it starts over`);
      this.env.deps.progress?.forget(ff.file.fileId);
      return;
    }
    for (const c of prefix)
      ff.chunks.push({ offset: c.offset, length: c.length, id: hexToId(c.hex), hex: c.hex, checksum: c.checksum, state: "stored" });
    ff.persisted = prefix.length;
    ff.cutEnd = prefix[prefix.length - 1].offset + prefix[prefix.length - 1].length;
    ff.playback = true;
    // With data files the prefix is in the file's partial data file, not in chunk files: nothing to pin.
    if (!this.env.deps.partials) this.env.deps.pins?.pin(ff.pinOwner, prefix.map((c) => c.hex));
    log.debug(`resuming the fetch of ${describe(ff.file)} at ${ff.cutEnd} of ${ff.file.size} bytes`);
  }

  /** Streams the file from its last cut to EOF; resolves when done or abandoned, rejects when it failed. */
  async run(ff: FileFetch): Promise<void> {
    const { file } = ff;
    const timeoutMs = this.env.o.originTimeoutMs;
    await withTimeout(checkVersion(ff, timeoutMs, this.env.heads), timeoutMs, () =>
      new FetchError("timeout", `${describe(file)}: origin stalled for ${timeoutMs} ms`),
    );
    if (this.env.deps.partials && this.env.deps.hashing) return this.runWritten(ff);
    const chunker = new StreamingChunker(ff.cutEnd, this.env.o.cdc);
    ff.chunker = chunker;
    const stores: Promise<void>[] = [];
    let ended: "eof" | "abandoned";
    try {
      ended = await this.pump(
        ff,
        (_at, piece) => {
          // Every cut is registered before anything is awaited: a cut chunk must be findable (in memory until
          // stored) the moment it leaves the chunker's buffer, or a read of its range would fall through the gap.
          for (const cut of chunker.push(piece)) stores.push(this.storeCut(ff, cut));
        },
        async () => {
          while (stores.length > this.env.o.maxPendingStores) await stores.shift();
        },
      );
    } catch (e) {
      await Promise.allSettled(stores); // no write may outlive the fetch (shutdown waits for fetches only)
      this.persistProgress(ff);
      throw e;
    }
    if (ended === "abandoned") {
      await Promise.allSettled(stores);
      this.persistProgress(ff);
      this.env.deps.partials?.closePartial(file.fileId);
      return;
    }
    if (chunker.pendingEnd !== file.size)
      throw new FetchError("changed", `${describe(file)} is shorter on the origin than recorded`);
    for (const cut of chunker.finish()) stores.push(this.storeCut(ff, cut));
    await Promise.all(stores);
    await this.complete(ff);
  }

  /**
   * Takes the file's bytes from its last cut to EOF, in order, from the streamed requests (streamedSegments.ts),
   * hands each piece to the readers waiting for it and keeps it for those just behind, then to `sink` (the data
   * file or the chunker); `afterPiece` may hold the stream back (writes in flight). The progress is recorded about
   * once per `segmentBytes`. "abandoned": the fetch stopped (closing, or no longer the file's fetch: its last reader
   * left); the streams in flight are cancelled then, and on any failure.
   */
  private async pump(
    ff: FileFetch,
    sink: (at: number, piece: Uint8Array) => void,
    afterPiece: () => Promise<void>,
    persist: () => void = () => this.persistProgress(ff),
  ): Promise<"eof" | "abandoned"> {
    const { o, deps } = this.env;
    const B = o.rangeBlockBytes;
    const source = new StreamedSegments({
      file: ff.file, from: ff.cutEnd, earnedBytes: ff.bulk ? o.fetchWindowMaxBytes : ff.readAhead.windowBytes, requests: requestParams(o),
      pieceBytes: o.segmentBytes, timeoutMs: o.originTimeoutMs, stats: deps.stats,
      mode: o.fetchRequestMode, windowBytes: o.fetchWindowMaxBytes,
      known: {
        knownUntil: (from, limit) => Math.min(ff.file.size, this.parts.blocks.knownUntil(ff, from / B, Math.floor((limit - 1) / B)) * B),
        pieces: async (from, to) => joinAdjacent(await Promise.all(this.parts.blocks.blocks(ff, from / B, Math.floor((to - 1) / B), "primary"))),
      },
    });
    let persistedAt = ff.cutEnd;
    try {
      for (;;) {
        if (this.env.closed() || !this.parts.isCurrent(ff)) return "abandoned";
        const piece = await source.next();
        if (!piece) return "eof";
        this.parts.retained.retain(ff, piece.at, piece.bytes);
        deliver(ff.waiters, piece.at, piece.bytes);
        sink(piece.at, piece.bytes);
        await afterPiece();
        if (piece.at + piece.bytes.length - persistedAt >= o.segmentBytes) {
          persistedAt = piece.at + piece.bytes.length;
          persist();
        }
      }
    } finally {
      source.cancel();
    }
  }

  /** The fetch stopped on an error: its waiting reads fail; a later read or prefetch retries from the last cut. */
  fail(ff: FileFetch, e: unknown): void {
    const err = asFetchError(e, ff.file);
    if (ff.primary === "done") return;
    ff.primary = "failed";
    ff.chunker = null;
    ff.versionCheck = null; // a retry checks the origin again
    this.env.deps.partials?.closePartial(ff.file.fileId);
    log.debug(`fetch of ${describe(ff.file)} stopped at ${ff.cutEnd}: ${err.message}`);
    rejectAll(ff.waiters, err);
    ff.done.resolve();
  }

  /**
   * The fetch into a partial data file: each ranged read's bytes are handed to the readers waiting for them, written
   * at their offset (one pwrite per read, no copy) and named to the hash worker, which reads them back, checks them
   * against the XXH3 of what arrived, and cuts and hashes the chunks they complete (fixed boundaries). The chunks it
   * reports are the fetch's progress; at EOF they are the manifest. Nothing is chunked or hashed by SHA-256 here.
   */
  private async runWritten(ff: FileFetch): Promise<void> {
    const { file } = ff;
    const { o, deps } = this.env;
    const partials = deps.partials!;
    // Opened (and created) before the job: the worker opens it by name.
    const path = partials.partialPathOf(file);
    const hashedFrom = ff.cutEnd;
    // The worker records the chunks it hashed as the fetch's progress itself (progressRecorder.ts): the commits,
    // and the checkpoints of access.db's small WAL with their fsyncs, are off this thread.
    const progress = deps.progress
      ? { db: deps.progress.path, fileId: file.fileId, size: file.size, mtimeMs: file.mtimeMs, everyBytes: o.segmentBytes }
      : undefined;
    const job = deps.hashing!.begin(path, hashedFrom, file.size, progress);
    ff.streamEnd = ff.cutEnd;
    const hashed: Promise<void>[] = [];
    let writes: Promise<unknown> = Promise.resolve();
    let unwritten = false;
    const noteRecorded = () => markRecorded(ff, job.recordedTo);
    let ending: Promise<void> | null = null;
    // Once: what the worker still has pending is recorded before the fetch is done with (completed, dropped, failed).
    const endJob = () => (ending ??= job.end().then(noteRecorded));
    const settle = async () => {
      await Promise.allSettled(hashed);
      await endJob();
    };
    try {
      const ended = await this.pump(
        ff,
        (at, piece) => {
          ff.streamEnd = at + piece.length;
          if (unwritten) return; // no room: the rest is served to readers but not cached
          // Written in file order (admission may wait), named to the worker only once written.
          const write = writes.then(() => partials.writePartial(file, at, piece));
          writes = write.catch(() => {});
          const checksum = readChecksum(piece);
          const hashing = write.then(
            () => job.written(at, at + piece.length, checksum).then((chunks) => {
              this.addHashed(ff, chunks);
              noteRecorded();
            }),
            (e) => {
              unwritten = true;
              noteStoreFailure(file, e);
            },
          );
          hashing.catch(() => {}); // it may fail while an earlier one is awaited; its turn rethrows
          hashed.push(hashing);
        },
        async () => {
          while (hashed.length > o.maxPendingStores) await hashed.shift();
        },
        noteRecorded,
      );
      if (ended === "abandoned") {
        await settle();
        partials.closePartial(file.fileId);
        return;
      }
      await Promise.all(hashed);
    } catch (e) {
      await settle(); // no write may outlive the fetch (shutdown waits for fetches only)
      throw e;
    } finally {
      await endJob();
    }
    if (this.env.closed() || !this.parts.isCurrent(ff)) return;
    if (ff.streamEnd !== file.size) throw new FetchError("changed", `${describe(file)} is shorter on the origin than recorded`);
    if (file.origin.localPath) await this.unchangedAfterCopy(ff);
    if (unwritten || ff.cutEnd !== file.size) {
      // Not all of it is cached (no room): what was hashed stays recorded, the next playback resumes from there.
      // Forgotten first, so that the partial data file is no longer "being fetched" when eviction looks at it.
      this.parts.drop(ff);
      partials.closePartial(file.fileId);
      return;
    }
    // The worker checked every byte it hashed as read back from the file; the chunks before `hashedFrom` (a prefix
    // written by an earlier run, perhaps before a crash) are checked at completion.
    await this.complete(ff, hashedFrom);
  }

  /**
   * A local file rewritten in place while it was copied gives a data file of old and new bytes, each chunk hashed as
   * written: its manifest would verify. So the version (size + mtime) is checked again after the copy, as before it
   * (checkVersion), and a copy of a file that changed meanwhile is not completed: its progress and read state are
   * forgotten (nothing of the partial data file or of the bytes in memory is served or resumed) and the next
   * playback, once the library has the new version, copies that. Local origins only: a stat is free there, a HEAD per remote file is a request more (counted).
   */
  private async unchangedAfterCopy(ff: FileFetch): Promise<void> {
    const { file } = ff;
    const timeoutMs = this.env.o.originTimeoutMs;
    // A new answer, shared from now on (sharedHeads.ts): the reads that follow must not take the one from before.
    const now = await withTimeout(this.env.heads.renew(file, () => file.origin.stat(file.realPath)), timeoutMs, () =>
      new FetchError("timeout", `${describe(file)}: origin stalled for ${timeoutMs} ms`),
    );
    if (now.size === file.size && now.mtimeMs === file.mtimeMs) return;
    this.env.deps.progress?.forget(file.fileId);
    // Its read state goes too: the pieces it retained and the chunks it hashed hold bytes of the new version.
    this.parts.drop(ff);
    throw new FetchError("changed", `${describe(file)} changed on the origin while it was copied into the cache; rescan needed`);
  }

  /**
   * Chunks the hash worker cut and hashed (written and checked): in the fetch's list, in order, as stored. Recorded
   * by the worker about once per segment (progressRecorder.ts; `persistProgress` on this thread before). Recording them per reply (a piece can be one 32 KiB range
   * block) did not measurably change how many READs the FUSE workers answer themselves (29-32 of 65 against 35,
   * within the spread), and "disk full for real" (test/cas/fetcher.test.ts: the free-space reserve of a 1 MiB cache
   * disk, which access.db's WAL shares) failed in 1 of 12 runs with it, 0 of 30 without.
   */
  private addHashed(ff: FileFetch, chunks: HashedChunk[]): void {
    for (const c of chunks) {
      ff.chunks.push({ offset: c.offset, length: c.length, id: hexToId(c.hex), hex: c.hex, checksum: c.checksum, state: "stored" });
      ff.cutEnd = c.offset + c.length;
    }
  }

  private async storeCut(ff: FileFetch, cut: CutChunk): Promise<void> {
    const checksum = readChecksum(cut.bytes);
    const id = this.env.deps.store.ids.idWithChecksum(cut.bytes, checksum);
    const c: FetchedChunk = {
      offset: cut.offset, length: cut.bytes.length, id, hex: chunkHex(id), checksum,
      state: "storing", bytes: cut.bytes,
    };
    ff.chunks.push(c);
    ff.cutEnd = c.offset + c.length;
    const dataFiles = this.env.deps.partials;
    if (!dataFiles) this.env.deps.pins?.pin(ff.pinOwner, [c.hex]);
    try {
      // With data files, the bytes go where they belong in the file's one data file (no chunk file); the chunk is
      // still cut and hashed: the manifest is what says the data file is right.
      if (dataFiles) await dataFiles.writePartial(ff.file, cut.offset, cut.bytes);
      else await this.env.deps.store.put(cut.bytes, id);
      c.state = "stored";
    } catch (e) {
      c.state = "unstored";
      noteStoreFailure(ff.file, e);
    } finally {
      c.bytes = undefined;
    }
  }

  /** Records the chunks stored since the last call that extend the persisted prefix (in file order, no gap). */
  private persistProgress(ff: FileFetch): void {
    // Also while closing (an unmount keeps the progress too). A file that changed meanwhile only leaves rows of the
    // old version, which the next load drops.
    const progress = this.env.deps.progress;
    if (!progress) return;
    const add: ProgressChunk[] = [];
    while (ff.persisted < ff.chunks.length && ff.chunks[ff.persisted].state === "stored") {
      const c = ff.chunks[ff.persisted++];
      add.push({ offset: c.offset, length: c.length, hex: c.hex, checksum: c.checksum });
    }
    try {
      progress.append(ff.file.fileId, ff.file, add);
    } catch (e) {
      log.debug(`cannot record the progress of ${describe(ff.file)}: ${errorMessage(e)}`);
    }
  }

  /** `checkedFrom`: the chunks from there on were checked as read back from the data file already (the hash worker). */
  private async complete(ff: FileFetch, checkedFrom = Infinity): Promise<void> {
    const { file } = ff;
    const { deps } = this.env;
    const m = buildManifest(ff.chunks, file.size, file.mtimeMs);
    const complete = ff.chunks.every((c) => c.state === "stored");
    if (complete && deps.partials) {
      // The data file becomes complete only when every chunk in it matches the manifest (as read back from it).
      const check = await deps.partials.completePartial(file, m, checkedFrom);
      if (!check.ok) {
        log.warn(`${describe(file)}: its data file did not match the fetched chunks (${check.reason}); it is fetched again when read`);
        deps.progress?.forget(file.fileId);
        this.parts.drop(ff);
        return;
      }
    }
    // Even with chunks missing (disk full) the manifest is right: reads repair missing chunks one by one.
    this.parts.manifests.remember(file.fileId, m);
    ff.primary = "done";
    // Not complete (no room): the partial data file is no longer being fetched, so eviction may take it now.
    if (!complete) deps.partials?.closePartial(file.fileId);
    if (complete) {
      deps.progress?.forget(file.fileId);
      deps.ledger?.recordManifest(file.fileId, file.size);
      this.parts.blocks.dropAll(ff, m);
      deps.bus?.emit("ManifestCached", {
        fileId: file.fileId, manifest: encodeManifest(m), originSize: file.size, originMtimeMs: file.mtimeMs,
      });
    }
    this.parts.drop(ff);
  }
}

/** The chunks up to `recordedTo` are recorded in FetchProgress (by the hash worker): `ff.persisted` follows. */
function markRecorded(ff: FileFetch, recordedTo: number): void {
  while (ff.persisted < ff.chunks.length && ff.chunks[ff.persisted].offset + ff.chunks[ff.persisted].length <= recordedTo) ff.persisted++;
}

/**
 * Blocks fetched in one ranged read are views of one buffer: they are handed on as one piece, so that the chunker
 * carries (copies) a chunk across piece boundaries once per segment instead of once per block, and a READ within
 * the segment can be answered with a view of it.
 */
export function joinAdjacent(pieces: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const p of pieces) {
    const last = out[out.length - 1];
    if (last && last.buffer === p.buffer && last.byteOffset + last.length === p.byteOffset)
      out[out.length - 1] = new Uint8Array(last.buffer, last.byteOffset, last.length + p.length);
    else out.push(p);
  }
  return out;
}
