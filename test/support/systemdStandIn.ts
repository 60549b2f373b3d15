/**
 * A minimal stand-in for a systemd user manager, for machines where none can run (containers: PID 1 is not systemd;
 * `systemd --user` exits at once). It does, for one Type=notify service, what systemd does and nothing more:
 *   - reads [Service] from the unit text, expanding %h and %%, splitting command lines with systemd's quoting;
 *   - starts ExecStart with NOTIFY_SOCKET set to a datagram socket of its own, and records every notification with
 *     the sender's PID (SO_PASSCRED), so that NotifyAccess=main can be checked: READY=1 must come from the main process;
 *   - stops with KillSignal and waits for the exit; runs ExecStopPost after the main process is gone (a leading "-"
 *     ignores its failure, like systemd).
 * The socket is served by a small python3 program (Bun has no Unix datagram sockets). What is tested is musicfs and
 * the unit file; only the manager is stood in for.
 */
import { join } from "node:path";
import { trackProcess } from "./cleanup.ts";
import { eventually } from "./eventually.ts";
import { run } from "./process.ts";

export interface ServiceSection {
  type: string;
  notifyAccess: string;
  execStart: string[];
  execStopPost: { ignoreFailure: boolean; argv: string[] }[];
  killSignal: NodeJS.Signals;
}

/** systemd's command-line splitting: words separated by spaces, "double quotes" with backslash escapes. */
export function splitCommandLine(line: string): string[] {
  const words: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m; (m = re.exec(line)); ) words.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : m[2]!);
  return words;
}

export function parseService(unit: string, home: string): ServiceSection {
  const section = /^\[Service\]\n([\s\S]*?)(?=^\[|$(?![\s\S]))/m.exec(unit)?.[1] ?? "";
  const values = new Map<string, string[]>();
  for (const line of section.split("\n")) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) values.set(m[1]!, [...(values.get(m[1]!) ?? []), m[2]!]);
  }
  const expand = (s: string) => s.replace(/%%|%h/g, (x) => (x === "%h" ? home : "%"));
  const one = (k: string) => values.get(k)?.at(-1);
  return {
    type: one("Type") ?? "simple",
    notifyAccess: one("NotifyAccess") ?? "none",
    execStart: splitCommandLine(expand(one("ExecStart") ?? "")),
    execStopPost: (values.get("ExecStopPost") ?? []).map((l) => ({ ignoreFailure: l.startsWith("-"), argv: splitCommandLine(expand(l.replace(/^-/, ""))) })),
    killSignal: (one("KillSignal") ?? "SIGTERM") as NodeJS.Signals,
  };
}

const RECEIVER = `
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(sys.argv[1])
print("LISTENING", flush=True)
while True:
    data, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
    pid = 0
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("iII", payload[:12])[0]
    for msg in data.decode().split("\\n"):
        if msg:
            print(pid, msg, flush=True)
`;

export interface Notification {
  pid: number;
  message: string;
}

export interface RunningService {
  main: Bun.Subprocess;
  notifications(): Notification[];
  output(): string;
  /** Resolves once READY=1 arrived (Type=notify); rejects if the main process exits first. */
  ready(): Promise<void>;
  /** `systemctl --user stop`: KillSignal, wait for the exit, then ExecStopPost. */
  stop(): Promise<{ exitCode: number; stopPost: { code: number; output: string }[] }>;
  /** The main process dies hard (kill -9), as in a crash; then systemd runs ExecStopPost. */
  crash(): Promise<{ stopPost: { code: number; output: string }[] }>;
}

let started = 0;

export async function startService(service: ServiceSection, dir: string, env: Record<string, string>): Promise<RunningService> {
  const socketPath = join(dir, `notify-${++started}.sock`);
  const receiver = Bun.spawn(["python3", "-c", RECEIVER, socketPath], { stdout: "pipe", stderr: "inherit" });
  trackProcess(receiver);
  let received = "";
  void (async () => {
    for await (const chunk of receiver.stdout) received += new TextDecoder().decode(chunk);
  })();
  await eventually(() => received, (r) => r.includes("LISTENING"));

  const main = Bun.spawn(service.execStart, { env: { ...env, NOTIFY_SOCKET: socketPath }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  trackProcess(main);
  let out = "";
  const drain = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s) out += new TextDecoder().decode(chunk);
  };
  const drained = Promise.all([drain(main.stdout), drain(main.stderr)]);

  const notifications = () =>
    received
      .split("\n")
      .slice(1)
      .filter(Boolean)
      .map((l) => ({ pid: Number(l.split(" ")[0]), message: l.slice(l.indexOf(" ") + 1) }));
  const stopPost = async () => {
    const results = [];
    for (const p of service.execStopPost) {
      const r = await run(p.argv, { env });
      results.push({ code: p.ignoreFailure ? 0 : r.code, output: r.stdout + r.stderr });
    }
    receiver.kill("SIGKILL");
    return results;
  };
  return {
    main,
    notifications,
    output: () => out,
    async ready() {
      await eventually(
        () => ({ ready: notifications().some((n) => n.message === "READY=1"), exited: main.exitCode !== null }),
        (s) => s.ready || s.exited,
        120_000,
      );
      if (!notifications().some((n) => n.message === "READY=1")) throw new Error(`the service exited (${main.exitCode}) before READY=1:\n${out}`);
    },
    async stop() {
      main.kill(service.killSignal);
      const exitCode = await main.exited;
      await drained;
      return { exitCode, stopPost: await stopPost() };
    },
    async crash() {
      main.kill("SIGKILL");
      await main.exited;
      await drained;
      return { stopPost: await stopPost() };
    },
  };
}
