/**
 * The main thread's side of the hash worker (`hashWorker.ts`, `writtenHashing.ts`): a whole-file fetch begins a job
 * on its partial data file, names each range once it is written, and gets back the chunks that range completed,
 * hashed as read back from the file. One worker for all fetches, started on first use, restarted after a crash
 * (the jobs it had fail: their fetches stop and resume later from their recorded progress).
 */
import { errorMessage } from "../core/errors.ts";
import { workerEntry } from "../core/workerEntry.ts";
import { WorkerThread } from "../core/workerThread.ts";
import { FIXED_CHUNK_BYTES } from "./fixedChunks.ts";
import type { ProgressTarget } from "./progressRecorder.ts";
import type { HashedChunk, HashReply, HashRequest } from "./writtenHashing.ts";

export type { HashedChunk } from "./writtenHashing.ts";

/** One partial data file being hashed as it is written. */
export interface HashJob {
  /** Bytes [from, to) are in the file (`checksum`: their XXH3 as received); resolves with the chunks they completed. */
  written(from: number, to: number, checksum: bigint): Promise<HashedChunk[]>;
  /**
   * No more ranges (the fetch ended, completed or not). Resolves once the chunks not yet recorded as progress are
   * (with `progress`), or the worker is gone; never rejects.
   */
  end(): Promise<void>;
  /**
   * Bytes as received at `from`: copied into shared memory and handed to the worker, which writes them at their
   * offset in the file and hashes them from memory; resolves with the chunks they completed. Rejects with
   * WriteFailure when they could not be written. The caller's bytes are not kept (nor detached): the memory the
   * readers are answered from stays the caller's.
   */
  writeAndHash(from: number, bytes: Uint8Array): Promise<HashedChunk[]>;
  /** With `progress`: the end of the chunks the worker has recorded in `fetch_progress` (as of its last reply). */
  readonly recordedTo: number;
}

/** The worker could not write the bytes (`code`: the errno code, e.g. ENOSPC). */
export class WriteFailure extends Error {
  constructor(message: string, readonly code: string | undefined) {
    super(message);
  }
}

/**
 * Shared memory for the bytes in flight to the worker, reused: a fresh buffer per ranged read would be touched
 * page by page for the first time (~256 page faults per MiB) on every copy. Buffers come back when the worker has
 * replied; at most `keep` are kept.
 */
class SharedBuffers {
  private readonly free: SharedArrayBuffer[] = [];
  constructor(private readonly keep = 8) {}

  take(bytes: number): SharedArrayBuffer {
    const i = this.free.findIndex((b) => b.byteLength >= bytes);
    if (i >= 0) return this.free.splice(i, 1)[0];
    return new SharedArrayBuffer(Math.max(bytes, 1 << 20));
  }

  give(b: SharedArrayBuffer): void {
    if (this.free.length < this.keep) this.free.push(b);
  }
}

export interface ChunkHashing {
  /**
   * A job over the partial data file at `path` of a file of `size` bytes, hashed from `start` (a chunk boundary).
   * `progress`: the worker also records the chunks in `fetch_progress` (progressRecorder.ts), `start` being the end
   * of what is recorded there already.
   */
  begin(path: string, start: number, size: number, progress?: ProgressTarget): HashJob;
  close(): Promise<void>;
}

export class ChunkHasher implements ChunkHashing {
  private worker: WorkerThread<HashRequest, HashReply> | null = null;
  private readonly waiting = new Map<
    number,
    { resolve: (c: HashedChunk[]) => void; reject: (e: Error) => void; recorded?: (to: number | undefined) => void }
  >();
  private nextJob = 1;
  private nextSeq = 1;
  private readonly shared = new SharedBuffers();

  constructor(
    /** The cache's chunk id key (the store's `idKey`). */
    private readonly idKey: bigint,
    private readonly chunkBytes = FIXED_CHUNK_BYTES,
    private readonly entry = workerEntry("cas/hashWorker.ts"),
  ) {}

  begin(path: string, start: number, size: number, progress?: ProgressTarget): HashJob {
    const job = this.nextJob++;
    const worker = this.started();
    worker.post({ type: "begin", job, path, start, size, chunkBytes: this.chunkBytes, idKey: this.idKey, progress });
    let recordedTo = start;
    const recorded = (to: number | undefined) => {
      if (to !== undefined) recordedTo = Math.max(recordedTo, to);
    };
    return {
      get recordedTo() {
        return recordedTo;
      },
      written: (from, to, checksum) =>
        new Promise<HashedChunk[]>((resolve, reject) => {
          const seq = this.nextSeq++;
          const worker = this.started();
          if (this.waiting.size === 0) worker.ref(); // a reply is awaited: keep the process alive for it
          this.waiting.set(seq, { resolve, reject, recorded });
          worker.post({ type: "written", job, seq, from, to, checksum });
        }),
      writeAndHash: (from, bytes) =>
        new Promise<HashedChunk[]>((resolve, reject) => {
          const seq = this.nextSeq++;
          const worker = this.started();
          const buffer = this.shared.take(bytes.length);
          new Uint8Array(buffer, 0, bytes.length).set(bytes);
          const back = () => this.shared.give(buffer);
          if (this.waiting.size === 0) worker.ref();
          this.waiting.set(seq, {
            resolve: (c) => (back(), resolve(c)),
            reject: (e) => (back(), reject(e)),
            recorded,
          });
          worker.post({ type: "bytes", job, seq, from, to: from + bytes.length, bytes: buffer });
        }),
      end: () => {
        const worker = this.worker;
        if (!worker) return Promise.resolve();
        if (!progress) {
          worker.post({ type: "end", job });
          return Promise.resolve();
        }
        return new Promise<void>((resolve) => {
          const seq = this.nextSeq++;
          if (this.waiting.size === 0) worker.ref();
          this.waiting.set(seq, { resolve: () => resolve(), reject: () => resolve(), recorded });
          worker.post({ type: "end", job, seq });
        });
      },
    };
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    this.failAll(new Error("the hash worker stopped"));
    if (w) await w.terminate({ detach: true });
  }

  private started(): WorkerThread<HashRequest, HashReply> {
    if (this.worker) return this.worker;
    const lost = (why: string) => (e: Error) => {
      this.worker = null;
      this.failAll(new Error(`the hash worker ${why}: ${errorMessage(e)}`));
    };
    const w = new WorkerThread<HashRequest, HashReply>(this.entry, {
      onMessage: (m) => {
        const waiter = this.waiting.get(m.seq);
        if (!waiter) return;
        this.waiting.delete(m.seq);
        if (this.waiting.size === 0) w.unref();
        if (m.type === "failed") return waiter.reject(m.write ? new WriteFailure(m.reason, m.write.code) : new Error(m.reason));
        waiter.recorded?.(m.recordedTo);
        waiter.resolve(m.type === "chunks" ? m.chunks : []);
      },
      onFailedToStart: lost("did not start"),
      onCrash: lost("crashed"),
    });
    w.unref(); // an idle hash worker does not keep a process alive
    this.worker = w;
    return w;
  }

  private failAll(e: Error): void {
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
  }
}
