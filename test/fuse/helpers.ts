/**
 * Helpers for the real-mount tests. The FUSE server always runs in a child process (memfsServer.ts) and the mount is
 * only ever touched by other child processes or by async I/O, so the test runner can never deadlock on its own
 * mount. Everything started here is remembered and torn down by `cleanupAll()` (afterEach), failure or not.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { tempDir, trackMountpoint, trackProcess } from "../support/cleanup.ts";

export { cleanupAll, tempDir, trackMountpoint } from "../support/cleanup.ts";
export { run, type RunResult } from "../support/process.ts";

export const SERVER = new URL("./memfsServer.ts", import.meta.url).pathname;

/** A line-oriented view of a child's stdout. */
class Lines {
  private buffered: string[] = [];
  private waiters: { prefix: string; resolve: (l: string) => void }[] = [];
  readonly all: string[] = [];
  ended = false;

  constructor(stream: ReadableStream<Uint8Array>) {
    void this.pump(stream);
  }

  private async pump(stream: ReadableStream<Uint8Array>) {
    let rest = "";
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      rest += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = rest.indexOf("\n")) >= 0) {
        this.push(rest.slice(0, nl));
        rest = rest.slice(nl + 1);
      }
    }
    if (rest) this.push(rest);
    this.ended = true;
    for (const w of this.waiters.splice(0)) w.resolve("");
  }

  private push(line: string) {
    this.all.push(line);
    const i = this.waiters.findIndex((w) => line.startsWith(w.prefix));
    if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(line);
    else this.buffered.push(line);
  }

  /** The next line starting with one of `prefixes` ("" when the stream ended first or on timeout). */
  next(prefixes: string[], timeoutMs = 20_000): Promise<string> {
    const i = this.buffered.findIndex((l) => prefixes.some((p) => l.startsWith(p)));
    if (i >= 0) return Promise.resolve(this.buffered.splice(i, 1)[0]!);
    if (this.ended) return Promise.resolve("");
    return new Promise((resolve) => {
      const entries = prefixes.map((prefix) => ({ prefix, resolve: (l: string) => done(l) }));
      const timer = setTimeout(() => done(""), timeoutMs);
      const done = (l: string) => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => !entries.includes(w as (typeof entries)[number]));
        resolve(l);
      };
      this.waiters.push(...entries);
    });
  }
}

export interface Server {
  proc: Bun.Subprocess<"pipe", "pipe", "pipe">;
  lines: Lines;
  /** The READY line's JSON (negotiated protocol), or undefined when the server failed. */
  ready?: { minor: number; passthrough: boolean; zeroMessageOpendir: boolean; mountpoint: string };
  /** The FAILED line, when the server refused to start. */
  failure?: string;
  send(command: string): void;
  stderr(): Promise<string>;
}

/** A fresh empty mountpoint, unmounted by cleanupAll(). */
export function mountpoint(): string {
  const dir = join(tempDir("musicfs-fuse-"), "mnt");
  mkdirSync(dir);
  trackMountpoint(dir);
  return dir;
}

/** Start a server process (default: bun memfsServer.ts MNT ARGS…) and wait for READY or FAILED. */
export async function startServer(mnt: string, args: string[] = [], opts: { cmd?: string[]; env?: Record<string, string>; cwd?: string } = {}): Promise<Server> {
  const proc = Bun.spawn(opts.cmd ?? ["bun", SERVER, mnt, ...args], {
    stdin: "pipe", stdout: "pipe", stderr: "pipe", env: opts.env ?? process.env, cwd: opts.cwd,
  });
  const lines = new Lines(proc.stdout);
  let stderrText: Promise<string> | undefined;
  const server: Server = {
    proc,
    lines,
    send(command) {
      proc.stdin.write(command + "\n");
      proc.stdin.flush();
    },
    stderr: () => (stderrText ??= new Response(proc.stderr).text()),
  };
  trackProcess(proc);
  trackMountpoint(mnt);
  const first = await lines.next(["READY ", "FAILED "], 30_000);
  if (first.startsWith("READY ")) server.ready = JSON.parse(first.slice(6));
  else server.failure = first.slice(7) || `no READY line (stderr: ${await Promise.race([server.stderr(), Bun.sleep(500).then(() => "")])})`;
  return server;
}

/** Is a musicfs mounted at `path` (per /proc/self/mountinfo)? */
export async function isMounted(path: string): Promise<boolean> {
  const text = await Bun.file("/proc/self/mountinfo").text();
  return text.split("\n").some((l) => l.split(" ")[4] === path && l.includes(" - fuse.musicfs "));
}
