/** What this machine allows, for `test.skipIf(...)` conditions: each skip names its reason in the test title. */
import { release } from "node:os";

export const isRoot = process.getuid?.() === 0;

export function hasProgram(name: string): boolean {
  return Bun.which(name) !== null;
}

/** Is the running kernel at least `major.minor` (from uname's release, e.g. "6.18.44-…")? */
export function kernelAtLeast(major: number, minor: number): boolean {
  const [maj = 0, min = 0] = release().split(/[.-]/).map(Number);
  return maj > major || (maj === major && min >= minor);
}

/** FUSE passthrough (kernel ≥ 6.9) is offered to root's mounts. */
export const hasFusePassthrough = isRoot && kernelAtLeast(6, 9);
