/**
 * Session worker entry for test/fuse/mount.test.ts: the memfs, but worker 1 sets itself up only once the test lets
 * it (Int32 [0] of `startGate` set to 1), and then marks [1] — a worker slow to start, held as long as the test needs.
 */
import { workerData } from "node:worker_threads";
import { serveSessionWorker } from "../../src/fuse/sessionWorker.ts";
import { createMemFs } from "./memfs.ts";

serveSessionWorker((raw) => {
  const gate = new Int32Array((raw as { startGate: SharedArrayBuffer }).startGate);
  if ((workerData as { workerIndex: number }).workerIndex === 1) {
    while (Atomics.load(gate, 0) === 0) Atomics.wait(gate, 0, 0);
    Atomics.store(gate, 1, 1);
  }
  return createMemFs(raw);
});
