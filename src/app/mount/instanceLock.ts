import { closeSync, ftruncateSync, openSync, readFileSync, writeSync } from "node:fs";
import { UserError } from "../../core/errors.ts";
import { libc } from "../../core/libc.ts";
import { tildify } from "../../core/logger.ts";

const LOCK_EX = 2;
const LOCK_NB = 4;

function flock(fd: number, op: number): number {
  return libc().flock(fd, op);
}

/**
 * One daemon per cache dir: an exclusive flock on `musicfs.lock`, which holds the owner's PID. The kernel drops the
 * lock when the process dies (kill -9 included), so a stale file never blocks the next start.
 */
export class InstanceLock {
  private constructor(
    private fd: number,
    readonly path: string,
  ) {}

  static acquire(path: string, what = "this cache dir"): InstanceLock {
    const fd = openSync(path, "a+");
    if (flock(fd, LOCK_EX | LOCK_NB) !== 0) {
      closeSync(fd);
      const pid = InstanceLock.holderPid(path);
      throw new UserError(
        `Another musicfs${pid ? ` (PID ${pid})` : ""} is already using ${what} (${tildify(path)}).`,
        "Stop it first (musicfs unmount MOUNTPOINT, or kill that PID), or use another --cache-dir.",
      );
    }
    try {
      ftruncateSync(fd, 0);
      writeSync(fd, `${process.pid}\n`, 0);
    } catch {
      // A full disk: the PID is only for messages; the flock is what guards the cache dir (and `cache clear` must
      // still run to free space).
    }
    return new InstanceLock(fd, path);
  }

  /** The PID written in a lock file, if any. */
  static holderPid(path: string): number | null {
    try {
      const pid = Number.parseInt(readFileSync(path, "utf8").trim(), 10);
      return Number.isFinite(pid) && pid > 0 ? pid : null;
    } catch {
      return null;
    }
  }

  /** True when a live process holds the lock (probe: try to take it, and give it back at once). */
  static isHeld(path: string): boolean {
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch {
      return false;
    }
    try {
      if (flock(fd, LOCK_EX | LOCK_NB) !== 0) return true;
      return false;
    } finally {
      closeSync(fd); // closing drops our probe lock
    }
  }

  release(): void {
    if (this.fd < 0) return;
    try {
      ftruncateSync(this.fd, 0);
    } catch {
      /* best effort: the lock itself is what matters */
    }
    closeSync(this.fd);
    this.fd = -1;
  }
}
