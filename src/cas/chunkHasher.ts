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
  /** With `progress`: the end of the chunks the worker has recorded in `fetch_progress` (as of its last reply). */
  readonly recordedTo: number;
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
        if (m.type === "failed") return waiter.reject(new Error(m.reason));
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
