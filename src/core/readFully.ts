/**
 * Reading a byte range completely: pread may return fewer bytes than asked (signals, pipes, network and FUSE
 * filesystems do), so every caller that needs "this range, short only at end of file" loops — here, once.
 */
import { readSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";

/** Fills `into` from `position` of `fd` with readSync; returns the bytes read (fewer than asked only at EOF). */
export function readFullySync(fd: number, into: Uint8Array, position: number): number {
  let got = 0;
  while (got < into.length) {
    const n = readSync(fd, into, got, into.length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/** The same for an async file handle (main-thread origin reads). */
export async function readFully(handle: FileHandle, into: Uint8Array, position: number): Promise<number> {
  let got = 0;
  while (got < into.length) {
    const { bytesRead } = await handle.read(into, got, into.length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}
