/**
 * Speaking to a RequestDispatcher the way the kernel does, without a mount: requests are built byte for byte
 * (in_header + body, include/uapi/linux/fuse.h) and replies decoded from the dispatcher's reply buffer. For
 * filesystem tests at the dispatcher level (MusicFs over a real database), where a mount would only add noise.
 */
import { Opcode, Size } from "../../src/fuse/abi.ts";
import { getU64, setU64 } from "../../src/fuse/codec.ts";
import type { RequestDispatcher } from "../../src/fuse/dispatcher.ts";

/** A request as the kernel would write it: in_header + body. */
export function fuseRequest(opcode: number, nodeid: number, body: Uint8Array = new Uint8Array(0), unique = 0x1122334455667788n): Uint8Array {
  const buf = new Uint8Array(Size.IN_HEADER + body.length);
  const v = new DataView(buf.buffer);
  v.setUint32(0, buf.length, true);
  v.setUint32(4, opcode, true);
  v.setBigUint64(8, unique, true);
  setU64(v, 16, nodeid);
  v.setUint32(24, 1000, true);
  v.setUint32(28, 100, true);
  v.setUint32(32, 4242, true);
  buf.set(body, Size.IN_HEADER);
  return buf;
}

/** fuse_read_in (READ, READDIR, READDIRPLUS). */
export function readIn(offset: number, size: number, fh = 0): Uint8Array {
  const b = new Uint8Array(Size.READ_IN);
  const v = new DataView(b.buffer);
  setU64(v, 0, fh);
  setU64(v, 8, offset);
  v.setUint32(16, size, true);
  return b;
}

/** Little-endian u32 fields, e.g. fuse_open_in (flags, open_flags). */
export function u32(...values: number[]): Uint8Array {
  const b = new Uint8Array(values.length * 4);
  values.forEach((x, i) => new DataView(b.buffer).setUint32(i * 4, x, true));
  return b;
}

const ENOENT = 2;

export const cstring = (s: string) => new TextEncoder().encode(s + "\0");

export interface WireAttr {
  ino: number;
  size: number;
  mode: number;
  nlink: number;
  mtimeS: number;
  /** LOOKUP replies only: the entry's generation (with ino, what the kernel tells inodes apart by). */
  generation?: number;
}

export interface WireDirent {
  name: string;
  ino: number;
  /** The cookie to continue from. */
  off: number;
  type: number;
}

/** Attributes at `at` in a reply (struct fuse_attr). */
function attrAt(v: DataView, at: number): WireAttr {
  return { ino: getU64(v, at), size: getU64(v, at + 8), mtimeS: getU64(v, at + 32), mode: v.getUint32(at + 60, true), nlink: v.getUint32(at + 64, true) };
}

/** A client of one dispatcher: each call returns the decoded reply, or the negative errno. */
export class WireClient {
  constructor(private readonly d: RequestDispatcher) {}

  /** Raw call: errno (0 = success, negative = error, null = no reply: deferred to the main thread) and payload. */
  call(opcode: number, nodeid: number, body?: Uint8Array): { error: number | null; payload: Uint8Array; view: DataView } {
    const req = fuseRequest(opcode, nodeid, body);
    const len = this.d.handle(req, req.length);
    if (len === 0) return { error: null, payload: new Uint8Array(0), view: new DataView(new ArrayBuffer(0)) };
    const view = new DataView(this.d.reply.buffer, this.d.reply.byteOffset + this.d.replyOffset, len);
    const payload = this.d.reply.slice(this.d.replyOffset + Size.OUT_HEADER, this.d.replyOffset + len);
    return { error: view.getInt32(4, true), payload, view: new DataView(payload.buffer) };
  }

  /** LOOKUP: the entry's attributes, or the negative errno (a cached negative entry, nodeid 0, is -ENOENT). */
  lookup(parent: number, name: string): WireAttr | number {
    const r = this.call(Opcode.LOOKUP, parent, cstring(name));
    if (r.error) return r.error!;
    if (getU64(r.view, 0) === 0) return -ENOENT;
    return { ...attrAt(r.view, 40), generation: getU64(r.view, 8) };
  }

  getattr(ino: number): WireAttr | number {
    const r = this.call(Opcode.GETATTR, ino, new Uint8Array(16));
    if (r.error) return r.error!;
    return attrAt(r.view, 16);
  }

  /** Every entry of a directory through READDIRPLUS, page by page (`pageBytes` per reply), "." and ".." left out. */
  list(ino: number, pageBytes = 4096): WireDirent[] {
    const out: WireDirent[] = [];
    let offset = 0;
    for (let pages = 0; pages < 100_000; pages++) {
      const page = this.page(ino, offset, pageBytes);
      if (page.entries.length === 0) return out;
      out.push(...page.entries.filter((e) => e.name !== "." && e.name !== ".."));
      offset = page.entries.at(-1)!.off;
    }
    throw new Error("READDIRPLUS never ended");
  }

  /** One READDIRPLUS reply from kernel offset `offset` ("." and ".." included when it is 0). */
  page(ino: number, offset: number, pageBytes: number): { entries: WireDirent[] } {
    const r = this.call(Opcode.READDIRPLUS, ino, readIn(offset, pageBytes));
    if (r.error) throw new Error(`READDIRPLUS ${ino} failed: ${r.error}`);
    const entries: WireDirent[] = [];
    let at = 0;
    while (at < r.payload.length) {
      const base = at + Size.ENTRY_OUT;
      const namelen = r.view.getUint32(base + 16, true);
      const ent = { ino: getU64(r.view, base), off: getU64(r.view, base + 8), type: r.view.getUint32(base + 20, true) };
      entries.push({ name: new TextDecoder().decode(r.payload.subarray(base + 24, base + 24 + namelen)), ...ent });
      at += Math.ceil((Size.DIRENTPLUS_HEADER + namelen) / 8) * 8;
    }
    return { entries };
  }

  /** OPEN with `flags` (O_RDONLY by default); the file handle, or the negative errno. */
  open(ino: number, flags = 0): number {
    const r = this.call(Opcode.OPEN, ino, u32(flags, 0));
    if (r.error) return r.error!;
    return getU64(r.view, 0);
  }

  read(ino: number, fh: number, offset: number, size: number): Uint8Array | number | null {
    const r = this.call(Opcode.READ, ino, readIn(offset, size, fh));
    if (r.error === null) return null;
    if (r.error) return r.error;
    return r.payload;
  }

  release(ino: number, fh: number): void {
    const b = new Uint8Array(24);
    setU64(new DataView(b.buffer), 0, fh);
    this.call(Opcode.RELEASE, ino, b);
  }

  readlink(ino: number): string | number {
    const r = this.call(Opcode.READLINK, ino);
    if (r.error) return r.error!;
    return new TextDecoder().decode(r.payload);
  }
}
