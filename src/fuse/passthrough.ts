/**
 * FUSE passthrough (kernel ≥ 6.9, CAP_SYS_ADMIN): at OPEN the backing file is registered with
 * FUSE_DEV_IOC_BACKING_OPEN and READs then never reach us. The backing id must stay registered until RELEASE
 * (the kernel looks it up after our reply, in the opener's context), and RELEASE may arrive at another worker, so
 * the id lives in a table shared by all workers (a SharedArrayBuffer), addressed through the fh we hand out.
 */
import { closeSync, openSync } from "node:fs";
import { FUSE_DEV_IOC_BACKING_CLOSE, FUSE_DEV_IOC_BACKING_OPEN, Size } from "./abi.ts";
import { ioctl, SyscallError } from "./ffi.ts";

/** fh values at or above this are passthrough slots (fs file handles must stay below 2^52). */
export const PASSTHROUGH_FH_BASE = 2 ** 52;
const SLOTS = 1 << 16;
const FH_OFFSET = Math.ceil((4 * (SLOTS + 1)) / 8) * 8;

/** Layout: Int32 [0] = disabled flag, then per slot: Int32 state/backing id (0 free, -1 claiming, >0 id); f64 fs fh. */
export function createPassthroughTable(): SharedArrayBuffer {
  return new SharedArrayBuffer(FH_OFFSET + 8 * SLOTS);
}

export class PassthroughTable {
  private readonly ids: Int32Array;
  private readonly fsFh: Float64Array;
  private next = 0;

  constructor(
    sab: SharedArrayBuffer,
    private readonly fuseFd: number,
  ) {
    this.ids = new Int32Array(sab, 0, SLOTS + 1);
    this.fsFh = new Float64Array(sab, FH_OFFSET, SLOTS);
  }

  /** Once one worker saw EPERM/ENOTTY, nobody tries again. */
  get disabled(): boolean {
    return Atomics.load(this.ids, 0) !== 0;
  }

  /** Passthrough was not negotiated (or turned out unusable): serve every open with normal READs. */
  disable(): void {
    Atomics.store(this.ids, 0, 1);
  }

  /**
   * Register `path` as the backing file of a new open. Returns the kernel fh to reply with and the backing id, or
   * undefined when passthrough is unavailable (the caller then serves the open with normal READs).
   */
  open(path: string, fsFh: number): { fh: number; backingId: number } | undefined {
    if (this.disabled) return undefined;
    const slot = this.claimSlot();
    if (slot < 0) return undefined;
    let fd = -1;
    try {
      fd = openSync(path, "r");
      const map = new Uint8Array(Size.BACKING_MAP);
      new DataView(map.buffer).setInt32(0, fd, true);
      const backingId = ioctl(this.fuseFd, FUSE_DEV_IOC_BACKING_OPEN, map);
      this.fsFh[slot] = fsFh;
      Atomics.store(this.ids, slot + 1, backingId);
      return { fh: PASSTHROUGH_FH_BASE + slot, backingId };
    } catch (e) {
      Atomics.store(this.ids, slot + 1, 0);
      if (e instanceof SyscallError) Atomics.store(this.ids, 0, 1); // EPERM (not root), ENOTTY/EINVAL (old kernel)
      else throw e; // the backing file itself could not be opened: a real error for this open
      return undefined;
    } finally {
      if (fd >= 0) closeSync(fd); // the kernel holds its own reference to the file
    }
  }

  /** For RELEASE: if `fh` is a passthrough slot, drop its backing id and return the filesystem's own fh. */
  release(fh: number): number | undefined {
    if (fh < PASSTHROUGH_FH_BASE) return undefined;
    const slot = fh - PASSTHROUGH_FH_BASE;
    const id = Atomics.load(this.ids, slot + 1);
    const fsFh = this.fsFh[slot]!;
    if (id > 0) {
      const arg = new Uint8Array(4);
      new DataView(arg.buffer).setUint32(0, id, true);
      try {
        ioctl(this.fuseFd, FUSE_DEV_IOC_BACKING_CLOSE, arg);
      } catch {
        // already gone (connection aborted): nothing to free
      }
    }
    Atomics.store(this.ids, slot + 1, 0);
    return fsFh;
  }

  private claimSlot(): number {
    for (let i = 0; i < SLOTS; i++) {
      const slot = (this.next + i) % SLOTS;
      if (Atomics.compareExchange(this.ids, slot + 1, 0, -1) === 0) {
        this.next = slot + 1;
        return slot;
      }
    }
    return -1;
  }
}
