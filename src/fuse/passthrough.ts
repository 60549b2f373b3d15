/**
 * FUSE passthrough (kernel ≥ 6.9, CAP_SYS_ADMIN): at OPEN the backing file is registered with
 * FUSE_DEV_IOC_BACKING_OPEN and READs then never reach us.
 *
 * The kernel's rules (fs/fuse/iomode.c) shape this table:
 * - An inode in passthrough mode holds ONE backing file; an open that names a different backing file for an inode
 *   that still has one fails (EBUSY → the opener sees EIO). So every open of an inode that is already open must
 *   reply with the SAME backing id: ids are shared per inode and reference-counted by the opens using them.
 * - The id must stay registered until the last of those opens is RELEASEd (the kernel looks it up after our reply,
 *   in the opener's context); then we close it, and the next open registers a fresh one.
 * - The kernel spreads requests over both workers (an OPEN on one, its RELEASE on the other), so the table lives in a
 *   SharedArrayBuffer and every change happens under one process-wide lock (a few µs: a lookup and at most one
 *   ioctl), which also orders a last RELEASE against a concurrent OPEN of the same inode.
 */
import { closeSync, openSync } from "node:fs";
import { FUSE_DEV_IOC_BACKING_CLOSE, FUSE_DEV_IOC_BACKING_OPEN, Size } from "./abi.ts";
import { ioctl, SyscallError } from "./ffi.ts";

/** fh values at or above this are passthrough slots (fs file handles must stay below 2^52). */
export const PASSTHROUGH_FH_BASE = 2 ** 52;
/** Opens served by passthrough at the same time; beyond that, opens fall back to normal READs. */
const SLOTS = 1 << 16;
/** Inode entries: twice the slots, so the open-addressing table stays at most half full. */
const INODE_CAPACITY = SLOTS * 2;

// Layout, in this order: Int32 header [disabled, lock]; per slot Int32 used (0/1); per slot f64 fs fh and f64 inode;
// per inode entry f64 inode (0 = empty), Int32 backing id, Int32 references.
const HEADER_INTS = 2;
const DISABLED = 0;
const LOCK = 1;
const SLOT_USED_OFFSET = HEADER_INTS * 4;
const SLOT_FH_OFFSET = align8(SLOT_USED_OFFSET + 4 * SLOTS);
const SLOT_INO_OFFSET = SLOT_FH_OFFSET + 8 * SLOTS;
const ENTRY_INO_OFFSET = SLOT_INO_OFFSET + 8 * SLOTS;
const ENTRY_ID_OFFSET = ENTRY_INO_OFFSET + 8 * INODE_CAPACITY;
const ENTRY_REFS_OFFSET = ENTRY_ID_OFFSET + 4 * INODE_CAPACITY;
const TABLE_BYTES = ENTRY_REFS_OFFSET + 4 * INODE_CAPACITY;

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

export function createPassthroughTable(): SharedArrayBuffer {
  return new SharedArrayBuffer(TABLE_BYTES);
}

/** Where an open's backing file comes from: an fd the caller keeps (preferred) or a path to open. */
export interface BackingSource {
  fd?: number;
  /** The bytes when the name is not UTF-8. */
  path?: string | Buffer;
}

/** The two ioctls on /dev/fuse (replaceable in unit tests, which have no FUSE connection). */
export interface BackingIoctls {
  /** Registers an open fd as a backing file; returns its id. Throws SyscallError when passthrough is unusable. */
  open(fd: number): number;
  close(backingId: number): void;
}

function fuseDeviceIoctls(fuseFd: number): BackingIoctls {
  return {
    open(fd) {
      const map = new Uint8Array(Size.BACKING_MAP);
      new DataView(map.buffer).setInt32(0, fd, true);
      return ioctl(fuseFd, FUSE_DEV_IOC_BACKING_OPEN, map);
    },
    close(backingId) {
      const arg = new Uint8Array(4);
      new DataView(arg.buffer).setUint32(0, backingId, true);
      try {
        ioctl(fuseFd, FUSE_DEV_IOC_BACKING_CLOSE, arg);
      } catch {
        // already gone (connection aborted): nothing to free
      }
    },
  };
}

export class PassthroughTable {
  private readonly header: Int32Array;
  private readonly slotUsed: Int32Array;
  private readonly slotFsFh: Float64Array;
  private readonly slotIno: Float64Array;
  private readonly entryIno: Float64Array;
  private readonly entryId: Int32Array;
  private readonly entryRefs: Int32Array;
  private next = 0;
  private readonly ioctls: BackingIoctls;

  constructor(sab: SharedArrayBuffer, fuseFd: number, ioctls?: BackingIoctls) {
    this.ioctls = ioctls ?? fuseDeviceIoctls(fuseFd);
    this.header = new Int32Array(sab, 0, HEADER_INTS);
    this.slotUsed = new Int32Array(sab, SLOT_USED_OFFSET, SLOTS);
    this.slotFsFh = new Float64Array(sab, SLOT_FH_OFFSET, SLOTS);
    this.slotIno = new Float64Array(sab, SLOT_INO_OFFSET, SLOTS);
    this.entryIno = new Float64Array(sab, ENTRY_INO_OFFSET, INODE_CAPACITY);
    this.entryId = new Int32Array(sab, ENTRY_ID_OFFSET, INODE_CAPACITY);
    this.entryRefs = new Int32Array(sab, ENTRY_REFS_OFFSET, INODE_CAPACITY);
  }

  /** Once one worker saw EPERM/ENOTTY, nobody tries again. */
  get disabled(): boolean {
    return Atomics.load(this.header, DISABLED) !== 0;
  }

  /** Passthrough was not negotiated (or turned out unusable): serve every open with normal READs. */
  disable(): void {
    Atomics.store(this.header, DISABLED, 1);
  }

  /**
   * Serve a new open of inode `ino` by passthrough: reuse the inode's backing id if it has one, else register
   * `backing`. Returns the kernel fh to reply with and the backing id, or undefined when passthrough is unavailable
   * (the caller then serves the open with normal READs). Throws when the backing file cannot be opened.
   */
  open(ino: number, backing: BackingSource, fsFh: number): { fh: number; backingId: number } | undefined {
    if (this.disabled) return undefined;
    this.lock();
    try {
      const slot = this.freeSlot();
      if (slot < 0) return undefined;
      let entry = this.find(ino);
      if (entry < 0) {
        const backingId = this.register(backing);
        if (backingId === undefined) return undefined;
        entry = this.insert(ino, backingId);
      }
      this.entryRefs[entry]!++;
      this.slotUsed[slot] = 1;
      this.slotFsFh[slot] = fsFh;
      this.slotIno[slot] = ino;
      return { fh: PASSTHROUGH_FH_BASE + slot, backingId: this.entryId[entry]! };
    } finally {
      this.unlock();
    }
  }

  /**
   * For RELEASE: if `fh` is a passthrough slot, free it (closing the inode's backing id with its last open) and
   * return the filesystem's own fh; otherwise undefined.
   */
  release(fh: number): number | undefined {
    if (fh < PASSTHROUGH_FH_BASE) return undefined;
    const slot = fh - PASSTHROUGH_FH_BASE;
    if (!Number.isInteger(slot) || slot >= SLOTS) return undefined;
    this.lock();
    try {
      if (this.slotUsed[slot] !== 1) return undefined;
      this.slotUsed[slot] = 0;
      const entry = this.find(this.slotIno[slot]!);
      if (entry >= 0 && --this.entryRefs[entry]! === 0) {
        this.ioctls.close(this.entryId[entry]!);
        this.remove(entry);
      }
      return this.slotFsFh[slot]!;
    } finally {
      this.unlock();
    }
  }

  /** Opens served by passthrough right now, and the backing ids they share (for tests and diagnostics). */
  counts(): { opens: number; backingIds: number } {
    this.lock();
    try {
      let opens = 0;
      let backingIds = 0;
      for (let i = 0; i < SLOTS; i++) opens += this.slotUsed[i]!;
      for (let i = 0; i < INODE_CAPACITY; i++) if (this.entryIno[i] !== 0) backingIds++;
      return { opens, backingIds };
    } finally {
      this.unlock();
    }
  }

  private register(backing: BackingSource): number | undefined {
    let ownFd = -1;
    try {
      let fd = backing.fd;
      if (fd === undefined) {
        if (backing.path === undefined) return undefined;
        fd = ownFd = openSync(backing.path, "r");
      }
      return this.ioctls.open(fd);
    } catch (e) {
      if (!(e instanceof SyscallError)) throw e; // the backing file itself could not be opened: a real error
      this.disable(); // EPERM (not root), ENOTTY/EINVAL (old kernel): nobody tries again
      return undefined;
    } finally {
      if (ownFd >= 0) closeSync(ownFd); // the kernel holds its own reference to the file
    }
  }

  private freeSlot(): number {
    for (let i = 0; i < SLOTS; i++) {
      const slot = (this.next + i) % SLOTS;
      if (this.slotUsed[slot] === 0) {
        this.next = slot + 1;
        return slot;
      }
    }
    return -1;
  }

  // ── the inode → backing id hash table: linear probing, backward-shift deletion (no tombstones) ──

  private home(ino: number): number {
    return Math.imul(ino >>> 0 ^ Math.floor(ino / 2 ** 32), 0x9e3779b1) >>> 0 & (INODE_CAPACITY - 1);
  }

  private find(ino: number): number {
    for (let i = this.home(ino); ; i = (i + 1) & (INODE_CAPACITY - 1)) {
      const k = this.entryIno[i]!;
      if (k === ino) return i;
      if (k === 0) return -1;
    }
  }

  private insert(ino: number, backingId: number): number {
    let i = this.home(ino);
    while (this.entryIno[i] !== 0) i = (i + 1) & (INODE_CAPACITY - 1);
    this.entryIno[i] = ino;
    this.entryId[i] = backingId;
    this.entryRefs[i] = 0;
    return i;
  }

  private remove(hole: number): void {
    const mask = INODE_CAPACITY - 1;
    this.entryIno[hole] = 0;
    for (let i = (hole + 1) & mask; this.entryIno[i] !== 0; i = (i + 1) & mask) {
      const home = this.home(this.entryIno[i]!);
      // Move entry i into the hole unless its home lies cyclically in (hole, i].
      const stays = hole <= i ? hole < home && home <= i : hole < home || home <= i;
      if (stays) continue;
      this.entryIno[hole] = this.entryIno[i]!;
      this.entryId[hole] = this.entryId[i]!;
      this.entryRefs[hole] = this.entryRefs[i]!;
      this.entryIno[i] = 0;
      hole = i;
    }
  }

  private lock(): void {
    while (Atomics.compareExchange(this.header, LOCK, 0, 1) !== 0) Atomics.wait(this.header, LOCK, 1, 1);
  }

  private unlock(): void {
    Atomics.store(this.header, LOCK, 0);
    Atomics.notify(this.header, LOCK, 1);
  }
}
