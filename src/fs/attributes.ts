import { S_IFDIR, S_IFREG, type Attr, type Entry } from "../fuse/filesystem.ts";
import type { NodeRow } from "../db/nodeReader.ts";
import { NodeKind } from "../db/treeStore.ts";

/** Read-only to everybody: musicfs never changes a file. */
export const FILE_MODE = S_IFREG | 0o444;
export const DIR_MODE = S_IFDIR | 0o555;

export interface Owner {
  uid: number;
  gid: number;
}

export function nodeAttr(n: NodeRow, owner: Owner): Attr {
  const isDir = n.kind === NodeKind.Dir;
  return {
    ino: n.ino,
    size: isDir ? 0 : n.size,
    mode: isDir ? DIR_MODE : FILE_MODE,
    nlink: isDir ? 2 : 1,
    mtimeMs: n.mtimeMs,
    uid: owner.uid,
    gid: owner.gid,
    blksize: 4096,
  };
}

export function dirAttr(ino: number, mtimeMs: number, owner: Owner): Attr {
  return { ino, size: 0, mode: DIR_MODE, nlink: 2, mtimeMs, uid: owner.uid, gid: owner.gid, blksize: 4096 };
}

export function entryOf(attr: Attr, ttlMs: number): Entry {
  return { attr, entryTtlMs: ttlMs, attrTtlMs: ttlMs };
}

/** A cached "no such name" answer (LOOKUP reply with inode 0). */
export function negativeEntry(ttlMs: number): Entry {
  return { attr: { ino: 0, size: 0, mode: 0, nlink: 0, mtimeMs: 0 }, entryTtlMs: ttlMs, attrTtlMs: 0 };
}
