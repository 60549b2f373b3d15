/**
 * All benchmarks in sequence (`bun run bench`): the quick variant of each, then a summary. Every bench stays runnable
 * on its own (the commands are printed); results and conditions are written up in docs/benchmarks.md.
 *
 *   bun run bench                        quick variants (small sizes, few runs): a smoke test with rough figures
 *   bun run bench/run.ts --full          each bench's default run (10k/100k libraries; takes tens of minutes)
 *   bun run bench/run.ts --full --with-1m   also the 1M-file mount and sync runs (generation + first scan: ~15 min more)
 *   bun run bench/run.ts --only mount,sync  a subset (names: fuse cas scan search mount sync cache searchdir)
 *
 * Big data goes to $MUSICFS_BENCH_DIR (default /var/tmp/mfsbench), never into the repo.
 */
import { join } from "node:path";
import { loadavg } from "node:os";

const args = process.argv.slice(2);
const FULL = args.includes("--full");
const WITH_1M = args.includes("--with-1m");
const onlyAt = args.indexOf("--only");
const ONLY = onlyAt >= 0 ? new Set(args[onlyAt + 1]!.split(",")) : null;

/** name → arguments for the quick and the full variant. The older benches predate --quick: their small settings. */
const BENCHES: { name: string; quick: string[]; full: string[] }[] = [
  { name: "fuse", quick: ["--rounds", "1", "--no-drop-caches"], full: [] },
  { name: "cas", quick: ["--runs", "3"], full: [] },
  { name: "scan", quick: ["--copies", "2", "--runs", "1"], full: [] },
  { name: "search", quick: ["100000"], full: [] },
  { name: "mount", quick: ["--quick"], full: WITH_1M ? ["--sizes", "10000,100000,1000000"] : [] },
  { name: "sync", quick: ["--quick"], full: WITH_1M ? ["--sizes", "100000,1000000"] : [] },
  { name: "cache", quick: ["--quick"], full: [] },
  { name: "searchdir", quick: ["--quick"], full: [] },
];

interface Outcome {
  name: string;
  command: string;
  code: number;
  seconds: number;
  tail: string[];
}

/** Runs one bench as its own process, echoing its output, and keeps the lines worth a summary. */
async function runBench(name: string, benchArgs: string[]): Promise<Outcome> {
  const script = join(import.meta.dir, name, "run.ts");
  const command = ["bun", "run", `bench/${name}/run.ts`, ...benchArgs].join(" ");
  console.log(`\n=== ${command}  (load average ${loadavg()[0]!.toFixed(2)})`);
  const t = performance.now();
  const proc = Bun.spawn(["bun", "run", script, ...benchArgs], { stdout: "pipe", stderr: "inherit", cwd: join(import.meta.dir, "..") });
  let out = "";
  const decoder = new TextDecoder();
  for await (const chunk of proc.stdout) {
    const text = decoder.decode(chunk, { stream: true });
    out += text;
    process.stdout.write(text);
  }
  const code = await proc.exited;
  const lines = out.split("\n").filter((l) => l.trim());
  // The newer benches print one SUMMARY line; for the others, the last table rows say enough.
  const summary = lines.filter((l) => l.startsWith("SUMMARY"));
  return { name, command, code, seconds: (performance.now() - t) / 1000, tail: summary.length ? summary : lines.slice(-3) };
}

const outcomes: Outcome[] = [];
for (const b of BENCHES) {
  if (ONLY && !ONLY.has(b.name)) continue;
  outcomes.push(await runBench(b.name, FULL ? b.full : b.quick));
}

console.log("\n=== summary\n");
for (const o of outcomes) {
  console.log(`${o.code === 0 ? "ok  " : "FAIL"} ${o.name.padEnd(9)} ${o.seconds.toFixed(0).padStart(5)} s  ${o.command}`);
  for (const l of o.tail) console.log(`       ${l}`);
}
process.exit(outcomes.every((o) => o.code === 0) ? 0 : 1);
