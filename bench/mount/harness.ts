/**
 * Shared pieces of the mount-level benches (bench/mount, bench/sync, bench/cache, bench/searchdir): run musicfs from
 * source as a CHILD process, watch its log, read its memory, and always leave no mount behind.
 *
 * The harness is a different process from the one serving the mount, so it may use synchronous fs calls on the mount
 * (a process must never do that to a mount it serves itself: it would deadlock its own event loop).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from "node:fs";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";

export const REPO = resolve(import.meta.dir, "../..");
export const CLI = join(REPO, "src/cli/main.ts");
export const BENCH_ROOT = process.env.MUSICFS_BENCH_DIR ?? "/var/tmp/mfsbench";

// ---------------------------------------------------------------- numbers

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

export const load1 = () => loadavg()[0]!.toFixed(2);
export const int = (x: number) => Math.round(x).toLocaleString("en-US");
/** Milliseconds, with µs precision when small (fast kernel-cached operations). */
export function ms(x: number): string {
  if (!Number.isFinite(x)) return "n/a";
  if (x < 1) return `${Math.round(x * 1000)} µs`;
  if (x < 100) return `${x.toFixed(1)} ms`;
  return `${Math.round(x)} ms`;
}
export const mb = (kib: number) => `${Math.round(kib / 1024)} MB`;

/** Elapsed ms of a synchronous call. */
export function timeSync(fn: () => void): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

// ---------------------------------------------------------------- arguments

export function flag(name: string): boolean {
  return process.argv.includes(`--${name}`);
}
export function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}
export function numberList(name: string, fallback: string): number[] {
  return option(name, fallback).split(",").map((s) => Number(s.replaceAll("_", "")));
}

// ---------------------------------------------------------------- libraries

export function sizeLabel(files: number): string {
  return files >= 1_000_000 && files % 1_000_000 === 0 ? `${files / 1_000_000}m` : files >= 1000 ? `${files / 1000}k` : String(files);
}

/** The synthetic tiny library of `files` files (seed 1) under BENCH_ROOT, generated when missing, reused otherwise. */
export async function ensureLibrary(files: number): Promise<string> {
  const dir = join(BENCH_ROOT, `lib${sizeLabel(files)}`);
  if (existsSync(join(dir, "manifest.jsonl")) && statSync(join(dir, "manifest.jsonl")).size > 0) return dir;
  console.error(`generating ${int(files)} files into ${dir} …`);
  const p = Bun.spawn(["bun", "run", join(REPO, "bench/generate.ts"), "--out", dir, "--files", String(files), "--tiny", "--seed", "1"], {
    stdout: "inherit",
    stderr: "inherit",
  });
  if ((await p.exited) !== 0) throw new Error(`generating ${dir} failed`);
  return dir;
}

export function cacheDirFor(files: number, suffix = ""): string {
  return join(BENCH_ROOT, `c${sizeLabel(files)}${suffix}`);
}

export function freshMountpoint(name: string): string {
  const dir = join(BENCH_ROOT, "mnt", `${name}-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

// ---------------------------------------------------------------- the musicfs child

export interface MountOptions {
  mnt: string;
  origin: string;
  cacheDir: string;
  extraArgs?: string[];
}

/** A `musicfs mount` child. Its stdout and stderr lines are collected, and waited on by pattern. */
export class MusicFsChild {
  readonly proc: ReturnType<typeof Bun.spawn>;
  readonly startedAt = performance.now();
  readonly lines: { at: number; text: string }[] = [];
  private waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  exitedAt: number | null = null;

  constructor(readonly opts: MountOptions) {
    this.proc = Bun.spawn(
      ["bun", CLI, "mount", opts.mnt, "--origin", opts.origin, "--cache-dir", opts.cacheDir, ...(opts.extraArgs ?? [])],
      { stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" } },
    );
    void this.proc.exited.then(() => {
      this.exitedAt = performance.now();
    });
    this.pump(this.proc.stdout as ReadableStream<Uint8Array>);
    this.pump(this.proc.stderr as ReadableStream<Uint8Array>);
  }

  get pid(): number {
    return this.proc.pid;
  }

  private async pump(stream: ReadableStream<Uint8Array>) {
    const decoder = new TextDecoder();
    let rest = "";
    for await (const chunk of stream) {
      rest += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = rest.indexOf("\n")) >= 0) {
        this.onLine(rest.slice(0, nl));
        rest = rest.slice(nl + 1);
      }
    }
    if (rest) this.onLine(rest);
  }

  private onLine(text: string) {
    const line = { at: performance.now(), text };
    this.lines.push(line);
    if (process.env.MUSICFS_BENCH_VERBOSE) console.error(`  [musicfs ${this.pid}] ${text}`);
    this.waiters = this.waiters.filter((w) => {
      const m = text.match(w.re);
      if (m) w.resolve(m);
      return !m;
    });
  }

  /** The first log line matching `re` (already seen or to come), with the ms since spawn when it arrived. */
  async waitFor(re: RegExp, timeoutMs: number): Promise<{ match: RegExpMatchArray; sinceSpawnMs: number }> {
    const seen = this.lines.find((l) => re.test(l.text));
    if (seen) return { match: seen.text.match(re)!, sinceSpawnMs: seen.at - this.startedAt };
    let timer: Timer | undefined;
    const match = await Promise.race([
      new Promise<RegExpMatchArray>((resolve) => this.waiters.push({ re, resolve })),
      this.proc.exited.then((code) => {
        throw new Error(`musicfs exited (${code}) before ${re}; last lines:\n${this.lines.slice(-8).map((l) => l.text).join("\n")}`);
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timeout waiting for ${re} after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
    return { match, sinceSpawnMs: performance.now() - this.startedAt };
  }

  /** SIGTERM, then the ms until the process exited (ordered shutdown); SIGKILL + lazy unmount if it hangs. */
  async stop(timeoutMs = 60_000): Promise<{ exitMs: number; code: number | null }> {
    if (this.exitedAt !== null) return { exitMs: 0, code: this.proc.exitCode };
    const t = performance.now();
    this.proc.kill("SIGTERM");
    let timer: Timer | undefined;
    const code = await Promise.race([this.proc.exited, new Promise<null>((r) => (timer = setTimeout(() => r(null), timeoutMs)))]);
    clearTimeout(timer); // a pending timer would keep the bench alive for timeoutMs after its last stop
    const exitMs = performance.now() - t;
    if (code === null) {
      this.proc.kill("SIGKILL");
      await this.proc.exited;
    }
    lazyUnmount(this.opts.mnt);
    return { exitMs, code };
  }
}

/** Mounts and waits for the "mounted at" line. */
export async function mountAndWait(opts: MountOptions, timeoutMs = 3_600_000): Promise<{ child: MusicFsChild; readyMs: number }> {
  const child = new MusicFsChild(opts);
  try {
    const { sinceSpawnMs } = await child.waitFor(/mounted at/, timeoutMs);
    return { child, readyMs: sinceSpawnMs };
  } catch (e) {
    await child.stop();
    throw e;
  }
}

export function isMounted(mnt: string): boolean {
  return readFileSync("/proc/mounts", "utf8").split("\n").some((l) => l.split(" ")[1] === mnt);
}

/** `umount -l` if still mounted (after a crash or a kill): never leave a mount behind. */
export function lazyUnmount(mnt: string): void {
  if (isMounted(mnt)) Bun.spawnSync(["umount", "-l", mnt]);
}

/**
 * Polls readdirSync(mnt) until it lists something: the time a user waits for the first `ls`. Before the mount exists
 * the (empty) mountpoint directory answers [], so "non-empty" means "served by musicfs". Also notes when the mount
 * appeared in /proc/mounts, which separates start-up from the first listing of the root.
 */
export function pollFirstListing(mnt: string, since: number, timeoutMs = 120_000): { firstLsMs: number; mountedMs: number } {
  let mountedMs = NaN;
  for (;;) {
    if (Number.isNaN(mountedMs) && isMounted(mnt)) mountedMs = performance.now() - since;
    try {
      if (!Number.isNaN(mountedMs) && readdirSync(mnt).length > 0) return { firstLsMs: performance.now() - since, mountedMs };
    } catch {
      // ENOTCONN while a stale mount is being cleared: keep polling
    }
    if (performance.now() - since > timeoutMs) throw new Error(`no listing of ${mnt} within ${timeoutMs} ms`);
    Bun.sleepSync(1);
  }
}

/** VmRSS (whole process) and the Anonymous line of smaps_rollup (heap, not file-backed pages), in KiB. */
export function memoryOf(pid: number): { rssKiB: number; anonKiB: number } {
  const field = (text: string, name: string) => Number(text.match(new RegExp(`^${name}:\\s+(\\d+) kB`, "m"))?.[1] ?? NaN);
  return {
    rssKiB: field(readFileSync(`/proc/${pid}/status`, "utf8"), "VmRSS"),
    anonKiB: field(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"), "Anonymous"),
  };
}

/** "Delta sync complete: a added, m modified, r removed, u unchanged in X s." */
export const DELTA_SYNC_LINE = /Delta sync complete: (\d+) added, (\d+) modified, (\d+) removed, (\d+) unchanged in ([\d.]+) s/;
export function parseDeltaSync(m: RegExpMatchArray) {
  return { added: +m[1]!, modified: +m[2]!, removed: +m[3]!, unchanged: +m[4]!, seconds: +m[5]! };
}
/** "Scan complete: … in X s (N files/s); M placed in the tree in T ms." */
export const SCAN_LINE = /Scan complete: (\d+) files parsed.* in ([\d.]+) s \((\d+) files\/s\); (\d+) placed in the tree in (\d+) ms/;

/** Runs `cmd` in a shell and returns stdout, throwing on failure. */
export function sh(cmd: string): string {
  const r = Bun.spawnSync(["sh", "-c", cmd], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd} failed (${r.exitCode}): ${r.stderr.toString()}`);
  return r.stdout.toString() + r.stderr.toString();
}

/** Checks no fuse mount of ours remains. */
export function leftoverMounts(): string[] {
  return readFileSync("/proc/mounts", "utf8").split("\n").filter((l) => l.includes("fuse") && l.includes(BENCH_ROOT));
}
