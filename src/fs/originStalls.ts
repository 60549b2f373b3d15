/**
 * Which local origins are stalled right now, as the FUSE workers see it. A worker's call on an origin file (open,
 * pread) is synchronous: on a NAS share that hangs (a hard NFS mount whose server went away) it blocks that worker
 * until the share answers, and with both workers blocked the whole mount stops answering — cached files, listings,
 * everything. So each worker notes when its current origin call began; a call running longer than `STALL_MS` marks
 * its origin stalled, and while it is, the files of a cached origin (cache = "full") are served the way a NAS that
 * is offline is: from the cache, the rest through the main thread's fetcher, whose origin calls are asynchronous and
 * time-bounded (EIO after read_timeout_ms). At most the workers already inside a call on the share stay blocked.
 *
 * Shared by all workers (one SharedArrayBuffer): one slot per worker and origin holding the start of its current
 * call (Date.now(), 0 when none). Workers beyond the slots are not tracked (their calls never mark a stall).
 */

/** An origin call longer than this is a stall: a pread of 1 MiB from a page cache or a LAN share takes a few ms. */
export const STALL_MS = 500;
const WORKER_SLOTS = 8;

/** The shared table for `origins` origins (the session's, in config order). */
export function createOriginStalls(origins: number): SharedArrayBuffer {
  // Element 0 hands out worker slots; then WORKER_SLOTS rows of one start time per origin.
  return new SharedArrayBuffer(8 * (1 + WORKER_SLOTS * Math.max(1, origins)));
}

export class OriginStalls {
  private readonly starts: BigInt64Array;
  private readonly origins: number;
  /** This worker's row, or -1 when every row was taken. */
  private readonly row: number;

  constructor(shared: SharedArrayBuffer, private readonly now: () => number = Date.now) {
    this.starts = new BigInt64Array(shared);
    this.origins = (this.starts.length - 1) / WORKER_SLOTS;
    const row = Number(Atomics.add(this.starts, 0, 1n));
    this.row = row < WORKER_SLOTS ? row : -1;
  }

  /** Runs `call` (a synchronous call on origin number `origin`) noted as this worker's current one. */
  during<T>(origin: number, call: () => T): T {
    const slot = this.slot(this.row, origin);
    if (slot < 0) return call();
    Atomics.store(this.starts, slot, BigInt(this.now()));
    try {
      return call();
    } finally {
      Atomics.store(this.starts, slot, 0n);
    }
  }

  /** True while some worker's call on the origin has been running for longer than STALL_MS. */
  stalled(origin: number): boolean {
    const now = this.now();
    for (let row = 0; row < WORKER_SLOTS; row++) {
      const slot = this.slot(row, origin);
      if (slot < 0) return false;
      const start = Number(Atomics.load(this.starts, slot));
      if (start !== 0 && now - start > STALL_MS) return true;
    }
    return false;
  }

  private slot(row: number, origin: number): number {
    if (row < 0 || origin < 0 || origin >= this.origins) return -1;
    return 1 + row * this.origins + origin;
  }
}
