/**
 * The protocol codec and the request dispatcher, byte for byte, without a mount. Offsets are checked against
 * include/uapi/linux/fuse.h, because a wrong offset shows up as a kernel EIO with no explanation.
 */
import { describe, expect, test } from "bun:test";
import { InitFlag, InitFlag2, Opcode, OpenFlag, Size } from "../../src/fuse/abi.ts";
import {
  decodeBatchForget, decodeRequestHeader, direntSize, encodeDataReply, encodeErrorReply, encodeNotifyInvalEntry,
  encodeNotifyInvalInode, getU64, negotiateInit, packDirectory, setU64, splitMs, writeAttrOut, writeEntryOut,
  writeInitOut, writeOpenOut, writeStatfs,
} from "../../src/fuse/codec.ts";
import { RequestDispatcher } from "../../src/fuse/dispatcher.ts";
import { type Entry, Errno, type FuseFilesystem, S_IFDIR, S_IFREG } from "../../src/fuse/filesystem.ts";
import type { WorkerMessage } from "../../src/fuse/messages.ts";
import { parseMountInfo } from "../../src/fuse/mountinfo.ts";
import { cstring, fuseRequest, readIn, u32 } from "../support/fuseWire.ts";
import { createSessionShared, SessionShared } from "../../src/fuse/sessionShared.ts";

const owner = { uid: 1000, gid: 100 };

const request = fuseRequest;

describe("codec", () => {
  test("request header fields sit at their ABI offsets", () => {
    const h = decodeRequestHeader(new DataView(request(Opcode.GETATTR, 2 ** 40 + 7).buffer));
    expect(h).toEqual({ len: 40, opcode: 3, unique: 0x1122334455667788n, nodeid: 2 ** 40 + 7, uid: 1000, gid: 100, pid: 4242 });
  });

  test("u64 helpers are exact up to 2^53", () => {
    const v = new DataView(new ArrayBuffer(8));
    setU64(v, 0, 2 ** 53 - 1);
    expect(v.getBigUint64(0, true)).toBe(2n ** 53n - 1n);
    expect(getU64(v, 0)).toBe(2 ** 53 - 1);
  });

  test("error replies are header-only with a negative errno, whatever sign is passed", () => {
    for (const e of [2, -2]) {
      const r = new DataView(encodeErrorReply(99n, e).buffer);
      expect(r.byteLength).toBe(16);
      expect(r.getUint32(0, true)).toBe(16);
      expect(r.getInt32(4, true)).toBe(-2);
      expect(r.getBigUint64(8, true)).toBe(99n);
    }
    const d = encodeDataReply(5n, new Uint8Array([1, 2, 3]));
    expect([...d.subarray(16)]).toEqual([1, 2, 3]);
    expect(new DataView(d.buffer).getUint32(0, true)).toBe(19);
  });

  test("times and TTLs split into seconds and nanoseconds", () => {
    expect(splitMs(1500.25)).toEqual([1, 500_250_000]);
    expect(splitMs(0)).toEqual([0, 0]);
    expect(splitMs(-5)).toEqual([0, 0]);
  });

  test("fuse_entry_out: nodeid, TTLs and attr at 40", () => {
    const v = new DataView(new ArrayBuffer(Size.ENTRY_OUT));
    const n = writeEntryOut(v, 0, {
      attr: { ino: 42, size: 1000, mode: S_IFREG | 0o444, nlink: 1, mtimeMs: 1_700_000_000_123 },
      entryTtlMs: 2500, attrTtlMs: 1000, generation: 3,
    }, owner);
    expect(n).toBe(128);
    expect(getU64(v, 0)).toBe(42); // nodeid
    expect(getU64(v, 8)).toBe(3); // generation
    expect(getU64(v, 16)).toBe(2); // entry_valid
    expect(getU64(v, 24)).toBe(1); // attr_valid
    expect(v.getUint32(32, true)).toBe(500_000_000);
    expect(v.getUint32(36, true)).toBe(0);
    const a = 40;
    expect(getU64(v, a)).toBe(42); // ino
    expect(getU64(v, a + 8)).toBe(1000); // size
    expect(getU64(v, a + 16)).toBe(2); // blocks of 512
    expect(getU64(v, a + 32)).toBe(1_700_000_000); // mtime
    expect(v.getUint32(a + 52, true)).toBe(123_000_000); // mtimensec
    expect(v.getUint32(a + 60, true)).toBe(S_IFREG | 0o444);
    expect(v.getUint32(a + 64, true)).toBe(1);
    expect(v.getUint32(a + 68, true)).toBe(1000); // default owner
    expect(v.getUint32(a + 72, true)).toBe(100);
    expect(v.getUint32(a + 80, true)).toBe(4096); // blksize
  });

  test("negative entry: nodeid 0 with a TTL, zeroed attributes", () => {
    const v = new DataView(new ArrayBuffer(Size.ENTRY_OUT));
    new Uint8Array(v.buffer).fill(0xff);
    writeEntryOut(v, 0, { attr: { ino: 0, size: 0, mode: 0, nlink: 0, mtimeMs: 0 }, entryTtlMs: 5000, attrTtlMs: 0 }, owner);
    expect(getU64(v, 0)).toBe(0);
    expect(getU64(v, 16)).toBe(5);
    expect([...new Uint8Array(v.buffer, 40, 88)].every((b) => b === 0)).toBe(true);
  });

  test("fuse_attr_out, fuse_open_out, fuse_kstatfs", () => {
    const v = new DataView(new ArrayBuffer(256));
    expect(writeAttrOut(v, 0, { attr: { ino: 7, size: 1, mode: S_IFDIR | 0o555, nlink: 2, mtimeMs: 0, uid: 5, gid: 6 }, attrTtlMs: 3000 }, owner)).toBe(104);
    expect(getU64(v, 0)).toBe(3);
    expect(getU64(v, 16)).toBe(7);
    expect(v.getUint32(16 + 68, true)).toBe(5);
    expect(writeOpenOut(v, 0, 2 ** 33, OpenFlag.PASSTHROUGH, 9)).toBe(16);
    expect(getU64(v, 0)).toBe(2 ** 33);
    expect(v.getUint32(8, true)).toBe(1 << 7);
    expect(v.getInt32(12, true)).toBe(9);
    expect(writeStatfs(v, 0, { blocks: 10, bfree: 1, bavail: 2, files: 3, ffree: 4, bsize: 4096, namelen: 255, frsize: 512 })).toBe(80);
    expect([getU64(v, 0), getU64(v, 8), getU64(v, 16), getU64(v, 24), getU64(v, 32)]).toEqual([10, 1, 2, 3, 4]);
    expect([v.getUint32(40, true), v.getUint32(44, true), v.getUint32(48, true)]).toEqual([4096, 255, 512]);
  });

  test("INIT: flags masked by the kernel's offer, minor capped at 31, 41 only with passthrough", () => {
    const offered = 0xffffffff & ~InitFlag.CACHE_SYMLINKS;
    const plain = negotiateInit({ major: 7, minor: 45, maxReadahead: 131072, flags: offered | InitFlag.INIT_EXT, flags2: InitFlag2.PASSTHROUGH }, false);
    expect(plain.reply.minor).toBe(31);
    expect(plain.passthrough).toBe(false);
    expect(plain.reply.flags & InitFlag.CACHE_SYMLINKS).toBe(0); // not offered, so not taken
    expect(plain.reply.flags & InitFlag.ASYNC_READ).toBe(InitFlag.ASYNC_READ);
    expect(plain.reply.flags & InitFlag.INIT_EXT).toBe(0);
    expect(plain.reply.maxPages).toBe(256);
    const pt = negotiateInit({ major: 7, minor: 45, maxReadahead: 131072, flags: offered | InitFlag.INIT_EXT, flags2: InitFlag2.PASSTHROUGH }, true);
    expect(pt.passthrough).toBe(true);
    expect(pt.reply.minor).toBe(41);
    expect(pt.reply.flags2).toBe(InitFlag2.PASSTHROUGH);
    expect(pt.reply.maxStackDepth).toBe(1);
    const old = negotiateInit({ major: 7, minor: 27, maxReadahead: 65536, flags: InitFlag.ASYNC_READ, flags2: 0 }, true);
    expect(old.passthrough).toBe(false);
    expect(old.reply.minor).toBe(27);
    expect(old.reply.flags).toBe(InitFlag.ASYNC_READ);

    const v = new DataView(new ArrayBuffer(64));
    writeInitOut(v, 0, pt.reply);
    expect(v.getUint32(0, true)).toBe(7);
    expect(v.getUint32(4, true)).toBe(41);
    expect(v.getUint32(8, true)).toBe(131072);
    expect(v.getUint16(16, true)).toBe(64); // max_background
    expect(v.getUint32(20, true)).toBe(128 * 1024); // max_write
    expect(v.getUint16(28, true)).toBe(256); // max_pages
    expect(v.getUint32(32, true)).toBe(InitFlag2.PASSTHROUGH);
    expect(v.getUint32(36, true)).toBe(1); // max_stack_depth
  });

  test("INIT: FUSE_DIRECT_IO_ALLOW_MMAP is taken when offered (direct-I/O files stay mmappable), never otherwise", () => {
    const offered = InitFlag.ASYNC_READ | InitFlag.INIT_EXT;
    const yes = negotiateInit({ major: 7, minor: 45, maxReadahead: 131072, flags: offered, flags2: InitFlag2.DIRECT_IO_ALLOW_MMAP }, false);
    expect(yes.directIoMmap).toBe(true);
    expect(yes.reply.flags & InitFlag.INIT_EXT).toBe(InitFlag.INIT_EXT); // flags2 is read only with INIT_EXT
    expect(yes.reply.flags2).toBe(InitFlag2.DIRECT_IO_ALLOW_MMAP);
    const both = negotiateInit(
      { major: 7, minor: 45, maxReadahead: 131072, flags: offered, flags2: InitFlag2.DIRECT_IO_ALLOW_MMAP | InitFlag2.PASSTHROUGH },
      true,
    );
    expect(both.reply.flags2).toBe(InitFlag2.DIRECT_IO_ALLOW_MMAP | InitFlag2.PASSTHROUGH);
    const no = negotiateInit({ major: 7, minor: 38, maxReadahead: 131072, flags: offered, flags2: 0 }, false);
    expect(no.directIoMmap).toBe(false);
    expect(no.reply.flags2).toBe(0);
    expect(no.reply.flags & InitFlag.INIT_EXT).toBe(0);
  });

  test("an open asking for direct I/O only if mmap keeps working gets it, in every worker, exactly when INIT agreed to that", () => {
    const fs: FuseFilesystem = {
      lookup: () => -Errno.ENOENT,
      getattr: () => -Errno.ENOENT,
      readdir: () => [],
      open: () => ({ fh: 5, keepCache: true, directIoIfMmap: true }),
      read: () => 0,
    };
    for (const offered of [InitFlag2.DIRECT_IO_ALLOW_MMAP, 0]) {
      const shared = new SessionShared(createSessionShared());
      const initWorker = new RequestDispatcher({ fs, post: () => {}, owner, shared });
      const otherWorker = new RequestDispatcher({ fs, post: () => {}, owner, shared });
      const init = request(Opcode.INIT, 0, u32(7, 45, 131072, InitFlag.ASYNC_READ | InitFlag.INIT_EXT, offered, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
      initWorker.handle(init, init.length);
      const open = request(Opcode.OPEN, 10, u32(0, 0));
      const len = otherWorker.handle(open, open.length);
      const flags = new DataView(otherWorker.reply.buffer, otherWorker.replyOffset, len).getUint32(16 + 8, true);
      expect(flags & OpenFlag.DIRECT_IO).toBe(offered ? OpenFlag.DIRECT_IO : 0);
      expect(flags & OpenFlag.KEEP_CACHE).toBe(OpenFlag.KEEP_CACHE);
    }
  });

  test("directory records are padded to 8 bytes and stop before overflowing the kernel's buffer", () => {
    expect(direntSize(1, false)).toBe(32);
    expect(direntSize(8, false)).toBe(32);
    expect(direntSize(9, false)).toBe(40);
    expect(direntSize(1, true)).toBe(160);
    const v = new DataView(new ArrayBuffer(4096));
    const records = ["a", "bcdefghij", "c"].map((name, i) => ({ name, ino: 10 + i, mode: S_IFREG, nextOffset: 100 + i }));
    const [bytes, count] = packDirectory(v, 0, 72, records, false, owner);
    expect([bytes, count]).toEqual([72, 2]); // the third (32 bytes) would exceed 72
    expect(getU64(v, 0)).toBe(10);
    expect(getU64(v, 8)).toBe(100); // off = where to continue after this entry
    expect(v.getUint32(16, true)).toBe(1);
    expect(v.getUint32(20, true)).toBe(8); // DT_REG
    expect(String.fromCharCode(v.getUint8(24))).toBe("a");
    expect(v.getUint32(32 + 16, true)).toBe(9);
  });

  test("READDIRPLUS: entry_out first; records without an entry get a zeroed one", () => {
    const v = new DataView(new ArrayBuffer(4096));
    new Uint8Array(v.buffer).fill(0xee);
    const entry: Entry = { attr: { ino: 5, size: 1, mode: S_IFREG | 0o444, nlink: 1, mtimeMs: 0 }, entryTtlMs: 1000, attrTtlMs: 1000 };
    const [bytes] = packDirectory(v, 0, 4096, [
      { name: ".", ino: 1, mode: S_IFDIR, nextOffset: 1 },
      { name: "x", ino: 5, mode: S_IFREG, nextOffset: 3, entry },
    ], true, owner);
    expect(bytes).toBe(320);
    expect([...new Uint8Array(v.buffer, 0, 128)].every((b) => b === 0)).toBe(true);
    expect(getU64(v, 128)).toBe(1); // dirent ino of "."
    expect(v.getUint32(128 + 20, true)).toBe(4); // DT_DIR
    expect(getU64(v, 160)).toBe(5); // nodeid of x
    expect(getU64(v, 160 + 128 + 8)).toBe(3);
    expect([...new Uint8Array(v.buffer, 160 + 152 + 1, 7)].every((b) => b === 0)).toBe(true); // padding zeroed
  });

  test("notifications: unique 0, error = code, payload layout", () => {
    const inode = new DataView(encodeNotifyInvalInode(77, 0, -1).buffer);
    expect(inode.byteLength).toBe(40);
    expect(inode.getUint32(0, true)).toBe(40);
    expect(inode.getInt32(4, true)).toBe(2);
    expect(inode.getBigUint64(8, true)).toBe(0n);
    expect(getU64(inode, 16)).toBe(77);
    expect(inode.getBigInt64(32, true)).toBe(-1n);
    const entry = encodeNotifyInvalEntry(9, "héllo");
    const ev = new DataView(entry.buffer);
    expect(ev.getInt32(4, true)).toBe(3);
    expect(getU64(ev, 16)).toBe(9);
    expect(ev.getUint32(24, true)).toBe(6); // UTF-8 bytes
    expect(new TextDecoder().decode(entry.subarray(32, 38))).toBe("héllo");
    expect(entry[38]).toBe(0);
    expect(entry.length).toBe(39);
  });

  test("BATCH_FORGET items", () => {
    const body = new Uint8Array(8 + 32);
    const v = new DataView(body.buffer);
    v.setUint32(0, 2, true);
    setU64(v, 8, 10); setU64(v, 16, 1); setU64(v, 24, 11); setU64(v, 32, 5);
    expect(decodeBatchForget(new DataView(request(Opcode.BATCH_FORGET, 0, body).buffer))).toEqual([
      { nodeid: 10, nlookup: 1 }, { nodeid: 11, nlookup: 5 },
    ]);
  });

  test("mountinfo parsing unescapes paths and finds the fstype after the separator", () => {
    const text = "36 35 0:39 / /mnt/my\\040music rw,nosuid shared:1 - fuse.musicfs musicfs ro,user_id=0\n" +
      "37 35 8:1 / / rw - ext4 /dev/sda1 rw\n";
    const [m, root] = parseMountInfo(text);
    expect(m).toEqual({ mountId: 36, device: "0:39", mountpoint: "/mnt/my music", fstype: "fuse.musicfs", source: "musicfs" });
    expect(root!.fstype).toBe("ext4");
  });
});

describe("dispatcher", () => {
  const children = ["a", "b", "c"];
  const fs: FuseFilesystem = {
    lookup: (parent, name) =>
      name === "a" ? { attr: { ino: 10, size: 3, mode: S_IFREG | 0o444, nlink: 1, mtimeMs: 0 }, entryTtlMs: 1000, attrTtlMs: 1000 } : -Errno.ENOENT,
    getattr: (ino) => (ino === 99 ? (() => { throw new Error("bug"); })() : { attr: { ino, size: 0, mode: S_IFDIR | 0o555, nlink: 2, mtimeMs: 0 }, attrTtlMs: 0 }),
    readdir: (_ino, after, max) =>
      children.slice(after, after + max).map((name, i) => ({
        name, cookie: after + i + 1, entry: { attr: { ino: 10 + after + i, size: 1, mode: S_IFREG | 0o444, nlink: 1, mtimeMs: 0 }, entryTtlMs: 1, attrTtlMs: 1 },
      })),
    readlink: () => "target/x",
    read: (ino, _fh, offset, size, out) => {
      if (ino === 20) return { defer: { why: "slow" } };
      out.fill(7, 0, Math.min(size, 5));
      return Math.min(size, 5);
    },
  };
  const posted: WorkerMessage[] = [];
  const d = new RequestDispatcher({ fs, post: (m) => posted.push(m), owner });
  const run = (req: Uint8Array) => {
    const len = d.handle(req, req.length);
    return { len, view: new DataView(d.reply.buffer, d.replyOffset, Math.max(len, 16)), payload: d.reply.subarray(d.dataOffset, d.replyOffset + len) };
  };
  const errorOf = (req: Uint8Array) => run(req).view.getInt32(4, true);

  test("LOOKUP answers an entry, or ENOENT", () => {
    const ok = run(request(Opcode.LOOKUP, 1, cstring("a")));
    expect(ok.len).toBe(16 + 128);
    expect(ok.view.getBigUint64(8, true)).toBe(0x1122334455667788n); // unique echoed
    expect(getU64(ok.view, 16)).toBe(10);
    expect(errorOf(request(Opcode.LOOKUP, 1, cstring("zz")))).toBe(-Errno.ENOENT);
  });

  test("every write-family opcode is EROFS; OPEN for writing is EROFS before the filesystem sees it", () => {
    for (const op of [Opcode.SETATTR, Opcode.MKDIR, Opcode.UNLINK, Opcode.RMDIR, Opcode.RENAME, Opcode.WRITE, Opcode.CREATE, Opcode.SYMLINK, Opcode.LINK]) {
      expect(errorOf(request(op, 1))).toBe(-Errno.EROFS);
    }
    expect(errorOf(request(Opcode.OPEN, 10, u32(1 /* O_WRONLY */, 0)))).toBe(-Errno.EROFS);
    expect(errorOf(request(Opcode.OPEN, 10, u32(2 /* O_RDWR */, 0)))).toBe(-Errno.EROFS);
    expect(errorOf(request(Opcode.ACCESS, 10, u32(2 /* W_OK */, 0)))).toBe(-Errno.EROFS);
    expect(run(request(Opcode.ACCESS, 10, u32(4 /* R_OK */, 0))).len).toBe(16);
  });

  test("no fs.open means zero-message open: OPEN and FLUSH answer ENOSYS", () => {
    expect(errorOf(request(Opcode.OPEN, 10, u32(0, 0)))).toBe(-Errno.ENOSYS);
    expect(errorOf(request(Opcode.FLUSH, 10))).toBe(-Errno.ENOSYS);
    for (const op of [Opcode.GETXATTR, Opcode.LISTXATTR, Opcode.STATX, Opcode.IOCTL, Opcode.LSEEK, Opcode.POLL, Opcode.FSYNC, Opcode.GETLK]) {
      expect(errorOf(request(op, 10))).toBe(-Errno.ENOSYS);
    }
  });

  test("FORGET and INTERRUPT get no reply; INTERRUPT is passed to the main thread", () => {
    expect(d.handle(request(Opcode.FORGET, 10, new Uint8Array(8)), 48)).toBe(0);
    const body = new Uint8Array(8);
    new DataView(body.buffer).setBigUint64(0, 77n, true);
    posted.length = 0;
    expect(run(request(Opcode.INTERRUPT, 0, body)).len).toBe(0);
    expect(posted).toEqual([{ type: "interrupt", unique: 77n }]);
  });

  test("a throwing filesystem method becomes EIO, and the next request is served", () => {
    expect(errorOf(request(Opcode.GETATTR, 99, new Uint8Array(16)))).toBe(-Errno.EIO);
    expect(errorOf(request(Opcode.GETATTR, 1, new Uint8Array(16)))).toBe(0);
  });

  test("READ data lands at dataOffset; a Deferred is posted with the request's coordinates and not answered", () => {
    const r = run(request(Opcode.READ, 10, readIn(0, 4096)));
    expect(r.len).toBe(21);
    expect([...r.payload]).toEqual([7, 7, 7, 7, 7]);
    posted.length = 0;
    const req = request(Opcode.READ, 20, readIn(8192, 4096, 3), 555n);
    expect(d.handle(req, req.length, 1_700_000_000_000)).toBe(0);
    expect(posted).toEqual([{ type: "defer", request: { unique: 555n, opcode: Opcode.READ, nodeid: 20, offset: 8192, size: 4096, fh: 3, payload: { why: "slow" }, receivedAtMs: 1_700_000_000_000 } }]);
  });

  test("answer times: a reply counts from when the request was read to replyWritten; a deferred READ is left to the main thread", () => {
    const shared = new SessionShared(createSessionShared());
    const w = new RequestDispatcher({ fs, post: () => {}, owner, shared });
    const read = (ino: number, receivedAtMs: number) => {
      const req = request(Opcode.READ, ino, readIn(0, 4096));
      return w.handle(req, req.length, receivedAtMs);
    };
    expect(read(10, performance.timeOrigin + performance.now() - 2000)).toBeGreaterThan(0); // read 2 s ago
    expect(shared.requestLatency()).toEqual({}); // not yet written
    w.replyWritten();
    const answered = shared.requestLatency().READ!;
    expect(answered.count).toBe(1);
    expect(answered.buckets.at(-2)).toBe(1); // the (1 s, 5 s] bucket
    expect(answered.sumSeconds).toBeGreaterThanOrEqual(2);
    expect(read(20, performance.timeOrigin + performance.now())).toBe(0); // deferred
    w.replyWritten();
    expect(shared.requestLatency().READ!.count).toBe(1);
  });

  test("READDIR adds '.' and '..' and continues from the kernel offset it handed out", () => {
    const names = (payload: Uint8Array) => {
      const v = new DataView(payload.buffer, payload.byteOffset, payload.length);
      const out: [string, number][] = [];
      for (let p = 0; p < payload.length; ) {
        const len = v.getUint32(p + 16, true);
        out.push([new TextDecoder().decode(payload.subarray(p + 24, p + 24 + len)), getU64(v, p + 8)]);
        p += direntSize(len, false);
      }
      return out;
    };
    expect(names(run(request(Opcode.READDIR, 1, readIn(0, 4096))).payload)).toEqual([[".", 1], ["..", 2], ["a", 3], ["b", 4], ["c", 5]]);
    expect(names(run(request(Opcode.READDIR, 1, readIn(3, 4096))).payload)).toEqual([["b", 4], ["c", 5]]);
    expect(names(run(request(Opcode.READDIR, 1, readIn(1, 64))).payload)).toEqual([["..", 2], ["a", 3]]); // 64-byte buffer
    expect(run(request(Opcode.READDIR, 1, readIn(5, 4096))).len).toBe(16); // end of directory: empty reply
  });

  test("READLINK returns the target bytes without NUL; OPENDIR caches the listing when the kernel needs OPENDIR", () => {
    expect(new TextDecoder().decode(run(request(Opcode.READLINK, 6)).payload)).toBe("target/x");
    const od = run(request(Opcode.OPENDIR, 1, u32(0, 0)));
    expect(od.view.getUint32(16 + 8, true)).toBe(OpenFlag.CACHE_DIR | OpenFlag.KEEP_CACHE);
  });

  test("zero-message opendir: after an INIT offering NO_OPENDIR_SUPPORT, every worker answers OPENDIR with ENOSYS; requests are counted", () => {
    const shared = new SessionShared(createSessionShared());
    const initWorker = new RequestDispatcher({ fs, post: () => {}, owner, shared });
    const otherWorker = new RequestDispatcher({ fs, post: () => {}, owner, shared });
    const opendirError = (w: RequestDispatcher) => {
      const req = request(Opcode.OPENDIR, 1, u32(0, 0));
      const len = w.handle(req, req.length);
      return new DataView(w.reply.buffer, w.replyOffset, len).getInt32(4, true);
    };
    expect(opendirError(otherWorker)).toBe(0); // before INIT: the caching reply
    const offer = InitFlag.ASYNC_READ | InitFlag.DO_READDIRPLUS | InitFlag.NO_OPENDIR_SUPPORT;
    const init = request(Opcode.INIT, 0, u32(7, 45, 131072, offer, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
    initWorker.handle(init, init.length);
    expect(opendirError(otherWorker)).toBe(-Errno.ENOSYS);
    expect(opendirError(initWorker)).toBe(-Errno.ENOSYS);
    otherWorker.handle(request(Opcode.FORGET, 10, new Uint8Array(8)), 48); // housekeeping: no reply, not traffic
    expect(shared.requestCounts()).toEqual({ INIT: 1, OPENDIR: 3, FORGET: 1 });
    expect(shared.answeredRequests()).toBe(4);
  });

  test("INIT is answered with the negotiated reply and reported to the main thread", () => {
    posted.length = 0;
    const flags = InitFlag.ASYNC_READ | InitFlag.DO_READDIRPLUS | InitFlag.MAX_PAGES;
    const r = run(request(Opcode.INIT, 0, u32(7, 45, 131072, flags, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)));
    expect(r.len).toBe(16 + 64);
    expect(r.view.getUint32(16 + 4, true)).toBe(31);
    expect(r.view.getUint32(16 + 12, true)).toBe(flags);
    expect(posted).toHaveLength(0); // not before the reply is written
    d.replyWritten();
    expect(posted[0]).toMatchObject({ type: "init", init: { minor: 31, kernelMinor: 45, passthrough: false, zeroMessageOpendir: false } });
  });
});
