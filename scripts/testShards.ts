/**
 * The logic of the sharded test runner (scripts/testAll.ts), as pure functions: which shard runs which test files
 * (balanced by their last recorded times), and how the shards' junit reports become one report.
 */

/** Seconds a file took last time (scripts/testTimings.json), by path relative to the repository. */
export type Timings = Record<string, number>;

/** A file with no recorded time (a new test): a guess by what it does, refined by the next `--save-timings`. */
export function guessSeconds(file: string): number {
  return /^test\/(e2e|release)\//.test(file) ? 5 : 0.5;
}

/**
 * Files that must run in the same process because they share something expensive that is built once per process
 * (the release archive of test/support/releaseBuild.ts): the key of the group a file belongs to, or null.
 */
export type GroupOf = (file: string) => string | null;

/**
 * Files that each start the same per-process daemon (the Ceph RGW cluster of test/support/cephRgw.ts, shared by the
 * files of one process), split into at most `count` groups of about equal recorded time (the longest file first, each
 * to the lightest group): as units of `partition`, only `count` shards start one. File → its group's key.
 */
export function balancedGroups(files: string[], count: number, timings: Timings, key: string): Map<string, string> {
  const groups = Array.from({ length: Math.max(1, Math.min(count, files.length)) }, (_, i) => ({ key: `${key}-${i + 1}`, seconds: 0 }));
  const cost = (f: string) => timings[f] ?? guessSeconds(f);
  const out = new Map<string, string>();
  for (const f of [...files].sort((a, b) => cost(b) - cost(a) || a.localeCompare(b))) {
    const lightest = groups.reduce((a, b) => (b.seconds < a.seconds ? b : a));
    out.set(f, lightest.key);
    lightest.seconds += cost(f);
  }
  return out;
}

/**
 * Splits `files` into `count` shards whose summed times are as even as it gets cheaply: the longest unit first, each
 * to the shard with the least time so far (a group of files is one unit). Empty shards are dropped. Within a shard
 * the files keep their sorted order, so a run is repeatable.
 */
export function partition(files: string[], count: number, timings: Timings, groupOf: GroupOf = () => null): string[][] {
  const units = new Map<string, string[]>();
  for (const f of [...files].sort()) {
    const key = groupOf(f) ?? `file:${f}`;
    units.set(key, [...(units.get(key) ?? []), f]);
  }
  const cost = (u: string[]) => u.reduce((s, f) => s + (timings[f] ?? guessSeconds(f)), 0);
  const ordered = [...units.values()].sort((a, b) => cost(b) - cost(a) || a[0]!.localeCompare(b[0]!));
  const shards = Array.from({ length: Math.max(1, count) }, () => ({ files: [] as string[], seconds: 0 }));
  for (const unit of ordered) {
    const least = shards.reduce((a, b) => (b.seconds < a.seconds ? b : a));
    least.files.push(...unit);
    least.seconds += cost(unit);
  }
  return shards.map((s) => s.files.sort()).filter((f) => f.length > 0);
}

/** The totals of a junit report (the attributes of its top `<testsuites>` element, as .ci/run reads them). */
export interface Totals {
  tests: number;
  assertions: number;
  failures: number;
  skipped: number;
}

/** One shard's junit report, taken apart: its totals and its file-level `<testsuite>` elements, verbatim. */
export interface ShardReport {
  totals: Totals;
  suites: string[];
}

const attr = (tag: string, name: string) => Number(new RegExp(`\\s${name}="(\\d+)"`).exec(tag)?.[1] ?? 0);

/** Reads a report written by `bun test --reporter=junit`. */
export function parseReport(xml: string): ShardReport {
  const top = /<testsuites\b[^>]*>/.exec(xml);
  if (!top) throw new Error("not a junit report (no <testsuites> element)");
  const totals = { tests: attr(top[0], "tests"), assertions: attr(top[0], "assertions"), failures: attr(top[0], "failures"), skipped: attr(top[0], "skipped") };
  const body = xml.slice(top.index + top[0].length, xml.lastIndexOf("</testsuites>"));
  return { totals, suites: fileSuites(body) };
}

/** The top-level `<testsuite>…</testsuite>` elements of a `<testsuites>` body (they nest for describe blocks). */
function fileSuites(body: string): string[] {
  const out: string[] = [];
  const tag = /<(\/?)testsuite\b[^>]*?(\/?)>/g;
  let depth = 0;
  let start = 0;
  for (let m = tag.exec(body); m; m = tag.exec(body)) {
    if (m[1]) {
      depth--;
      if (depth === 0) out.push(body.slice(start, m.index + m[0].length));
    } else if (!m[2]) {
      if (depth === 0) start = m.index;
      depth++;
    } else if (depth === 0) out.push(m[0]);
  }
  return out;
}

export const xmlEscape = (s: string) =>
  s.replace(/[&<>"\n]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;" })[c]!);

/**
 * A report for a shard that failed without saying which test failed (it crashed, or exited non-zero with no failed
 * test in its report): one failed test named after the shard, so the merged totals count the failure.
 */
export function shardFailure(shard: number, files: string[], why: string): ShardReport {
  const name = xmlEscape(`shard ${shard} (${files.length} files)`);
  const suite =
    `  <testsuite name="${name}" file="${name}" tests="1" assertions="0" failures="1" skipped="0" time="0">\n` +
    `    <testcase name="${xmlEscape(`the shard's bun test process: ${why}`)}" classname="" time="0">\n` +
    `      <failure type="ShardFailure" message="${xmlEscape(why)}">${xmlEscape(`${why}\nfiles: ${files.join(" ")}`)}</failure>\n` +
    `    </testcase>\n  </testsuite>`;
  return { totals: { tests: 1, assertions: 0, failures: 1, skipped: 0 }, suites: [suite] };
}

/** One junit report from the shards': totals summed, file suites in file order, `seconds` the run's wall time. */
export function mergeReports(reports: ShardReport[], seconds: number): string {
  const sum = (k: keyof Totals) => reports.reduce((s, r) => s + r.totals[k], 0);
  const fileOf = (suite: string) => /\sfile="([^"]*)"/.exec(suite)?.[1] ?? "";
  const suites = reports.flatMap((r) => r.suites).sort((a, b) => fileOf(a).localeCompare(fileOf(b)));
  const indented = suites.map((s) => (s.startsWith("  ") ? s : `  ${s}`));
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<testsuites name="bun test" tests="${sum("tests")}" assertions="${sum("assertions")}" failures="${sum("failures")}" skipped="${sum("skipped")}" time="${seconds}">\n` +
    `${indented.join("\n")}\n</testsuites>\n`
  );
}

const unescape = (s: string) =>
  s.replace(/&(#\d+|amp|lt|gt|quot|apos);/g, (_, e: string) =>
    e.startsWith("#") ? String.fromCharCode(Number(e.slice(1))) : ({ amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" })[e]!,
  );

/** A failed test of a report: its file, its name (describe blocks joined by " > ") and the failure's text. */
export interface FailedTest {
  file: string;
  name: string;
  message: string;
}

/** Every failed test in a report's file suites. */
export function failedTests(report: ShardReport): FailedTest[] {
  const out: FailedTest[] = [];
  for (const suite of report.suites) {
    const file = unescape(/\sfile="([^"]*)"/.exec(suite)?.[1] ?? "");
    const path: string[] = [];
    // A failure has a body (the error) or, for a timeout, only a message: <failure type="TimeoutError" message="…" />.
    const tok = /<(\/?)(testsuite|testcase)\b([^>]*?)(\/?)>|<failure\b([^>]*?)(?:\/>|>([\s\S]*?)<\/failure>)/g;
    let current: string | null = null;
    for (let m = tok.exec(suite); m; m = tok.exec(suite)) {
      if (m[5] !== undefined) {
        const message = m[6] ?? /\bmessage="([^"]*)"/.exec(m[5])?.[1] ?? "";
        if (current !== null) out.push({ file, name: [...path.slice(1), current].join(" > "), message: unescape(message).trim() });
        continue;
      }
      const name = unescape(/\bname="([^"]*)"/.exec(m[3] ?? "")?.[1] ?? "");
      if (m[2] === "testsuite") {
        if (m[1]) path.pop();
        else if (!m[4]) path.push(name);
      } else if (m[1]) current = null;
      else current = m[4] ? null : name;
    }
  }
  return out;
}

/** What the runner was asked: its own options, the paths to pick files by, and the rest for each `bun test`. */
export interface RunnerArgs {
  shards: number | null;
  reporter: string | null;
  reporterOutfile: string | null;
  saveTimings: boolean;
  paths: string[];
  passThrough: string[];
}

/** `bun test` options that take a value as the next argument (so that value is not taken for a path). */
const TAKES_VALUE = new Set(["-t", "--test-name-pattern", "--timeout", "--rerun-each", "--preload", "--seed", "--coverage-dir", "--coverage-reporter", "--max-concurrency"]);

export function parseRunnerArgs(argv: string[]): RunnerArgs {
  const out: RunnerArgs = { shards: null, reporter: null, reporterOutfile: null, saveTimings: false, paths: [], passThrough: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith("--") && a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    const value = () => inline ?? argv[++i] ?? "";
    if (flag === "--shards") {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 1) throw new Error(`--shards takes a whole number ≥ 1 (got "${inline ?? argv[i]}")`);
      out.shards = n;
    } else if (flag === "--reporter") out.reporter = value();
    else if (flag === "--reporter-outfile") out.reporterOutfile = value();
    else if (flag === "--save-timings") out.saveTimings = true;
    else if (TAKES_VALUE.has(flag)) out.passThrough.push(flag, value());
    else if (a.startsWith("-")) out.passThrough.push(a);
    else out.paths.push(a);
  }
  return out;
}
