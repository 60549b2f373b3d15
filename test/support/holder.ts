/**
 * A "player" for tests: a shell that opens a file on fd 3 and keeps it open, and says so on stdout once the open
 * succeeded — so a test waits for the open itself instead of sleeping and hoping the shell got that far.
 */
import { trackProcess } from "./cleanup.ts";

export interface Holder {
  proc: Bun.Subprocess<"pipe", "pipe", "pipe">;
  /** Reads the rest of the file through the held descriptor (after the test changed things) and returns it. */
  readRest(): Promise<Uint8Array>;
  /** Closes the file: kills the holder and waits for it. */
  stop(): Promise<void>;
}

/**
 * Opens `file` (and first reads it to the end through the descriptor when `readFirst`), then holds it. Resolves once
 * the holder said "held"; rejects with its stderr when the open failed.
 */
export async function holdOpen(file: string, opts: { readFirst?: boolean } = {}): Promise<Holder> {
  // fd 3 stays open until the holder is killed; `read go` waits for readRest() before reading on from fd 3.
  const script = `exec 3<"$0" && ${opts.readFirst ? "cat <&3 >/dev/null && " : ""}echo held && read go && exec cat <&3`;
  const proc = Bun.spawn(["sh", "-c", script, file], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  trackProcess(proc);
  const reader = proc.stdout.getReader();
  let pending: Uint8Array = new Uint8Array(0);
  const HELD = new TextEncoder().encode("held\n");
  while (pending.length < HELD.length) {
    const { value, done } = await reader.read();
    if (done) break;
    pending = concat(pending, value);
  }
  if (!Buffer.from(pending.subarray(0, HELD.length)).equals(Buffer.from(HELD))) {
    proc.kill("SIGKILL");
    throw new Error(`could not hold ${file} open: ${await new Response(proc.stderr).text()}`);
  }
  const afterHeld = pending.subarray(HELD.length);
  return {
    proc,
    async readRest() {
      proc.stdin.write("go\n");
      await proc.stdin.end();
      let out: Uint8Array = afterHeld;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        out = concat(out, value);
      }
      const code = await proc.exited;
      if (code !== 0) throw new Error(`reading the held ${file} failed (${code}): ${await new Response(proc.stderr).text()}`);
      return out;
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      await proc.exited;
    },
  };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
