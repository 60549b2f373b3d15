/**
 * `musicfs unmount` leaves a note before it detaches a mount, so that the serving musicfs can tell "the user asked
 * for this" from a foreign `umount` (both look the same to it: /dev/fuse answers ENODEV) and log it as such. The
 * note is a file named after the mountpoint in a private runtime dir ($XDG_RUNTIME_DIR, else the temp dir), read
 * and removed by the daemon when its mount ends; one older than a minute is stale (an unmount that failed).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";

const FRESH_MS = 60_000;

function noteDir(env = process.env): string {
  const base = env.XDG_RUNTIME_DIR && isAbsolute(env.XDG_RUNTIME_DIR) ? env.XDG_RUNTIME_DIR : tmpdir();
  return join(base, `musicfs-${process.getuid?.() ?? 0}`, "unmount-requests");
}

function notePath(canonicalMountpoint: string): string {
  return join(noteDir(), Bun.hash.wyhash(canonicalMountpoint).toString(16));
}

/** Records that an unmount of this mountpoint was requested now (best effort: a failure only costs the log wording). */
export function noteUnmountRequest(canonicalMountpoint: string): void {
  try {
    mkdirSync(noteDir(), { recursive: true, mode: 0o700 });
    writeFileSync(notePath(canonicalMountpoint), JSON.stringify({ mountPoint: canonicalMountpoint, at: Date.now(), pid: process.pid }), { mode: 0o600 });
  } catch {
    // The unmount goes on; the daemon then calls it an unmount from outside.
  }
}

/** Forgets a note (the unmount failed). */
export function dropUnmountRequest(canonicalMountpoint: string): void {
  rmSync(notePath(canonicalMountpoint), { force: true });
}

/** Whether `musicfs unmount` asked for this mountpoint's unmount within the last minute; the note is consumed. */
export function takeUnmountRequest(canonicalMountpoint: string): boolean {
  const path = notePath(canonicalMountpoint);
  try {
    const note = JSON.parse(readFileSync(path, "utf8")) as { mountPoint?: string; at?: number };
    rmSync(path, { force: true });
    return note.mountPoint === canonicalMountpoint && typeof note.at === "number" && Date.now() - note.at < FRESH_MS;
  } catch {
    return false;
  }
}
