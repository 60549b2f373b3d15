/**
 * One way of starting a worker thread and knowing it is ready, for every kind of worker (scan workers, FUSE session
 * workers). The worker posts `{ type: "ready" }` once its module has loaded and set itself up; an error before
 * that means it cannot start at all (its module is missing from the compiled binary, an import threw) and is
 * reported as such, not as a crash of work in progress. Messages are typed both ways.
 */
import { isMainThread, parentPort, Worker } from "node:worker_threads";

/** Posted once by a worker when it is set up. */
export interface WorkerReady {
  type: "ready";
}

export interface WorkerEvents<FromWorker> {
  /** The worker announced itself. */
  onReady?(): void;
  /** Every message but "ready", in order. */
  onMessage(message: FromWorker): void;
  /** The worker failed before it was ready. */
  onFailedToStart(error: Error): void;
  /** The worker failed after it was ready. */
  onCrash(error: Error): void;
  /** The thread ended (after terminate(), a failure, or the end of its work). */
  onExit?(code: number): void;
}

/** A started worker: `post` sends typed messages, `ready` says whether it announced itself. */
export class WorkerThread<ToWorker, FromWorker> {
  private readonly worker: Worker;
  private isReady = false;
  private detached = false;

  constructor(entry: string | URL, events: WorkerEvents<FromWorker>, workerData?: unknown) {
    // node:worker_threads wants a URL object (not a "file:" string) or a plain path.
    const specifier = typeof entry === "string" && entry.startsWith("file:") ? new URL(entry) : entry;
    this.worker = new Worker(specifier, { workerData });
    this.worker.on("message", (m: FromWorker | WorkerReady) => {
      if (this.detached) return;
      if ((m as WorkerReady)?.type === "ready" && !this.isReady) {
        this.isReady = true;
        events.onReady?.();
      } else events.onMessage(m as FromWorker);
    });
    this.worker.on("error", (e: Error) => {
      if (this.detached) return;
      (this.isReady ? events.onCrash : events.onFailedToStart)(e);
    });
    this.worker.on("exit", (code: number) => {
      if (!this.detached) events.onExit?.(code);
    });
  }

  get ready(): boolean {
    return this.isReady;
  }

  post(message: ToWorker): void {
    this.worker.postMessage(message);
  }

  /** The thread alone does not keep the process alive (for helpers that idle between jobs). */
  unref(): void {
    this.worker.unref();
  }

  /** It does again (while work is awaited from it). */
  ref(): void {
    this.worker.ref();
  }

  /** Stop the thread; with `detach`, nothing it still sends or raises reaches the events. */
  terminate({ detach = false } = {}): Promise<number> {
    if (detach) this.detached = true;
    return this.worker.terminate();
  }
}

/** Inside a worker: the port to the thread that started it (null on the main thread or outside worker_threads). */
export function parentChannel<FromWorker>(): { post(message: FromWorker | WorkerReady): void; onMessage(handler: (m: unknown) => void): void } | null {
  if (isMainThread || !parentPort) return null;
  const port = parentPort;
  return { post: (m) => port.postMessage(m), onMessage: (handler) => port.on("message", handler) };
}

/** Inside a worker: tell the starting thread this worker is set up. */
export function announceReady(channel: { post(message: WorkerReady): void }): void {
  channel.post({ type: "ready" });
}
