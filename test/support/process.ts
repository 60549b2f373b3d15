/**
 * Running programs from tests. Always asynchronous (Bun.spawn, never spawnSync): a test that checks a mount served
 * by its own process must never block the thread that serves it, and a hung program fails its test by timeout
 * instead of freezing the runner.
 */

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  timeoutMs?: number;
  /** Added to (not instead of) the test's environment. */
  env?: Record<string, string | undefined>;
  cwd?: string;
}

/** Runs a program to completion and returns its exit code and output (as bytes: `runBytes`). */
export async function runBytes(cmd: string[], opts: RunOptions = {}): Promise<{ code: number; stdout: Uint8Array; stderr: string }> {
  const proc = Bun.spawn(cmd, { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, ...opts.env }, cwd: opts.cwd });
  const timer = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).bytes(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

export async function run(cmd: string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await runBytes(cmd, opts);
  return { code: r.code, stdout: new TextDecoder().decode(r.stdout), stderr: r.stderr };
}

/** Lists every regular file below a directory (relative paths, sorted), with find(1). */
export async function findFiles(dir: string): Promise<string[]> {
  const r = await run(["find", dir, "-type", "f", "-printf", "%P\\n"], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`find failed: ${r.stderr}`);
  return r.stdout.split("\n").filter(Boolean).sort();
}

/** An album cover file of the mount (docs/templates.md, "Cover files"): cover.jpg, cover.png or cover.webp. */
export function isCoverFile(path: string): boolean {
  return /(^|\/)cover\.(jpg|png|webp)$/.test(path);
}

/** The tracks below a mount: findFiles without the album cover files (tests of covers count those themselves). */
export async function findTracks(dir: string): Promise<string[]> {
  return (await findFiles(dir)).filter((p) => !isCoverFile(p));
}
