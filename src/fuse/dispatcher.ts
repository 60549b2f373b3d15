/**
 * One request in, at most one reply out. The dispatcher decodes a request, calls the filesystem synchronously and
 * encodes the reply into its own reply buffer; it does no I/O on /dev/fuse itself, so it runs the same in a session
 * worker and in a unit test.
 *
 * Reply buffer layout: the 16-byte fuse_out_header sits just before `dataOffset`, which the worker places on a page
 * boundary, so a READ's payload is page-aligned (measured: copies 3× faster).
 */
import { log } from "../core/logger.ts";
import {
  InitFlag, MAX_PAGES, O_ACCMODE, O_RDONLY, Opcode, OpenFlag, opcodeName, PAGE_SIZE, Size, W_OK,
  WRITE_OPCODES,
} from "./abi.ts";
import {
  type AttrDefaults, BODY, DEFAULT_STATFS, type DirRecord, decodeAccessMask, decodeBatchForget, decodeForgetCount,
  decodeInitIn, decodeInterruptUnique, decodeName, decodeOpenFlags, decodeReadIn, decodeReleaseFh,
  decodeRequestHeader, direntSize, negotiateInit, packDirectory, writeAttrOut, writeEntryOut, writeInitOut,
  writeOpenOut, writeOutHeader, writeStatfs,
} from "./codec.ts";
import { Errno, type FuseFilesystem, type OpenReply, type RequestContext, S_IFDIR } from "./filesystem.ts";
import type { DeferredRequestData, WorkerMessage } from "./messages.ts";
import type { PassthroughTable } from "./passthrough.ts";
import { createSessionShared, SessionShared, wallClockMs } from "./sessionShared.ts";

/** Bytes a reply buffer needs: header + MAX_PAGES pages + one page of slack to align the payload. */
export const REPLY_BUFFER_SIZE = Size.OUT_HEADER + MAX_PAGES * PAGE_SIZE + PAGE_SIZE;
const MAX_READ = MAX_PAGES * PAGE_SIZE;

export interface DispatcherOptions {
  fs: FuseFilesystem;
  /** Messages for the main thread (deferrals, interrupts, INIT, ctx.post). */
  post: (message: WorkerMessage) => void;
  workerIndex?: number;
  wantPassthrough?: boolean;
  /** A read-only mount: modifying requests get EROFS (default true; false answers them ENOSYS). */
  readOnly?: boolean;
  passthrough?: PassthroughTable;
  /** Shared with the session's other workers (default: this dispatcher's own, as if it were the only worker). */
  shared?: SessionShared;
  /** Owner reported for attributes without uid/gid. */
  owner?: AttrDefaults;
  /** Where READ payloads start in `replyBuffer` (page-aligned in the worker). */
  dataOffset?: number;
  replyBuffer?: Uint8Array;
}

/** The "." and ".." records take kernel offsets 1 and 2; a filesystem cookie c is kernel offset c + 2. */
const DOTS = 2;

export class RequestDispatcher {
  readonly reply: Uint8Array;
  readonly dataOffset: number;
  /** Replies start here: the out header sits right before the (page-aligned) payload. */
  readonly replyOffset: number;
  private readonly view: DataView;
  private readonly fs: FuseFilesystem;
  private readonly post: (m: WorkerMessage) => void;
  private readonly owner: AttrDefaults;
  private readonly shared: SessionShared;
  private readonly ctx: RequestContext & { uid: number; gid: number; pid: number };
  /** Work due once the current reply has been written (see init). */
  private afterReply: (() => void) | undefined;
  /** The request whose reply is being written: its answer time is recorded once it is (replyWritten). */
  private answering: { opcode: number; receivedAtMs: number } | undefined;
  /** Of the request being handled: when it was read, and whether it was handed to the main thread. */
  private receivedAtMs = 0;
  private deferred = false;

  constructor(private readonly opts: DispatcherOptions) {
    this.fs = opts.fs;
    this.post = opts.post;
    this.dataOffset = opts.dataOffset ?? Size.OUT_HEADER;
    this.reply = opts.replyBuffer ?? new Uint8Array(this.dataOffset + MAX_READ);
    if (this.dataOffset < Size.OUT_HEADER || this.reply.byteLength < this.dataOffset + MAX_READ) {
      throw new Error("reply buffer too small for a max_pages READ");
    }
    this.replyOffset = this.dataOffset - Size.OUT_HEADER;
    this.view = new DataView(this.reply.buffer, this.reply.byteOffset, this.reply.byteLength);
    this.owner = opts.owner ?? { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
    this.shared = opts.shared ?? new SessionShared(createSessionShared());
    const post = this.post;
    // One context object reused for every request: filesystems must not keep it.
    this.ctx = { uid: 0, gid: 0, pid: 0, post: (message: unknown) => post({ type: "post", message }) };
  }

  /**
   * Handle the request in `request[0, length)`. Returns the length of the reply to write from `replyOffset`, or 0
   * when no reply is due (FORGET, INTERRUPT, a deferred request). `receivedAtMs` (wallClockMs) is when the request
   * was read from /dev/fuse: its answer time counts from there to replyWritten(), or, for a request handed to the
   * main thread, to the main thread's reply (session.ts).
   */
  handle(request: Uint8Array, length: number, receivedAtMs = wallClockMs()): number {
    const req = new DataView(request.buffer, request.byteOffset, length);
    const h = decodeRequestHeader(req);
    this.shared.countRequest(h.opcode);
    this.ctx.uid = h.uid;
    this.ctx.gid = h.gid;
    this.ctx.pid = h.pid;
    let result: number;
    this.receivedAtMs = receivedAtMs;
    this.deferred = false;
    try {
      result = this.dispatch(h.opcode, h.nodeid, h.unique, req, request, length);
    } catch (e) {
      log.error(`fuse: ${opcodeName(h.opcode)} on inode ${h.nodeid} threw; answering EIO:`, e);
      result = -Errno.EIO;
    }
    if (result === NO_REPLY) {
      // A deferred request is timed by the main thread when it answers; FORGET and INTERRUPT end here.
      if (!this.deferred) this.shared.recordLatency(h.opcode, (wallClockMs() - receivedAtMs) / 1000);
      return 0;
    }
    this.answering = { opcode: h.opcode, receivedAtMs };
    if (result < 0) {
      writeOutHeader(this.view, this.replyOffset, Size.OUT_HEADER, result, h.unique);
      return Size.OUT_HEADER;
    }
    const len = Size.OUT_HEADER + result;
    writeOutHeader(this.view, this.replyOffset, len, 0, h.unique);
    return len;
  }

  /** Run what must wait until the last reply was written; the worker calls it after each write. */
  replyWritten(): void {
    const a = this.answering;
    if (a) {
      this.answering = undefined;
      this.shared.recordLatency(a.opcode, (wallClockMs() - a.receivedAtMs) / 1000);
    }
    const f = this.afterReply;
    if (f) {
      this.afterReply = undefined;
      f();
    }
  }

  /** Hands the request to the main thread, which answers (and times) it. */
  private defer(request: Omit<DeferredRequestData, "receivedAtMs">): number {
    this.deferred = true;
    this.post({ type: "defer", request: { ...request, receivedAtMs: this.receivedAtMs } });
    return NO_REPLY;
  }

  /** Returns the payload length written at dataOffset, a negative errno, or NO_REPLY. */
  private dispatch(op: number, ino: number, unique: bigint, req: DataView, bytes: Uint8Array, length: number): number {
    const fs = this.fs;
    const out = this.dataOffset;
    switch (op) {
      case Opcode.LOOKUP: {
        const r = fs.lookup(ino, decodeName(bytes, BODY, length), this.ctx);
        if (typeof r === "number") return r;
        if (r.attr.ino === 0 && !(r.entryTtlMs > 0)) return -Errno.ENOENT;
        return writeEntryOut(this.view, out, r, this.owner);
      }
      case Opcode.GETATTR: {
        const r = fs.getattr(ino, this.ctx);
        return typeof r === "number" ? r : writeAttrOut(this.view, out, r, this.owner);
      }
      case Opcode.READLINK: {
        if (!fs.readlink) return -Errno.ENOSYS;
        const r = fs.readlink(ino, this.ctx);
        if (typeof r === "number") return r;
        return utf8.encodeInto(r, this.reply.subarray(out, out + PAGE_SIZE)).written;
      }
      case Opcode.OPEN:
        return this.open(ino, unique, decodeOpenFlags(req));
      case Opcode.READ: {
        const r = decodeReadIn(req);
        const size = Math.min(r.size, MAX_READ);
        const n = fs.read(ino, r.fh, r.offset, size, this.reply.subarray(out, out + size), this.ctx);
        if (typeof n === "number") return n < 0 ? n : Math.min(n, size);
        return this.defer({ unique, opcode: op, nodeid: ino, offset: r.offset, size, fh: r.fh, payload: n.defer });
      }
      case Opcode.RELEASE: {
        const fh = decodeReleaseFh(req);
        const fsFh = this.opts.passthrough?.release(fh) ?? fh;
        fs.release?.(ino, fsFh, this.ctx);
        return 0;
      }
      case Opcode.OPENDIR:
        // Zero-message opendir: after one ENOSYS the kernel opens directories itself, with KEEP_CACHE | CACHE_DIR,
        // and never sends OPENDIR or RELEASEDIR again — a whole-tree walk saves two round trips per directory.
        if (this.shared.kernelOffers(InitFlag.NO_OPENDIR_SUPPORT)) return -Errno.ENOSYS;
        // Older kernels: the same caching, asked for explicitly. Either way the kernel keeps the listing in the
        // page cache across opens; changes are announced with notify-invalidate (notify.ts).
        return writeOpenOut(this.view, out, 0, OpenFlag.CACHE_DIR | OpenFlag.KEEP_CACHE);
      case Opcode.READDIR:
      case Opcode.READDIRPLUS:
        return this.readdir(ino, decodeReadIn(req), op === Opcode.READDIRPLUS);
      case Opcode.RELEASEDIR:
        return 0;
      case Opcode.STATFS: {
        const r = fs.statfs ? fs.statfs(ino, this.ctx) : DEFAULT_STATFS;
        return typeof r === "number" ? r : writeStatfs(this.view, out, r);
      }
      case Opcode.ACCESS:
        return decodeAccessMask(req) & W_OK ? this.refuseWrite() : 0;
      case Opcode.FORGET:
        fs.forget?.(ino, decodeForgetCount(req));
        return NO_REPLY;
      case Opcode.BATCH_FORGET:
        if (fs.forget) for (const f of decodeBatchForget(req)) fs.forget(f.nodeid, f.nlookup);
        return NO_REPLY;
      case Opcode.INTERRUPT:
        // Only deferred requests can still be pending; the main thread owns them.
        this.post({ type: "interrupt", unique: decodeInterruptUnique(req) });
        return NO_REPLY;
      case Opcode.INIT:
        return this.init(req);
      case Opcode.DESTROY:
        return 0;
      default:
        if (WRITE_OPCODES.has(op)) return this.refuseWrite();
        return -Errno.ENOSYS;
    }
  }

  /** What a modifying request gets: EROFS on a read-only mount; otherwise ENOSYS, as nothing here can write. */
  private refuseWrite(): number {
    return this.opts.readOnly === false ? -Errno.ENOSYS : -Errno.EROFS;
  }

  private init(req: DataView): number {
    const k = decodeInitIn(req);
    if (k.major !== 7) {
      log.error(`fuse: kernel speaks protocol ${k.major}.${k.minor}; only 7.x is supported`);
      return -EPROTO;
    }
    const n = negotiateInit(k, this.opts.wantPassthrough === true);
    this.shared.recordKernelFlags(k.flags, n.directIoMmap);
    if (!n.passthrough) this.opts.passthrough?.disable();
    const len = writeInitOut(this.view, this.dataOffset, n.reply);
    this.fs.init?.({ passthroughAvailable: n.passthrough });
    // Tell the main thread only once the kernel has the reply: it then tunes the mount (readahead), which the
    // kernel's processing of INIT would otherwise overwrite.
    this.afterReply = () =>
      this.post({
        type: "init",
        worker: this.opts.workerIndex ?? 0,
        init: {
          major: n.reply.major, minor: n.reply.minor, kernelMinor: k.minor, flags: n.reply.flags, passthrough: n.passthrough,
          zeroMessageOpendir: n.zeroMessageOpendir,
        },
      });
    return len;
  }

  private open(ino: number, unique: bigint, flags: number): number {
    // The mount is read-only; refuse write access before the filesystem sees it (pitfall 7.8).
    if ((flags & O_ACCMODE) !== O_RDONLY) return this.refuseWrite();
    if (!this.fs.open) return -Errno.ENOSYS; // zero-message open: the kernel stops sending OPEN/FLUSH/RELEASE
    const r = this.fs.open(ino, flags, this.ctx);
    if (r === "zero-message") return -Errno.ENOSYS;
    if (typeof r === "number") return r;
    if ("defer" in r) {
      return this.defer({ unique, opcode: Opcode.OPEN, nodeid: ino, offset: 0, size: 0, fh: 0, payload: r.defer });
    }
    // Direct I/O only where mmap keeps working with it (FUSE_DIRECT_IO_ALLOW_MMAP); otherwise the page cache.
    const reply = r.directIoIfMmap && this.shared.directIoMmap() ? { ...r, directIo: true } : r;
    const out = openOut(ino, reply, this.opts.passthrough);
    return writeOpenOut(this.view, this.dataOffset, out.fh, out.openFlags, out.backingId);
  }

  private readdir(ino: number, r: { offset: number; size: number }, plus: boolean): number {
    const maxBytes = Math.min(r.size, MAX_READ);
    const records: DirRecord[] = [];
    if (r.offset < 1) records.push({ name: ".", ino, mode: S_IFDIR, nextOffset: 1 });
    if (r.offset < 2) records.push({ name: "..", ino: 1, mode: S_IFDIR, nextOffset: 2 });
    const room = Math.max(1, Math.floor(maxBytes / direntSize(1, plus)) - records.length);
    const children = this.fs.readdir(ino, Math.max(0, r.offset - DOTS), room, this.ctx);
    if (typeof children === "number") return children;
    for (const c of children) {
      records.push({ name: c.name, ino: c.entry.attr.ino, mode: c.entry.attr.mode, nextOffset: c.cookie + DOTS, entry: c.entry });
    }
    // '.' and '..' get a zeroed entry_out in READDIRPLUS (pitfall 7.4): no lookup is counted for them.
    return packDirectory(this.view, this.dataOffset, maxBytes, records, plus, this.owner)[0];
  }
}

/**
 * The fuse_open_out fields for a filesystem's answer to OPEN: by passthrough when it asks for it and the kernel
 * allows it (the inode's shared backing id), else normal READs. Used by workers and by deferred opens.
 */
export function openOut(ino: number, r: OpenReply, passthrough: PassthroughTable | undefined): { fh: number; openFlags: number; backingId: number } {
  if ((r.passthroughFd !== undefined || r.passthroughPath !== undefined) && passthrough) {
    const p = passthrough.open(ino, { fd: r.passthroughFd, path: r.passthroughPath }, r.fh);
    // Only DIRECT_IO may accompany PASSTHROUGH; KEEP_CACHE would make the open fail with EINVAL (doc 4.1).
    if (p) return { fh: p.fh, openFlags: OpenFlag.PASSTHROUGH | (r.directIo ? OpenFlag.DIRECT_IO : 0), backingId: p.backingId };
  }
  return { fh: r.fh, openFlags: (r.keepCache ? OpenFlag.KEEP_CACHE : 0) | (r.directIo ? OpenFlag.DIRECT_IO : 0), backingId: 0 };
}

const NO_REPLY = Number.MIN_SAFE_INTEGER;
const EPROTO = 71;
const utf8 = new TextEncoder();
