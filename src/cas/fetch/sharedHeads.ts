/**
 * One HEAD per file at a time: the HEAD a remote file gets at OPEN (app/cache/remoteChangeWatch.ts: was it
 * replaced on the store?) and the version check of its first read (originReads.ts `checkVersion`) are asked within a
 * millisecond of each other. Two HEADs beside the first GET cost that GET a third of its time on a loopback store
 * (bench/s3/firstByte.ts), so the second asker takes the first one's answer — while it is in flight, or for
 * `freshMs` after it came (the same "a few seconds old" the open check allows itself). A failed HEAD is not kept:
 * the next asker tries again.
 */
import { Lru } from "../../core/lru.ts";
import type { Origin } from "../../origins/origin.ts";
import { msFromEnv } from "../../core/testKnobs.ts";

export type OriginStat = Awaited<ReturnType<Origin["stat"]>>;

/** What a HEAD is shared by: the file of its origin. */
export interface HeadTarget {
  origin: Pick<Origin, "id">;
  realPath: string;
}

const KEPT = 1024;

/**
 * How long a file's version, once checked by a HEAD, is taken as current: 5 s ("a listing older than a few
 * seconds"), by the open check (app/cache/remoteChangeWatch.ts) and by the HEADs shared here. The environment
 * variable MUSICFS_REMOTE_CHECK_INTERVAL_MS shortens it so that a test of an object replaced on the store waits for
 * the next check instead of sitting through 5 s of it (as MUSICFS_STATUS_INTERVAL_MS does for status.json). Not a
 * user setting.
 */
export function remoteCheckIntervalMs(): number {
  return msFromEnv("MUSICFS_REMOTE_CHECK_INTERVAL_MS") ?? 5_000;
}

export class SharedHeads {
  private readonly recent = new Lru<string, { at: number; stat: Promise<OriginStat> }>(KEPT);

  constructor(
    readonly freshMs = remoteCheckIntervalMs(),
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * The file's HEAD: one in flight or answered less than `freshMs` ago, else the one `start` makes (each asker
   * says how: the open check in the background without a deadline, a read with its own).
   */
  stat(file: HeadTarget, start: () => Promise<OriginStat>): Promise<OriginStat> {
    const known = this.recent.get(keyOf(file));
    if (known && (known.at < 0 || this.now() - known.at < this.freshMs)) return known.stat;
    return this.renew(file, start);
  }

  /** A new HEAD of the file, shared from now on (an answer that disagreed with a newer record is replaced). */
  renew(file: HeadTarget, start: () => Promise<OriginStat>): Promise<OriginStat> {
    const key = keyOf(file);
    // at = -1 while in flight (always shared), then the time of the answer (shared while fresh).
    const entry = { at: -1, stat: start() };
    this.recent.set(key, entry);
    entry.stat.then(
      () => (entry.at = this.now()),
      () => {
        if (this.recent.peek(key) === entry) this.recent.delete(key);
      },
    );
    return entry.stat;
  }
}

function keyOf(file: HeadTarget): string {
  return `${file.origin.id}\0${file.realPath}`;
}
