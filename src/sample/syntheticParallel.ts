/**
 * Spreads album writing over worker threads. File creation is mostly kernel time, so on a 2-core machine two
 * writers keep both cores busy. Results come back out of order; the manifest is still written in album order,
 * so the output is identical to the single-threaded one.
 *
 * The worker module is started with `new Worker(new URL("./syntheticWorker.ts", import.meta.url))`: a compiled
 * binary must list src/sample/syntheticWorker.ts among its entry points to use this (build.ts WORKER_ENTRIES).
 */
import type { SyntheticFormat } from "./syntheticPlan.ts";

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
  const workers = Array.from({ length: Math.min(workerCount, chunkCount) }, () => new Worker(new URL("./syntheticWorker.ts", import.meta.url)));
  const pending = new Map<number, ChunkResult>();
  let nextToSend = 0;
  let nextToEmit = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const send = (worker: Worker) => {
        if (nextToSend >= chunkCount) return;
        const chunk = nextToSend++;
        const firstAlbum = chunk * ALBUMS_PER_CHUNK;
        worker.postMessage({ type: "albums", chunk, firstAlbum, endAlbum: Math.min(albums, firstAlbum + ALBUMS_PER_CHUNK) } satisfies WorkerRequest);
      };
      let emitting = Promise.resolve();
      for (const worker of workers) {
        worker.onerror = (event) => reject(new Error(`synthetic library worker failed: ${event.message}`));
        worker.onmessage = (event: MessageEvent<WorkerReply>) => {
          const reply = event.data;
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
        worker.postMessage({ type: "init", options } satisfies WorkerRequest);
        send(worker);
        send(worker); // two in flight per worker, so it never waits for the main thread
      }
      if (chunkCount === 0) resolve();
    });
  } finally {
    for (const worker of workers) worker.terminate();
  }
}
