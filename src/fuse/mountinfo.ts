/**
 * /proc/self/mountinfo, the only trustworthy way to know whether something is mounted at a path: `stat` on a dead
 * FUSE mount can still succeed from cached attributes, and on a live one it may block.
 */
import { readFileSync } from "node:fs";

export interface MountInfoEntry {
  mountId: number;
  /** "major:minor" of the superblock; for FUSE the minor is the connection number in /sys/fs/fuse/connections. */
  device: string;
  mountpoint: string;
  fstype: string;
  source: string;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo octal. */
export function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parse mountinfo text (proc(5)): `id parent maj:min root mountpoint opts [optional...] - fstype source superopts`. */
export function parseMountInfo(text: string): MountInfoEntry[] {
  const out: MountInfoEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    const fields = line.split(" ");
    const dash = fields.indexOf("-", 6);
    if (dash < 0 || fields.length < dash + 3) continue;
    out.push({
      mountId: Number(fields[0]),
      device: fields[2]!,
      mountpoint: unescapeMountPath(fields[4]!),
      fstype: fields[dash + 1]!,
      source: unescapeMountPath(fields[dash + 2]!),
    });
  }
  return out;
}

export function readMountInfo(): MountInfoEntry[] {
  return parseMountInfo(readFileSync("/proc/self/mountinfo", "utf8"));
}

/** Every mount stacked at exactly `mountpoint` (an absolute, symlink-free path), oldest first. */
export function mountsAt(mountpoint: string, entries = readMountInfo()): MountInfoEntry[] {
  return entries.filter((e) => e.mountpoint === mountpoint);
}
