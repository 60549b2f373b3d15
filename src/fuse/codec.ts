/**
 * Pure encoders and decoders for FUSE messages. Decoders read from a DataView over a request; encoders write into
 * a caller-owned buffer (the worker's preallocated reply buffer) and return the number of bytes written, so the hot
 * path allocates nothing but small result objects. Offsets follow the kernel's include/uapi/linux/fuse.h.
 */
import type { Attr, AttrReply, Entry, StatFs } from "./filesystem.ts";
import {
  FUSE_KERNEL_VERSION, FUSE_MINOR_BASE, FUSE_MINOR_PASSTHROUGH, InitFlag, InitFlag2, MAX_PAGES, MAX_WRITE,
  NotifyCode, Size, WANTED_INIT_FLAGS,
} from "./abi.ts";

const TWO_32 = 0x1_0000_0000;
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

// ───────────────────────── primitive helpers ─────────────────────────

/** u64 as a JS number (exact up to 2^53, which covers every inode, offset and size we hand out). */
export function getU64(view: DataView, off: number): number {
  return view.getUint32(off, true) + view.getUint32(off + 4, true) * TWO_32;
}

export function setU64(view: DataView, off: number, value: number): void {
  view.setUint32(off, value >>> 0, true);
  view.setUint32(off + 4, Math.floor(value / TWO_32) >>> 0, true);
}

/** Milliseconds → (seconds, nanoseconds), as the kernel wants times and TTLs. Negative values clamp to 0. */
export function splitMs(ms: number): [sec: number, nsec: number] {
  if (!(ms > 0)) return [0, 0];
  const sec = Math.floor(ms / 1000);
  const nsec = Math.min(999_999_999, Math.round((ms - sec * 1000) * 1e6));
  return [sec, nsec];
}

/** Bytes of a directory record, padded to 8 (pitfall 7.4). */
export function direntSize(nameLength: number, plus: boolean): number {
  return (plus ? Size.DIRENTPLUS_HEADER : Size.DIRENT_HEADER) + ((nameLength + 7) & ~7);
}

// ───────────────────────── requests ─────────────────────────

export interface RequestHeader {
  /** Total request length including this header. */
  len: number;
  opcode: number;
  /** Echoed byte for byte in the reply; bigint because the kernel's counter is a full u64. */
  unique: bigint;
  nodeid: number;
  uid: number;
  gid: number;
  pid: number;
}

export function decodeRequestHeader(view: DataView): RequestHeader {
  return {
    len: view.getUint32(0, true),
    opcode: view.getUint32(4, true),
    unique: view.getBigUint64(8, true),
    nodeid: getU64(view, 16),
    uid: view.getUint32(24, true),
    gid: view.getUint32(28, true),
    pid: view.getUint32(32, true),
  };
}

/** Offset of the opcode-specific body. */
export const BODY = Size.IN_HEADER;

/** A NUL-terminated name (LOOKUP and friends) starting at `off`, ending before `end`. */
export function decodeName(bytes: Uint8Array, off: number, end: number): string {
  let stop = bytes.indexOf(0, off);
  if (stop < 0 || stop > end) stop = end;
  return utf8Decoder.decode(bytes.subarray(off, stop));
}

export interface InitIn {
  major: number;
  minor: number;
  maxReadahead: number;
  flags: number;
  /** Bits 32–63, only meaningful when flags has INIT_EXT. */
  flags2: number;
}

export function decodeInitIn(view: DataView, off = BODY): InitIn {
  const flags = view.getUint32(off + 12, true);
  const hasExt = (flags & InitFlag.INIT_EXT) !== 0 && view.byteLength >= off + 20;
  return {
    major: view.getUint32(off, true),
    minor: view.getUint32(off + 4, true),
    maxReadahead: view.getUint32(off + 8, true),
    flags,
    flags2: hasExt ? view.getUint32(off + 16, true) : 0,
  };
}

export interface ReadIn {
  fh: number;
  offset: number;
  size: number;
  flags: number;
}

/** fuse_read_in, used by READ, READDIR and READDIRPLUS. */
export function decodeReadIn(view: DataView, off = BODY): ReadIn {
  return {
    fh: getU64(view, off),
    offset: getU64(view, off + 8),
    size: view.getUint32(off + 16, true),
    flags: view.getUint32(off + 32, true),
  };
}

/** fuse_open_in.flags (the open(2) flags). */
export function decodeOpenFlags(view: DataView, off = BODY): number {
  return view.getUint32(off, true);
}

/** fuse_release_in.fh */
export function decodeReleaseFh(view: DataView, off = BODY): number {
  return getU64(view, off);
}

/** fuse_access_in.mask */
export function decodeAccessMask(view: DataView, off = BODY): number {
  return view.getUint32(off, true);
}

/** fuse_interrupt_in.unique: the request to cancel. */
export function decodeInterruptUnique(view: DataView, off = BODY): bigint {
  return view.getBigUint64(off, true);
}

/** fuse_forget_in.nlookup */
export function decodeForgetCount(view: DataView, off = BODY): number {
  return getU64(view, off);
}

export interface ForgetItem {
  nodeid: number;
  nlookup: number;
}

/** fuse_batch_forget_in: count u32, dummy u32, then count × fuse_forget_one {nodeid, nlookup}. */
export function decodeBatchForget(view: DataView, off = BODY): ForgetItem[] {
  const count = view.getUint32(off, true);
  const items: ForgetItem[] = [];
  for (let i = 0, p = off + 8; i < count && p + 16 <= view.byteLength; i++, p += 16) {
    items.push({ nodeid: getU64(view, p), nlookup: getU64(view, p + 8) });
  }
  return items;
}

// ───────────────────────── replies ─────────────────────────

export function writeOutHeader(view: DataView, off: number, len: number, error: number, unique: bigint): void {
  view.setUint32(off, len, true);
  view.setInt32(off + 4, error, true);
  view.setBigUint64(off + 8, unique, true);
}

/** A complete error reply: header only, `errno` negative (pitfall 7.2). */
export function encodeErrorReply(unique: bigint, negErrno: number): Uint8Array {
  const out = new Uint8Array(Size.OUT_HEADER);
  writeOutHeader(new DataView(out.buffer), 0, Size.OUT_HEADER, negErrno > 0 ? -negErrno : negErrno, unique);
  return out;
}

/**
 * The header of a success reply carrying `payloadBytes` bytes, for a reply written with writev (header, payload):
 * a large READ answer then needs no buffer of its own and no copy of its bytes.
 */
export function encodeReplyHeader(unique: bigint, payloadBytes: number): Uint8Array {
  const out = new Uint8Array(Size.OUT_HEADER);
  writeOutHeader(new DataView(out.buffer), 0, Size.OUT_HEADER + payloadBytes, 0, unique);
  return out;
}

/** A complete success reply carrying `payload`. */
export function encodeDataReply(unique: bigint, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(Size.OUT_HEADER + payload.byteLength);
  writeOutHeader(new DataView(out.buffer), 0, out.byteLength, 0, unique);
  out.set(payload, Size.OUT_HEADER);
  return out;
}

/** Owner used when an Attr carries none: the server's own uid/gid (right for a user mount). */
export interface AttrDefaults {
  uid: number;
  gid: number;
}

/** struct fuse_attr (88 bytes). */
export function writeAttr(view: DataView, off: number, a: Attr, d: AttrDefaults): void {
  const [mSec, mNsec] = splitMs(a.mtimeMs);
  const [cSec, cNsec] = splitMs(a.ctimeMs ?? a.mtimeMs);
  const [aSec, aNsec] = splitMs(a.atimeMs ?? a.mtimeMs);
  setU64(view, off, a.ino);
  setU64(view, off + 8, a.size);
  setU64(view, off + 16, Math.ceil(a.size / 512));
  setU64(view, off + 24, aSec);
  setU64(view, off + 32, mSec);
  setU64(view, off + 40, cSec);
  view.setUint32(off + 48, aNsec, true);
  view.setUint32(off + 52, mNsec, true);
  view.setUint32(off + 56, cNsec, true);
  view.setUint32(off + 60, a.mode, true);
  view.setUint32(off + 64, a.nlink, true);
  view.setUint32(off + 68, a.uid ?? d.uid, true);
  view.setUint32(off + 72, a.gid ?? d.gid, true);
  view.setUint32(off + 76, 0, true); // rdev
  view.setUint32(off + 80, a.blksize ?? 4096, true);
  view.setUint32(off + 84, 0, true); // flags
}

/** struct fuse_entry_out (128 bytes). An entry with attr.ino 0 is a negative entry (cached for entryTtlMs). */
export function writeEntryOut(view: DataView, off: number, e: Entry, d: AttrDefaults): number {
  const [eSec, eNsec] = splitMs(e.entryTtlMs);
  const [aSec, aNsec] = splitMs(e.attrTtlMs);
  setU64(view, off, e.attr.ino);
  setU64(view, off + 8, e.generation ?? 0);
  setU64(view, off + 16, eSec);
  setU64(view, off + 24, aSec);
  view.setUint32(off + 32, eNsec, true);
  view.setUint32(off + 36, aNsec, true);
  if (e.attr.ino === 0) new Uint8Array(view.buffer, view.byteOffset + off + 40, Size.ATTR).fill(0);
  else writeAttr(view, off + 40, e.attr, d);
  return Size.ENTRY_OUT;
}

/** A zeroed fuse_entry_out: "no attributes for this entry" ('.' and '..' in READDIRPLUS). */
export function writeZeroEntryOut(view: DataView, off: number): number {
  new Uint8Array(view.buffer, view.byteOffset + off, Size.ENTRY_OUT).fill(0);
  return Size.ENTRY_OUT;
}

/** struct fuse_attr_out (104 bytes). */
export function writeAttrOut(view: DataView, off: number, r: AttrReply, d: AttrDefaults): number {
  const [sec, nsec] = splitMs(r.attrTtlMs);
  setU64(view, off, sec);
  view.setUint32(off + 8, nsec, true);
  view.setUint32(off + 12, 0, true);
  writeAttr(view, off + 16, r.attr, d);
  return Size.ATTR_OUT;
}

/** struct fuse_open_out (16 bytes). */
export function writeOpenOut(view: DataView, off: number, fh: number, openFlags: number, backingId = 0): number {
  setU64(view, off, fh);
  view.setUint32(off + 8, openFlags, true);
  view.setInt32(off + 12, backingId, true);
  return Size.OPEN_OUT;
}

/** struct fuse_kstatfs (80 bytes). */
export function writeStatfs(view: DataView, off: number, s: StatFs): number {
  new Uint8Array(view.buffer, view.byteOffset + off, Size.STATFS_OUT).fill(0);
  setU64(view, off, s.blocks);
  setU64(view, off + 8, s.bfree);
  setU64(view, off + 16, s.bavail);
  setU64(view, off + 24, s.files);
  setU64(view, off + 32, s.ffree);
  view.setUint32(off + 40, s.bsize, true);
  view.setUint32(off + 44, s.namelen, true);
  view.setUint32(off + 48, s.frsize, true);
  return Size.STATFS_OUT;
}

/** What `df` shows when the filesystem has no statfs of its own. */
export const DEFAULT_STATFS: StatFs = {
  blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0, bsize: 4096, namelen: 255, frsize: 4096,
};

// ───────────────────────── INIT negotiation ─────────────────────────

export interface InitOut {
  major: number;
  minor: number;
  maxReadahead: number;
  flags: number;
  flags2: number;
  maxBackground: number;
  congestionThreshold: number;
  maxWrite: number;
  timeGran: number;
  maxPages: number;
  maxStackDepth: number;
}

export interface InitNegotiation {
  reply: InitOut;
  /** Both sides agreed on FUSE_PASSTHROUGH. */
  passthrough: boolean;
  /** Both sides agreed on FUSE_DIRECT_IO_ALLOW_MMAP: a FOPEN_DIRECT_IO file can still be mmapped (MAP_SHARED). */
  directIoMmap: boolean;
  /** The kernel would accept "zero-message" open (it advertised NO_OPEN_SUPPORT). */
  zeroMessageOpen: boolean;
  /** The kernel accepts ENOSYS to OPENDIR (NO_OPENDIR_SUPPORT): it then opens directories itself, with
   *  FOPEN_KEEP_CACHE | FOPEN_CACHE_DIR, and sends neither OPENDIR nor RELEASEDIR again. */
  zeroMessageOpendir: boolean;
}

/**
 * Decide the INIT reply from what the kernel offers. Passthrough is requested only when the
 * caller wants it (root) and the kernel offers it; then the minor must be ≥ 41 and max_stack_depth 1.
 */
export function negotiateInit(k: InitIn, wantPassthrough: boolean): InitNegotiation {
  const passthrough =
    wantPassthrough && k.minor >= FUSE_MINOR_PASSTHROUGH && (k.flags & InitFlag.INIT_EXT) !== 0 &&
    (k.flags2 & InitFlag2.PASSTHROUGH) !== 0;
  const directIoMmap = (k.flags & InitFlag.INIT_EXT) !== 0 && (k.flags2 & InitFlag2.DIRECT_IO_ALLOW_MMAP) !== 0;
  let flags = WANTED_INIT_FLAGS & k.flags;
  let flags2 = 0;
  if (passthrough) {
    flags |= InitFlag.INIT_EXT;
    flags2 |= InitFlag2.PASSTHROUGH;
  }
  if (directIoMmap) {
    flags |= InitFlag.INIT_EXT;
    flags2 |= InitFlag2.DIRECT_IO_ALLOW_MMAP;
  }
  return {
    passthrough,
    directIoMmap,
    zeroMessageOpen: (k.flags & InitFlag.NO_OPEN_SUPPORT) !== 0,
    zeroMessageOpendir: (k.flags & InitFlag.NO_OPENDIR_SUPPORT) !== 0,
    reply: {
      major: FUSE_KERNEL_VERSION,
      minor: Math.min(k.minor, passthrough ? FUSE_MINOR_PASSTHROUGH : FUSE_MINOR_BASE),
      maxReadahead: k.maxReadahead,
      flags: flags >>> 0,
      flags2,
      maxBackground: 64,
      congestionThreshold: 48,
      maxWrite: MAX_WRITE,
      timeGran: 1,
      maxPages: MAX_PAGES,
      maxStackDepth: passthrough ? 1 : 0,
    },
  };
}

/** struct fuse_init_out (64 bytes). */
export function writeInitOut(view: DataView, off: number, r: InitOut): number {
  new Uint8Array(view.buffer, view.byteOffset + off, Size.INIT_OUT).fill(0);
  view.setUint32(off, r.major, true);
  view.setUint32(off + 4, r.minor, true);
  view.setUint32(off + 8, r.maxReadahead, true);
  view.setUint32(off + 12, r.flags, true);
  view.setUint16(off + 16, r.maxBackground, true);
  view.setUint16(off + 18, r.congestionThreshold, true);
  view.setUint32(off + 20, r.maxWrite, true);
  view.setUint32(off + 24, r.timeGran, true);
  view.setUint16(off + 28, r.maxPages, true);
  view.setUint16(off + 30, 0, true); // map_alignment
  view.setUint32(off + 32, r.flags2, true);
  view.setUint32(off + 36, r.maxStackDepth, true);
  return Size.INIT_OUT;
}

// ───────────────────────── directories ─────────────────────────

/** One record of a READDIR(PLUS) reply, after the session mapped cookies to kernel offsets. */
export interface DirRecord {
  name: string;
  ino: number;
  /** S_IF* bits of the entry (the dirent `type` is mode >> 12). */
  mode: number;
  /** Kernel offset at which the listing continues after this record. */
  nextOffset: number;
  /** READDIRPLUS only: the entry; undefined writes a zeroed entry_out (kernel then skips the lookup). */
  entry?: Entry;
}

/**
 * Pack records into `out` starting at `off`, never exceeding `maxBytes`. Returns [bytes written, records packed].
 * A record that does not fit ends the reply; the kernel asks again from the last record's nextOffset.
 */
export function packDirectory(
  view: DataView, off: number, maxBytes: number, records: Iterable<DirRecord>, plus: boolean, d: AttrDefaults,
): [bytes: number, count: number] {
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  let used = 0;
  let count = 0;
  for (const r of records) {
    const name = utf8.encode(r.name);
    const size = direntSize(name.length, plus);
    if (used + size > maxBytes) break;
    let p = off + used;
    if (plus) {
      if (r.entry && r.entry.attr.ino !== 0) writeEntryOut(view, p, r.entry, d);
      else writeZeroEntryOut(view, p);
      p += Size.ENTRY_OUT;
    }
    setU64(view, p, r.ino);
    setU64(view, p + 8, r.nextOffset);
    view.setUint32(p + 16, name.length, true);
    view.setUint32(p + 20, (r.mode >>> 12) & 0xf, true);
    bytes.set(name, p + 24);
    bytes.fill(0, p + 24 + name.length, off + used + size);
    used += size;
    count++;
  }
  return [used, count];
}

// ───────────────────────── notifications ─────────────────────────

/** FUSE_NOTIFY_INVAL_INODE: drop cached attributes and the data range [off, off+len) (len -1 = to the end). */
export function encodeNotifyInvalInode(ino: number, off = 0, len = -1): Uint8Array {
  const out = new Uint8Array(Size.OUT_HEADER + Size.NOTIFY_INVAL_INODE);
  const view = new DataView(out.buffer);
  writeOutHeader(view, 0, out.byteLength, NotifyCode.INVAL_INODE, 0n);
  setU64(view, 16, ino);
  view.setBigInt64(24, BigInt(off), true);
  view.setBigInt64(32, BigInt(len), true);
  return out;
}

/** FUSE_NOTIFY_INVAL_ENTRY: forget the cached name `name` under directory `parent` (and the parent's attributes). */
export function encodeNotifyInvalEntry(parent: number, name: string): Uint8Array {
  const nameBytes = utf8.encode(name);
  const out = new Uint8Array(Size.OUT_HEADER + Size.NOTIFY_INVAL_ENTRY + nameBytes.length + 1);
  const view = new DataView(out.buffer);
  writeOutHeader(view, 0, out.byteLength, NotifyCode.INVAL_ENTRY, 0n);
  setU64(view, 16, parent);
  view.setUint32(24, nameBytes.length, true);
  view.setUint32(28, 0, true);
  out.set(nameBytes, 32); // followed by the NUL already present (zeroed buffer)
  return out;
}
