/**
 * A small in-memory FuseFilesystem for the session tests and the benchmark. Deterministic content, so the tests
 * can compute the expected bytes themselves:
 *
 *   /hello.txt            "hello, world\n"
 *   /sub/nested.txt       "nested\n"
 *   /big.bin              BIG_SIZE bytes of patternByte(i)
 *   /link -> hello.txt
 *   /many/f0000 … f0999   tiny files ("f0042\n")
 *   /deferred.txt         READ deferred to the main thread (which answers with DEFERRED_CONTENT)
 *   /slow.txt             READ deferred and never answered (direct I/O, so it can be interrupted)
 *   /boom.txt             READ throws (the session must answer EIO and keep serving)
 *   /gate.txt             READ blocks the worker (synchronously) until the main thread opens the gate
 *   /dyn/                 children listed in a SharedArrayBuffer the main thread rewrites (notify tests)
 *   /mirror/              the files of a real directory, read with pread (or FUSE passthrough)
 *
 * Every worker builds its own copy; shared state lives in SharedArrayBuffers passed through workerData.
 */
import { openSync, readdirSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  type AttrReply, type DirEntry, type Entry, Errno, type FuseFilesystem, type OpenReply, S_IFDIR, S_IFLNK, S_IFREG,
} from "../../src/fuse/filesystem.ts";

export const BIG_SIZE = 64 * 1024 * 1024;
export const HELLO = "hello, world\n";
export const DEFERRED_CONTENT = "answered by the main thread\n";
export const DYN_INO = 9;
export const MANY_COUNT = 1000;

/** Byte i of /big.bin: a hash of the offset, so any misplaced range shows up. */
export function patternByte(i: number): number {
  const x = i >>> 0;
  return ((x ^ (x >>> 7) ^ (x >>> 13) ^ (Math.imul(x >>> 11, 0x9e3779b1) >>> 24)) * 131 + (i / 4294967296) | 0) & 0xff;
}

export function fillPattern(out: Uint8Array, offset: number): void {
  for (let k = 0; k < out.length; k++) out[k] = patternByte(offset + k);
}

export interface MemFsData {
  /** Real directory shown as /mirror (optional). */
  backingDir?: string;
  /** Serve /mirror with FUSE passthrough. */
  passthrough?: boolean;
  /** Entry and attribute TTL (ms). */
  ttlMs: number;
  /** Ask for zero-message open (no OPEN/FLUSH/RELEASE) for everything but /slow.txt and /mirror. */
  zeroMessageOpen?: boolean;
  /** Int32 counters: [0] READs, [1] READs of /mirror files, [2] OPENs, [3] GETATTRs. */
  stats: SharedArrayBuffer;
  /** /dyn listing: Int32 [0] generation, [1] byte length, then UTF-8 JSON array of names. */
  dynamic: SharedArrayBuffer;
  /** Int32 [0]: 0 while /gate.txt blocks its readers, 1 once opened; [1]: readers blocked in it right now. */
  gate?: SharedArrayBuffer;
}

export const Stat = { READS: 0, MIRROR_READS: 1, OPENS: 2, GETATTRS: 3 } as const;

export function writeDynamic(sab: SharedArrayBuffer, names: string[]): void {
  const header = new Int32Array(sab, 0, 2);
  const bytes = new TextEncoder().encode(JSON.stringify(names));
  new Uint8Array(sab, 8).set(bytes);
  Atomics.store(header, 1, bytes.length);
  Atomics.add(header, 0, 1);
}

interface Node {
  ino: number;
  name: string;
  parent: number;
  mode: number;
  size: number;
  content?: Uint8Array;
  target?: string;
  kind?: "big" | "deferred" | "slow" | "boom" | "mirror" | "gate";
  path?: string;
  children?: Map<string, Node>;
}

const MTIME = Date.UTC(2024, 0, 2, 3, 4, 5);
const enc = new TextEncoder();

export function createMemFs(raw: unknown): FuseFilesystem {
  const data = raw as MemFsData;
  const stats = new Int32Array(data.stats);
  const dynHeader = new Int32Array(data.dynamic, 0, 2);
  const nodes = new Map<number, Node>();
  let dynGeneration = -1;

  const add = (n: Node): Node => {
    nodes.set(n.ino, n);
    if (n.mode & S_IFDIR) n.children ??= new Map();
    nodes.get(n.parent)?.children?.set(n.name, n);
    return n;
  };
  const file = (ino: number, parent: number, name: string, text: string): Node =>
    add({ ino, parent, name, mode: S_IFREG | 0o444, size: enc.encode(text).length, content: enc.encode(text) });

  add({ ino: 1, parent: 0, name: "", mode: S_IFDIR | 0o555, size: 0 });
  file(2, 1, "hello.txt", HELLO);
  add({ ino: 3, parent: 1, name: "sub", mode: S_IFDIR | 0o555, size: 0 });
  file(4, 3, "nested.txt", "nested\n");
  add({ ino: 5, parent: 1, name: "big.bin", mode: S_IFREG | 0o444, size: BIG_SIZE, kind: "big" });
  add({ ino: 6, parent: 1, name: "link", mode: S_IFLNK | 0o777, size: "hello.txt".length, target: "hello.txt" });
  add({ ino: 7, parent: 1, name: "many", mode: S_IFDIR | 0o555, size: 0 });
  for (let i = 0; i < MANY_COUNT; i++) {
    const name = `f${String(i).padStart(4, "0")}`;
    file(1000 + i, 7, name, `${name}\n`);
  }
  add({ ino: 8, parent: 1, name: "deferred.txt", mode: S_IFREG | 0o444, size: enc.encode(DEFERRED_CONTENT).length, kind: "deferred" });
  add({ ino: DYN_INO, parent: 1, name: "dyn", mode: S_IFDIR | 0o555, size: 0 });
  add({ ino: 10, parent: 1, name: "slow.txt", mode: S_IFREG | 0o444, size: 4096, kind: "slow" });
  add({ ino: 11, parent: 1, name: "boom.txt", mode: S_IFREG | 0o444, size: 100, kind: "boom" });
  if (data.gate) add({ ino: 13, parent: 1, name: "gate.txt", mode: S_IFREG | 0o444, size: 5, kind: "gate", content: enc.encode("gate\n") });
  if (data.backingDir) {
    add({ ino: 12, parent: 1, name: "mirror", mode: S_IFDIR | 0o555, size: 0 });
    readdirSync(data.backingDir).sort().forEach((name, i) => {
      const path = join(data.backingDir!, name);
      const st = statSync(path);
      if (st.isFile()) add({ ino: 20000 + i, parent: 12, name, mode: S_IFREG | 0o444, size: st.size, kind: "mirror", path });
    });
  }

  /** Pick up a new /dyn listing published by the main thread (cheap: one atomic load per call). */
  const syncDynamic = () => {
    const gen = Atomics.load(dynHeader, 0);
    if (gen === dynGeneration) return;
    dynGeneration = gen;
    const dyn = nodes.get(DYN_INO)!;
    for (const c of dyn.children!.values()) nodes.delete(c.ino);
    dyn.children!.clear();
    const len = Atomics.load(dynHeader, 1);
    const names: string[] = len ? JSON.parse(new TextDecoder().decode(new Uint8Array(data.dynamic, 8, len).slice())) : [];
    names.forEach((name, i) => file(10000 + i, DYN_INO, name, `dynamic ${name}\n`));
  };

  const attrOf = (n: Node) => ({
    ino: n.ino, size: n.size, mode: n.mode, nlink: n.mode & S_IFDIR ? 2 : 1, mtimeMs: MTIME,
  });
  const entryOf = (n: Node): Entry => ({ attr: attrOf(n), entryTtlMs: data.ttlMs, attrTtlMs: data.ttlMs });
  const mirrorFds = new Map<number, number>();

  return {
    lookup(parent, name) {
      syncDynamic();
      const dir = nodes.get(parent);
      if (!dir) return -Errno.ENOENT;
      if (!dir.children) return -Errno.ENOTDIR;
      const n = dir.children.get(name);
      return n ? entryOf(n) : -Errno.ENOENT;
    },
    getattr(ino): AttrReply | number {
      Atomics.add(stats, Stat.GETATTRS, 1);
      syncDynamic();
      const n = nodes.get(ino);
      return n ? { attr: attrOf(n), attrTtlMs: data.ttlMs } : -Errno.ENOENT;
    },
    readdir(ino, afterCookie, maxEntries): DirEntry[] | number {
      syncDynamic();
      const dir = nodes.get(ino);
      if (!dir) return -Errno.ENOENT;
      if (!dir.children) return -Errno.ENOTDIR;
      // Cookie = 1-based position in the (stable, insertion-ordered) child list.
      return [...dir.children.values()]
        .slice(afterCookie, afterCookie + maxEntries)
        .map((n, i) => ({ name: n.name, cookie: afterCookie + i + 1, entry: entryOf(n) }));
    },
    readlink(ino) {
      const n = nodes.get(ino);
      return n?.target ?? -Errno.EINVAL;
    },
    open(ino): OpenReply | "zero-message" | number {
      Atomics.add(stats, Stat.OPENS, 1);
      syncDynamic();
      const n = nodes.get(ino);
      if (!n) return -Errno.ENOENT;
      if (n.kind === "slow") return { fh: 0, directIo: true };
      if (n.kind === "mirror" && data.passthrough) return { fh: ino, passthroughPath: n.path };
      if (data.zeroMessageOpen && n.kind !== "mirror") return "zero-message";
      return { fh: 0, keepCache: true };
    },
    read(ino, _fh, offset, size, out, ctx) {
      Atomics.add(stats, Stat.READS, 1);
      if (ino >= 10000 && ino < 20000) syncDynamic();
      const n = nodes.get(ino);
      if (!n) return -Errno.ENOENT;
      const len = Math.max(0, Math.min(size, n.size - offset));
      switch (n.kind) {
        case "big":
          fillPattern(out.subarray(0, len), offset);
          return len;
        case "deferred":
          return { defer: { kind: "deferred", offset, size: len } };
        case "slow":
          return { defer: { kind: "slow", pid: ctx.pid } };
        case "boom":
          throw new Error("boom.txt always fails");
        case "gate": {
          // A worker stuck in a synchronous wait (a slow disk, a hung network origin) until the gate opens.
          const gate = new Int32Array(data.gate!);
          Atomics.add(gate, 1, 1);
          while (Atomics.load(gate, 0) === 0) Atomics.wait(gate, 0, 0, 1000);
          Atomics.sub(gate, 1, 1);
          out.set(n.content!.subarray(offset, offset + len));
          return len;
        }
        case "mirror": {
          Atomics.add(stats, Stat.MIRROR_READS, 1);
          let fd = mirrorFds.get(ino);
          if (fd === undefined) mirrorFds.set(ino, (fd = openSync(n.path!, "r")));
          return readSync(fd, out, 0, size, offset);
        }
        default:
          out.set(n.content!.subarray(offset, offset + len));
          return len;
      }
    },
    statfs() {
      return { blocks: 1000, bfree: 0, bavail: 0, files: nodes.size, ffree: 0, bsize: 4096, namelen: 255, frsize: 4096 };
    },
  };
}
