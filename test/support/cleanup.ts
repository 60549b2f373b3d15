/**
 * Everything a test starts is registered here and torn down by `cleanupAll()` (afterEach/afterAll), failure or not:
 * processes are killed by PID, mountpoints lazily unmounted, temp dirs removed — in that order, so a dir that held a
 * mount is removed only after the mount is gone.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "./process.ts";

interface Killable {
  exitCode: number | null;
  signalCode: unknown;
  kill(signal?: number | NodeJS.Signals): void;
  exited: Promise<number>;
}

const processes = new Set<Killable>();
const mountpoints = new Set<string>();
const tempDirs: string[] = [];

/** A fresh temp dir, removed by cleanupAll(). */
export function tempDir(prefix = "musicfs-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

const processDirs: string[] = [];
const atProcessEnd: (() => Promise<void> | void)[] = [];
const PRELOADED = Symbol.for("musicfs.test.afterAllFiles");

/**
 * Is test/support/afterAllFiles.ts preloaded (bunfig.toml), so that what is registered with `atEndOfProcess` really
 * runs after the last test file? Without it (bun test run from elsewhere), things must not be shared across files.
 */
export function processEndHookActive(): boolean {
  return (globalThis as Record<symbol, unknown>)[PRELOADED] === true;
}

/** Marks the end-of-process hook as installed (afterAllFiles.ts only). */
export function markProcessEndHook(): void {
  (globalThis as Record<symbol, unknown>)[PRELOADED] = true;
}

/** Runs `fn` once after the last test file (only when processEndHookActive()). */
export function atEndOfProcess(fn: () => Promise<void> | void): void {
  atProcessEnd.push(fn);
}

/**
 * A fresh temp dir for something built once and shared by every test file of this process (e.g. the scanned sample
 * library): cleanupAll() leaves it alone; it is removed when all test files have run (test/support/afterAllFiles.ts,
 * preloaded by bunfig.toml).
 */
export function processTempDir(prefix = "musicfs-shared-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  processDirs.push(dir);
  return dir;
}

/** After the last test file: what was registered with atEndOfProcess (shared daemons), then the shared temp dirs. */
export async function endOfProcess(): Promise<void> {
  for (const fn of atProcessEnd.splice(0)) await fn();
  removeProcessTempDirs();
}

export function removeProcessTempDirs(): void {
  for (const d of processDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export function trackProcess(proc: Killable): void {
  processes.add(proc);
}

export function untrackProcess(proc: Killable): void {
  processes.delete(proc);
}

export function trackMountpoint(path: string): void {
  mountpoints.add(path);
}

/** A mount point as mountinfo writes it: space, tab, newline and backslash as octal escapes (\040 …). */
const mountinfoPath = (path: string) => path.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, "0")}`);

/** Is anything (FUSE or not) mounted exactly at `path`? */
export async function isMountedAt(path: string): Promise<boolean> {
  const text = await Bun.file("/proc/self/mountinfo").text();
  const escaped = mountinfoPath(path);
  return text.split("\n").some((l) => l.split(" ")[4] === escaped);
}

export async function lazyUnmount(path: string): Promise<void> {
  await run(["umount", "-l", path], { timeoutMs: 10_000 }).catch(() => {});
}

export async function cleanupAll(): Promise<void> {
  for (const p of [...processes]) {
    if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
    await p.exited;
    processes.delete(p);
  }
  for (const m of [...mountpoints]) {
    for (let i = 0; i < 4 && (await isMountedAt(m)); i++) await lazyUnmount(m);
    mountpoints.delete(m);
  }
  for (const d of tempDirs.splice(0)) {
    if (await isMountedAt(d)) await lazyUnmount(d); // a tmpfs or mount made directly on the dir
    try {
      rmSync(d, { recursive: true, force: true });
    } catch {
      // a mount we could not remove is reported by the test that made it
    }
  }
}
