/**
 * Runs `musicfs mount` as a child process and tears every mount down again, even when a test fails.
 * The server is another process, so the test may read the mount synchronously; programs are still started with
 * Bun.spawn (async) so a hung mount fails a test by timeout instead of freezing the runner.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const REPO = resolve(import.meta.dir, "../..");
export const CLI = join(REPO, "src/cli/main.ts");
export const CORPUS = resolve(REPO, "../shared/corpus");

export interface Running {
  mountPoint: string;
  proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  /** Everything the process printed so far (stdout and stderr interleaved by arrival). */
  output(): string;
  /** Waits until the output matches. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Sends a signal and waits for the exit code. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number>;
}

const running = new Set<Running>();
const tempDirs: string[] = [];

export function tempDir(prefix = "musicfs-e2e-"): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}

/** Runs a program to completion (async), returning its exit code and output. */
export async function run(cmd: string[], opts: { timeoutMs?: number; env?: Record<string, string>; cwd?: string } = {}) {
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe", env: { ...process.env, ...opts.env }, cwd: opts.cwd });
  const timer = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

async function pump(stream: ReadableStream<Uint8Array>, sink: (s: string) => void) {
  const decoder = new TextDecoder();
  for await (const chunk of stream) sink(decoder.decode(chunk, { stream: true }));
}

/**
 * Starts `musicfs mount MNT ARGS…` (or another subcommand that mounts) and resolves once it printed its ready line.
 * Rejects with the output if it exits first or is not ready within `readyTimeoutMs`.
 */
export async function startMount(
  mountPoint: string,
  args: string[],
  opts: { readyTimeoutMs?: number; env?: Record<string, string>; command?: string[]; cwd?: string; waitReady?: boolean } = {},
): Promise<Running> {
  const cmd = opts.command ?? ["bun", CLI, "mount", mountPoint, ...args];
  const proc = Bun.spawn(cmd, {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    cwd: opts.cwd,
    env: { ...process.env, MUSICFS_LOG_LEVEL: "info", NO_COLOR: "1", ...opts.env },
  });
  let out = "";
  let notify: () => void = () => {};
  const append = (s: string) => {
    out += s;
    notify();
  };
  void pump(proc.stdout, append);
  void pump(proc.stderr, append);
  const r: Running = {
    mountPoint,
    proc,
    output: () => out,
    async waitFor(pattern: RegExp, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(out)) {
        if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`musicfs exited (${proc.exitCode}) before printing ${pattern}:\n${out}`);
        if (Date.now() > deadline) throw new Error(`musicfs did not print ${pattern} in time:\n${out}`);
        await Bun.sleep(50);
      }
    },
    async stop(signal = "SIGTERM", timeoutMs = 15_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode ?? 128;
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
      const code = await proc.exited;
      clearTimeout(timer);
      return code;
    },
  };
  running.add(r);
  if (opts.waitReady === false) return r;
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 90_000);
  while (!/mounted at/.test(out)) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`musicfs exited (${proc.exitCode}) before it was ready:\n${out}`);
    if (Date.now() > deadline) throw new Error(`musicfs was not ready in time:\n${out}`);
    await new Promise<void>((res) => {
      notify = res;
      setTimeout(res, 100);
    });
  }
  return r;
}

export async function lazyUnmount(mountPoint: string): Promise<void> {
  await run(["umount", "-l", mountPoint], { timeoutMs: 10_000 }).catch(() => {});
}

/** afterEach/afterAll: kill every server we started and clear its mount, then remove temp dirs. */
export async function cleanupAll(): Promise<void> {
  for (const r of running) {
    if (r.proc.exitCode === null && r.proc.signalCode === null) {
      r.proc.kill("SIGKILL");
      await r.proc.exited;
    }
    await lazyUnmount(r.mountPoint);
    running.delete(r);
  }
  for (const d of tempDirs.splice(0)) {
    await lazyUnmount(d); // in case a mountpoint lived inside
    rmSync(d, { recursive: true, force: true });
  }
}

/** Lists every regular file below a directory (relative paths), with find(1). */
export async function findFiles(dir: string): Promise<string[]> {
  const r = await run(["find", dir, "-type", "f", "-printf", "%P\\n"], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`find failed: ${r.stderr}`);
  return r.stdout.split("\n").filter(Boolean).sort();
}
