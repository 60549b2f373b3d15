/**
 * Runs `musicfs mount` as a child process and tears every mount down again, even when a test fails.
 * The server is another process, so the test may read the mount synchronously; programs are still started with
 * Bun.spawn (async) so a hung mount fails a test by timeout instead of freezing the runner.
 */
import { CLI } from "../support/paths.ts";
import { trackMountpoint, trackProcess } from "../support/cleanup.ts";

export { cleanupAll, lazyUnmount, tempDir } from "../support/cleanup.ts";
export { CLI, CORPUS, REPO } from "../support/paths.ts";
export { findFiles, findTracks, isCoverFile, run } from "../support/process.ts";

/**
 * For a mount with --watch: a change goes out 100 ms after the origin is quiet, not 1 s (MUSICFS_WATCH_QUIET_MS, not
 * a user setting; the default is unchanged). The tests wait for each change to show; this is how long they sit.
 */
export const QUICK_WATCH_ENV = { MUSICFS_WATCH_QUIET_MS: "100" };

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
  trackProcess(proc);
  trackMountpoint(mountPoint);
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
