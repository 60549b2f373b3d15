/**
 * Background work gives way to the mount's foreground traffic. A later mount starts a delta sync at once; a
 * whole-tree walk made right then (a player's library scan, `find`, `rsync`) competed with it for the two cores and
 * the disk and took almost twice as long (docs/benchmarks.md, "Whole-tree walks"). The sync now awaits a pacer
 * before each folder: while FUSE requests keep arriving it waits for a quiet moment, but never longer than
 * `maxWaitMs` per step, so it still finishes under steady use.
 */
export interface PacerOptions {
  /** Requests the mount has answered so far (any count that only grows). */
  requests: () => number;
  /** The mount counts as busy for this long after a new request was seen (default 100 ms). */
  quietMs?: number;
  /** The longest one step waits for quiet (default 500 ms). */
  maxWaitMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<unknown>;
}

/** A function to await before each step of background work. */
export type Pacer = () => Promise<void>;

export function foregroundPacer(opts: PacerOptions): Pacer {
  const quietMs = opts.quietMs ?? 100;
  const maxWaitMs = opts.maxWaitMs ?? 500;
  const now = opts.now ?? (() => performance.now());
  const sleep = opts.sleep ?? ((ms: number) => Bun.sleep(ms));
  let seen = opts.requests();
  // The mount counts as busy from the pacer's start: it is made as the mount becomes ready, when a user's first
  // requests come (a far seek right after mounting waited behind the start-up sync's listings: bench/s3/firstByte.ts).
  let lastActivity = now();
  const observe = () => {
    const n = opts.requests();
    if (n !== seen) {
      seen = n;
      lastActivity = now();
    }
  };
  return async () => {
    observe();
    const start = now();
    while (now() - lastActivity < quietMs && now() - start < maxWaitMs) {
      await sleep(Math.max(1, Math.min(quietMs - (now() - lastActivity), maxWaitMs - (now() - start))));
      observe();
    }
  };
}
