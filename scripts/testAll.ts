/**
 * `bun run test`: the whole suite, in shards — K `bun test` processes at once, each over its part of the test files
 * (most e2e tests wait on mounts, outages and RGW rather than use the CPU, so they overlap well). The files are split
 * by their last recorded times (scripts/testTimings.json) so the shards end together; files that share something
 * built once per process (the release archive) stay in one shard, and the files that use the RGW cluster (started
 * once per process) are in two shards, not four. Each shard is a plain `bun test` process with the
 * preload of bunfig.toml, so a shard shares its RGW cluster and scanned sample library among its own files, as one
 * `bun test` process always did; shards share nothing but the machine.
 *
 *   bun run test [--shards K] [--reporter=junit --reporter-outfile=FILE] [--save-timings] [PATH…] [bun test options…]
 *
 * K: --shards, else $MUSICFS_TEST_SHARDS, else 4. PATHs (files, folders, or parts of a path as `bun test` takes
 * them) pick the files; other options (-t, --timeout, --bail…) go to every shard; --timeout defaults to 60000.
 * The console shows each file as a shard starts it and each failed test at once; at the end every failed test is
 * printed again with its error, then the totals. With --reporter=junit the shards' reports are merged into FILE: one
 * report whose top `<testsuites>` totals are the sums (what .ci/run reads). A shard that exits non-zero without a
 * failed test in its report (a crash, an error outside a test) counts as one failed test named after the shard.
 * --save-timings writes the files' times of this run into scripts/testTimings.json. Exit code: 0 only when every
 * shard passed. Each shard's whole output is in a log file, named at the end when something failed.
 *
 * `bun test FILE` still runs one file (or folder) in one process, as before.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { balancedGroups, failedTests, mergeReports, parseReport, parseRunnerArgs, partition, shardFailure, type ShardReport, type Timings } from "./testShards.ts";
import { importsAny, testFiles } from "./testUnit.ts";

const REPO = resolve(import.meta.dir, "..");
const TIMINGS = join(REPO, "scripts/testTimings.json");
const DEFAULT_SHARDS = 4;
/** Built once per process and used by several files: those files run in one shard. */
const RELEASE_BUILD = join(REPO, "test/support/releaseBuild.ts");
/**
 * Started once per process and shared by its files (~1.5–3 s of wall to start, under load): the files that use it
 * run in at most this many shards, not in all of them.
 */
const RGW = join(REPO, "test/support/cephRgw.ts");
const RGW_SHARDS = 2;

function fail(message: string): never {
  console.error(`bun run test: ${message}`);
  process.exit(2);
}

function pickFiles(paths: string[]): string[] {
  const all = testFiles().map((f) => relative(REPO, f));
  if (paths.length === 0) return all;
  const picked = new Set<string>();
  for (const p of paths) {
    const abs = resolve(p);
    const found = existsSync(abs)
      ? statSync(abs).isDirectory()
        ? testFiles(abs).map((f) => relative(REPO, f))
        : [relative(REPO, abs)]
      : all.filter((f) => f.includes(p)); // as `bun test` takes a word: files whose path contains it
    if (found.length === 0) fail(`no test file matches "${p}" (give a file, a folder, or a part of a test file's path)`);
    for (const f of found) picked.add(f);
  }
  return [...picked].sort();
}

function readTimings(): Timings {
  try {
    return JSON.parse(readFileSync(TIMINGS, "utf8")) as Timings;
  } catch {
    return {};
  }
}

const args = (() => {
  try {
    return parseRunnerArgs(process.argv.slice(2));
  } catch (e) {
    return fail((e as Error).message);
  }
})();
if (args.reporter !== null && args.reporter !== "junit") fail(`--reporter=${args.reporter}: only junit is supported (the shards' reports are merged)`);
if (args.reporter === "junit" && !args.reporterOutfile) fail("--reporter=junit needs --reporter-outfile=FILE");
const envShards = process.env.MUSICFS_TEST_SHARDS;
if (envShards !== undefined && !/^[1-9]\d*$/.test(envShards)) fail(`MUSICFS_TEST_SHARDS=${envShards}: a whole number ≥ 1`);
const shardCount = args.shards ?? (envShards ? Number(envShards) : DEFAULT_SHARDS);

const files = pickFiles(args.paths);
const timings = readTimings();
const inRepo = (f: string) => !f.startsWith("/") && !f.startsWith("..");
const releaseFiles = new Set(files.filter((f) => inRepo(f) && importsAny(join(REPO, f), [RELEASE_BUILD])));
const rgwGroups = balancedGroups(files.filter((f) => inRepo(f) && !releaseFiles.has(f) && importsAny(join(REPO, f), [RGW])), RGW_SHARDS, timings, "rgw");
const groupOf = (f: string) => (releaseFiles.has(f) ? "release-archive" : (rgwGroups.get(f) ?? null));
const shards = partition(files, shardCount, timings, groupOf);
const passThrough = args.passThrough.includes("--timeout") ? args.passThrough : ["--timeout", "60000", ...args.passThrough];
const logDir = mkdtempSync(join(tmpdir(), "musicfs-test-shards-"));
const started = performance.now();
console.log(`bun run test: ${files.length} files in ${shards.length} shard(s) (logs: ${logDir})`);

/** Copies a shard's output to its log, and shows the lines that matter now: a file starting, a test failing. */
async function follow(stream: ReadableStream<Uint8Array>, log: Bun.FileSink, shard: number): Promise<void> {
  const decoder = new TextDecoder();
  const shown = new Set<string>(); // bun repeats each failed test's line in its summary at the end
  let pending = "";
  for await (const chunk of stream) {
    log.write(chunk);
    pending += decoder.decode(chunk, { stream: true });
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines) {
      if (/^\S.*\.test\.[jt]sx?:$/.test(line)) console.log(`[${shard}] ${line.slice(0, -1)}`);
      else if (line.startsWith("(fail)") && !shown.has(line)) {
        shown.add(line);
        console.log(`[${shard}] ${line}`);
      }
    }
  }
}

const children: Bun.Subprocess[] = [];
// Ctrl-C reaches the shards from the terminal (same process group): the runner only waits for them to stop what they
// started and reports. A SIGTERM sent to the runner alone is passed on to them.
process.on("SIGINT", () => {});
process.on("SIGTERM", () => {
  for (const c of children) c.kill("SIGTERM");
});

async function runShard(i: number, shardFiles: string[]): Promise<ShardReport> {
  const report = join(logDir, `shard-${i}.xml`);
  const logFile = join(logDir, `shard-${i}.log`);
  const log = Bun.file(logFile).writer();
  // `./` makes bun test take each argument as a path, not as a name filter.
  const cmd = ["bun", "test", ...passThrough, "--reporter=junit", `--reporter-outfile=${report}`, ...shardFiles.map((f) => (f.startsWith("/") ? f : `./${f}`))];
  const child = Bun.spawn(cmd, { cwd: REPO, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  children.push(child);
  await Promise.all([follow(child.stdout, log, i), follow(child.stderr, log, i)]);
  const code = await child.exited;
  await log.end();
  let parsed: ShardReport;
  try {
    parsed = parseReport(readFileSync(report, "utf8"));
  } catch {
    return shardFailure(i, shardFiles, `exited with ${code ?? child.signalCode} and wrote no junit report (see ${logFile})`);
  }
  if (code !== 0 && parsed.totals.failures === 0) {
    const extra = shardFailure(i, shardFiles, `exited with ${code ?? child.signalCode} though no test in its report failed (an error outside a test? see ${logFile})`);
    return { totals: { ...parsed.totals, tests: parsed.totals.tests + 1, failures: 1 }, suites: [...parsed.suites, ...extra.suites] };
  }
  return parsed;
}

const reports = await Promise.all(shards.map((s, i) => runShard(i + 1, s)));
const seconds = (performance.now() - started) / 1000;
const failed = reports.flatMap(failedTests);
const sum = (k: "tests" | "failures" | "skipped" | "assertions") => reports.reduce((s, r) => s + r.totals[k], 0);

if (failed.length > 0) {
  console.log(`\n${failed.length} failed test(s):`);
  for (const f of failed) {
    const msg = f.message.split("\n").slice(0, 40).map((l) => `    ${l}`).join("\n");
    console.log(`\n✗ ${f.file} > ${f.name}\n${msg}`);
  }
  console.log(`\nEach shard's whole output: ${logDir}/shard-N.log`);
}
if (args.reporter === "junit") writeFileSync(resolve(args.reporterOutfile!), mergeReports(reports, seconds));
if (args.saveTimings) {
  const timings = readTimings();
  for (const suite of reports.flatMap((r) => r.suites)) {
    const file = /\sfile="([^"]*)"/.exec(suite)?.[1];
    const time = Number(/\stime="([\d.]+)"/.exec(suite)?.[1]);
    if (file && files.includes(file) && Number.isFinite(time)) timings[file] = Math.round(time * 10) / 10;
  }
  const existing = new Set(testFiles().map((f) => relative(REPO, f)));
  const kept = Object.fromEntries(Object.entries(timings).filter(([f]) => existing.has(f)).sort(([a], [b]) => a.localeCompare(b)));
  writeFileSync(TIMINGS, `${JSON.stringify(kept, null, 2)}\n`);
  console.log(`bun run test: times of ${files.length} files saved in ${relative(REPO, TIMINGS)}`);
}

console.log(`\n ${sum("tests") - sum("failures") - sum("skipped")} pass\n ${sum("skipped")} skip\n ${sum("failures")} fail\n ${sum("assertions")} expect() calls`);
console.log(`Ran ${sum("tests")} tests across ${files.length} files in ${shards.length} shard(s). [${seconds.toFixed(1)} s]`);
const ok = failed.length === 0 && sum("failures") === 0;
if (ok) rmSync(logDir, { recursive: true, force: true });
process.exit(ok ? 0 : 1);
