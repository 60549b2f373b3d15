/**
 * The "filesystem under test" of test/support/readOnlyRules.ts at the request level: paths resolved with LOOKUPs,
 * every call one or a few requests to a RequestDispatcher (through WireClient), built as the kernel builds them.
 */
import { Opcode } from "../../src/fuse/abi.ts";
import { setU64 } from "../../src/fuse/codec.ts";
import type { Change, EntryType, FsAttr, FsEntry, FsUnderTest } from "./readOnlyRules.ts";
import { cstring, u32, type WireClient } from "./fuseWire.ts";

const ROOT = 1;
const DT_TYPES: Record<number, EntryType> = { 4: "dir", 8: "file", 10: "link" };

const concat = (...parts: Uint8Array[]) => Buffer.concat(parts);
const u64 = (x: number) => {
  const b = new Uint8Array(8);
  setU64(new DataView(b.buffer), 0, x);
  return b;
};

/** fuse_setattr_in with `valid` set (FATTR_MODE 1, UID 2, GID 4, SIZE 8, ATIME 16, MTIME 32): 88 bytes. */
function setattrIn(valid: number): Uint8Array {
  const b = new Uint8Array(88);
  const v = new DataView(b.buffer);
  v.setUint32(0, valid, true);
  v.setUint32(68, 0o100600, true); // mode
  return b;
}

export function wireFs(client: WireClient): FsUnderTest {
  /** The inode at `path`, or the errno of the first LOOKUP that failed. */
  const resolve = (path: string): number => {
    let ino = ROOT;
    for (const name of path.split("/").filter(Boolean)) {
      const a = client.lookup(ino, name);
      if (typeof a === "number") return a;
      ino = a.ino;
    }
    return ino;
  };
  const split = (path: string) => {
    const at = path.lastIndexOf("/");
    return { parent: at < 0 ? "" : path.slice(0, at), name: path.slice(at + 1) };
  };
  const errorOf = (opcode: number, nodeid: number, body: Uint8Array) => client.call(opcode, nodeid, body).error ?? 0;

  return {
    async stat(path): Promise<FsAttr | number> {
      const ino = resolve(path);
      if (ino < 0) return ino;
      const a = client.getattr(ino);
      return typeof a === "number" ? a : { ino: a.ino, size: a.size, mode: a.mode };
    },
    async list(path): Promise<FsEntry[] | number> {
      const ino = resolve(path);
      if (ino < 0) return ino;
      return client.list(ino).map((e) => ({ name: e.name, type: DT_TYPES[e.type] ?? "file" }));
    },
    async readAt(path, offset, size) {
      const ino = resolve(path);
      if (ino < 0) return ino;
      const fh = client.open(ino);
      if (fh < 0) return fh;
      try {
        const got = client.read(ino, fh, offset, size);
        if (got === null) throw new Error(`READ of ${path} was deferred to the main thread: not expected of a local origin`);
        return got;
      } finally {
        client.release(ino, fh);
      }
    },
    async readlink(path) {
      const ino = resolve(path);
      return ino < 0 ? ino : client.readlink(ino);
    },
    async open(path, flags) {
      const ino = resolve(path);
      if (ino < 0) return ino;
      const fh = client.open(ino, flags);
      if (fh < 0) return fh;
      client.release(ino, fh);
      return 0;
    },
    async change(kind: Change, path) {
      const ino = resolve(path);
      if (ino < 0) return ino;
      const { parent, name } = split(path);
      const parentIno = resolve(parent);
      switch (kind) {
        case "create": // fuse_create_in: flags, mode, umask, open_flags
          return errorOf(Opcode.CREATE, ino, concat(u32(0o1 | 0o100, 0o100644, 0o022, 0), cstring("new.flac")));
        case "mkdir": // fuse_mkdir_in: mode, umask
          return errorOf(Opcode.MKDIR, ino, concat(u32(0o40755, 0o022), cstring("new folder")));
        case "symlink":
          return errorOf(Opcode.SYMLINK, ino, concat(cstring("new link"), cstring("elsewhere")));
        case "unlink":
          return errorOf(Opcode.UNLINK, parentIno, cstring(name));
        case "rmdir":
          return errorOf(Opcode.RMDIR, parentIno, cstring(name));
        case "rename": // fuse_rename_in: newdir
          return errorOf(Opcode.RENAME, parentIno, concat(u64(parentIno), cstring(name), cstring(`${name}.renamed`)));
        case "link": // fuse_link_in: oldnodeid
          return errorOf(Opcode.LINK, parentIno, concat(u64(ino), cstring(`${name}.link`)));
        case "chmod":
          return errorOf(Opcode.SETATTR, ino, setattrIn(1));
        case "chown":
          return errorOf(Opcode.SETATTR, ino, setattrIn(2 | 4));
        case "truncate":
          return errorOf(Opcode.SETATTR, ino, setattrIn(8));
        case "utimes":
          return errorOf(Opcode.SETATTR, ino, setattrIn(16 | 32));
      }
    },
  };
}
