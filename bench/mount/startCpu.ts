/**
 * What one small mount costs in CPU (issue 20 item 3: the test suite starts ~140 of them): `musicfs mount` from
 * source on a 1-track library, spawn → ready line → `ls -R` → SIGTERM → exit, its whole process (every thread, the
 * workers that ended included: the kernel's rusage of the reaped child). A first mount (fresh cache dir: scan) and a
 * later mount (the same cache dir again), alternated between two checkouts so that the machine's drift hits both.
 *
 *   bun run bench/mount/startCpu.ts [--rounds 10] [--vs /path/to/other/checkout]
 *
 * Prints the median (min–max) CPU ms and spawn → ready ms of each checkout, and the load average before and after.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { writeFlac } from "../../src/sample/flacWriter.ts";
import { silence } from "../../src/sample/tone.ts";
import { load1, option } from "./harness.ts";

const ROUNDS = Number(option("rounds", "10"));
const here = resolve(import.meta.dir, "../..");
const vs = option("vs", "");
const checkouts = vs ? [here, resolve(vs)] : [here];

const base = mkdtempSync(join(tmpdir(), "musicfs-startcpu-"));
const origin = join(base, "library");
mkdirSync(origin);
await Bun.write(join(origin, "one.flac"), writeFlac({ artists: ["Bench"], album: "Start", title: "One", track: 1 }, silence(0.5)));

interface Sample {
  cpuMs: number;
  readyMs: number;
}

/** One mount's life; the same cache dir again makes it a later mount. */
async function mountOnce(checkout: string, cacheDir: string): Promise<Sample> {
  const mnt = mkdtempSync(join(base, "mnt-"));
  const t0 = performance.now();
  const child = Bun.spawn(["bun", join(checkout, "src/cli/main.ts"), "mount", mnt, "--origin", origin, "--cache-dir", cacheDir], {
    stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1", MUSICFS_LOG_LEVEL: "info" },
  });
  let out = "";
  const decoder = new TextDecoder();
  const pump = async (s: ReadableStream<Uint8Array>) => { for await (const c of s) out += decoder.decode(c, { stream: true }); };
  void pump(child.stdout);
  void pump(child.stderr);
  while (!/mounted at/.test(out)) {
    if (child.exitCode !== null) throw new Error(`mount exited (${child.exitCode}):\n${out}`);
    await Bun.sleep(2);
  }
  const readyMs = performance.now() - t0;
  if ((await Bun.spawn(["ls", "-R", mnt], { stdout: "ignore" }).exited) !== 0) throw new Error("ls -R of the mount failed");
  child.kill("SIGTERM");
  if ((await child.exited) !== 0) throw new Error(`mount exited with ${child.exitCode}:\n${out}`);
  const ru = child.resourceUsage()!;
  return { cpuMs: (Number(ru.cpuTime.user) + Number(ru.cpuTime.system)) / 1000, readyMs };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (xs: number[]) => `${Math.round(median(xs))} (${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))})`;

const samples = new Map<string, { first: Sample[]; later: Sample[] }>(checkouts.map((c) => [c, { first: [], later: [] }]));
const loadBefore = load1();
try {
  for (let r = 0; r < ROUNDS; r++) {
    for (const c of r % 2 === 0 ? checkouts : [...checkouts].reverse()) {
      const cache = join(base, `cache-${r}-${checkouts.indexOf(c)}`);
      samples.get(c)!.first.push(await mountOnce(c, cache));
      samples.get(c)!.later.push(await mountOnce(c, cache));
    }
  }
} finally {
  rmSync(base, { recursive: true, force: true });
}
console.log(`${ROUNDS} rounds, load average ${loadBefore} → ${load1()}`);
console.log("| checkout | first mount: CPU ms | spawn → ready ms | later mount: CPU ms | spawn → ready ms |");
console.log("|---|---:|---:|---:|---:|");
for (const [c, s] of samples) {
  console.log(`| ${c} | ${fmt(s.first.map((x) => x.cpuMs))} | ${fmt(s.first.map((x) => x.readyMs))} | ${fmt(s.later.map((x) => x.cpuMs))} | ${fmt(s.later.map((x) => x.readyMs))} |`);
}
