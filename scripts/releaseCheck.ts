/**
 * The release check: a binary is called built only after it ran. Unpacks one release archive and runs its
 * executable (the arm64 one under qemu-user) through what a user does first:
 *   1. `musicfs --version` names the release's version and commit;
 *   2. `musicfs demo MNT` mounts the sample library, ffprobe reads one track through the mount, SIGINT (Ctrl-C)
 *      gives an ordered shutdown: exit 0 and the mount gone;
 *   3. `musicfs scan` of the sample library into a fresh cache dir, exit 0 with its summary.
 * Used by `bun run release` (every target) and by test/release/releaseCheck.test.ts (x64, in CI). Every process it
 * starts and every mount it makes is handed to `track` so that a caller can stop them by PID whatever happens.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface CheckOptions {
  /** A command the executable runs under, e.g. ["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu"]. */
  runner?: string[];
  /** Expected `--version` line. */
  versionLine: string;
  /** Told about every process started and every mountpoint used, before waiting on them. */
  track?: { process?(p: Bun.Subprocess): void; mountpoint?(path: string): void };
  /** Where to unpack (default: a new temp dir, removed afterwards). */
  workDir?: string;
  /** How long the demo may take to be ready (emulated binaries are slow). */
  readyTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface CheckResult {
  /** Wall-clock ms of `musicfs --version` (process start to exit). */
  versionMs: number;
  /** Wall-clock ms from starting `musicfs demo` to its ready line. */
  demoReadyMs: number;
  /** What the ready line itself says ("ready in N ms": the daemon's own figure). */
  demoReadyOwnMs: number;
  /** ms from SIGINT to exit. */
  demoStopMs: number;
  scanMs: number;
  /** ffprobe's duration of the track read through the mount, in seconds. */
  probedSeconds: number;
}

async function runToEnd(cmd: string[], opts: { cwd?: string; track?: CheckOptions["track"]; timeoutMs?: number }) {
  const proc = Bun.spawn(cmd, { cwd: opts.cwd, stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
  opts.track?.process?.(proc);
  const timer = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

const isMounted = async (path: string) =>
  (await Bun.file("/proc/self/mountinfo").text()).split("\n").some((l) => l.split(" ")[4] === path);

/** Unpacks `archive` and checks its executable; throws with what went wrong and the program's output. */
export async function checkArchive(archive: string, o: CheckOptions): Promise<CheckResult> {
  const log = o.log ?? (() => {});
  const work = o.workDir ?? mkdtempSync(join(tmpdir(), "musicfs-release-check-"));
  try {
    const untar = await runToEnd(["tar", "-xzf", archive, "-C", work], { track: o.track });
    if (untar.code !== 0) throw new Error(`tar -xzf ${archive}: ${untar.stderr}`);
    const [top] = readdirSync(work);
    const exe = [...(o.runner ?? []), join(work, top!, "musicfs")];

    let t = performance.now();
    const version = await runToEnd([...exe, "--version"], { track: o.track });
    const versionMs = performance.now() - t;
    if (version.code !== 0 || version.stdout.trim() !== o.versionLine)
      throw new Error(`--version: exit ${version.code}, printed "${version.stdout.trim()}" (expected "${o.versionLine}")\n${version.stderr}`);
    log(`--version: ${version.stdout.trim()} (${versionMs.toFixed(0)} ms)`);

    const demo = await checkDemo(exe, work, o);
    log(`demo: ready after ${demo.demoReadyMs.toFixed(0)} ms (its own figure ${demo.demoReadyOwnMs} ms), ffprobe read ${demo.probedSeconds} s of audio, SIGINT → exit 0 after ${demo.demoStopMs.toFixed(0)} ms`);

    t = performance.now();
    const scan = await runToEnd([...exe, "scan", "--origin", join(work, "demo", "library"), "--cache-dir", join(work, "scan-cache")], {
      track: o.track,
      timeoutMs: 300_000,
    });
    const scanMs = performance.now() - t;
    if (scan.code !== 0 || !/\d+ files?/.test(scan.stderr + scan.stdout)) throw new Error(`scan: exit ${scan.code}\n${scan.stdout}${scan.stderr}`);
    log(`scan: exit 0 (${scanMs.toFixed(0)} ms)`);
    return { versionMs, ...demo, scanMs };
  } finally {
    if (!o.workDir) rmSync(work, { recursive: true, force: true });
  }
}

async function checkDemo(exe: string[], work: string, o: CheckOptions) {
  const mnt = join(work, "mnt");
  o.track?.mountpoint?.(mnt);
  const t0 = performance.now();
  const proc = Bun.spawn([...exe, "demo", mnt, "--dir", join(work, "demo")], {
    cwd: work,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, NO_COLOR: "1" },
  });
  o.track?.process?.(proc);
  let out = "";
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) out += decoder.decode(chunk, { stream: true });
  };
  const drained = Promise.all([collect(proc.stdout), collect(proc.stderr)]);
  try {
    const deadline = Date.now() + (o.readyTimeoutMs ?? 120_000);
    while (!/mounted at/.test(out)) {
      if (proc.exitCode !== null) throw new Error(`demo exited (${proc.exitCode}) before it was ready:\n${out}`);
      if (Date.now() > deadline) throw new Error(`demo not ready in time:\n${out}`);
      await Bun.sleep(20);
    }
    const demoReadyMs = performance.now() - t0;
    const demoReadyOwnMs = Number(/ready in (\d+) ms/.exec(out)?.[1] ?? NaN);
    const find = await runToEnd(["find", mnt, "-name", "*.flac", "-type", "f"], { track: o.track });
    const track = find.stdout.split("\n").filter(Boolean).sort()[0];
    if (!track) throw new Error(`demo: no FLAC file on the mount\n${find.stderr}\n${out}`);
    const probe = await runToEnd(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", track], { track: o.track });
    const probedSeconds = Number(probe.stdout.trim());
    if (probe.code !== 0 || !(probedSeconds > 0)) throw new Error(`demo: ffprobe ${track}: exit ${probe.code} ${probe.stdout}${probe.stderr}`);
    const t1 = performance.now();
    proc.kill("SIGINT");
    const code = await proc.exited;
    const demoStopMs = performance.now() - t1;
    await drained;
    if (code !== 0) throw new Error(`demo: exit ${code} after SIGINT (expected 0)\n${out}`);
    if (await isMounted(mnt)) throw new Error(`demo: ${mnt} still mounted after exit 0`);
    return { demoReadyMs, demoReadyOwnMs, demoStopMs, probedSeconds };
  } finally {
    if (proc.exitCode === null) proc.kill("SIGKILL");
    await proc.exited;
    if (await isMounted(mnt)) await Bun.spawn(["umount", "-l", mnt]).exited;
  }
}
