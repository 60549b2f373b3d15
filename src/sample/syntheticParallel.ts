/**
 * Spreads album writing over worker threads. File creation is mostly kernel time, so on a 2-core machine two
 * writers keep both cores busy. Results come back out of order; the manifest is still written in album order,
 * so the output is identical to the single-threaded one.
 *
 * The worker module is started by URL relative to this one: a compiled binary must list
 * src/sample/syntheticWorker.ts among its entry points to use this (build.ts WORKER_ENTRIES).
 */
import type { SyntheticFormat } from "./syntheticPlan.ts";
import { WorkerThread } from "../core/workerThread.ts";

export interface WorkerOptions {
  dir: string;
  seed: number;
  files: number;
  formats: SyntheticFormat[];
  tiny: boolean;
}

export type WorkerRequest =
  | { type: "init"; options: WorkerOptions }
  | { type: "albums"; chunk: number; firstAlbum: number; endAlbum: number };

export type WorkerReply =
  | { type: "done"; chunk: number; files: number; bytes: number; manifestLines: string }
  | { type: "error"; message: string };

export interface ChunkResult {
  files: number;
  bytes: number;
  manifestLines: string;
}

const ALBUMS_PER_CHUNK = 32;

/**
 * Writes albums [0, albums) with `workerCount` workers; `onChunk` sees chunks strictly in album order.
 */
export async function writeAlbumsInParallel(
  options: WorkerOptions,
  albums: number,
  workerCount: number,
  onChunk: (result: ChunkResult) => Promise<void> | void,
): Promise<void> {
  const chunkCount = Math.ceil(albums / ALBUMS_PER_CHUNK);
  const workers: WorkerThread<WorkerRequest, WorkerReply>[] = [];
  const pending = new Map<number, ChunkResult>();
  let nextToSend = 0;
  let nextToEmit = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const send = (worker: WorkerThread<WorkerRequest, WorkerReply>) => {
        if (nextToSend >= chunkCount) return;
        const chunk = nextToSend++;
        const firstAlbum = chunk * ALBUMS_PER_CHUNK;
        worker.post({ type: "albums", chunk, firstAlbum, endAlbum: Math.min(albums, firstAlbum + ALBUMS_PER_CHUNK) });
      };
      let emitting = Promise.resolve();
      const onReply = (worker: WorkerThread<WorkerRequest, WorkerReply>, reply: WorkerReply) => {
        if (reply.type === "error") return reject(new Error(reply.message));
        pending.set(reply.chunk, reply);
        send(worker);
        emitting = emitting
          .then(async () => {
            while (pending.has(nextToEmit)) {
              const result = pending.get(nextToEmit)!;
              pending.delete(nextToEmit++);
              await onChunk(result);
            }
            if (nextToEmit === chunkCount) resolve();
          })
          .catch(reject);
      };
      const failed = (e: Error) => reject(new Error(`synthetic library worker failed: ${e.message}`));
      for (let i = 0; i < Math.min(workerCount, chunkCount); i++) {
        const worker: WorkerThread<WorkerRequest, WorkerReply> = new WorkerThread(new URL("./syntheticWorker.ts", import.meta.url), {
          onMessage: (reply) => onReply(worker, reply),
          onFailedToStart: failed,
          onCrash: failed,
        });
        workers.push(worker);
        worker.post({ type: "init", options });
        send(worker);
        send(worker); // two in flight per worker, so it never waits for the main thread
      }
      if (chunkCount === 0) resolve();
    });
  } finally {
    for (const worker of workers) void worker.terminate({ detach: true });
  }
}
