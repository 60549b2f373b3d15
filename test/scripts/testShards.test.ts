/**
 * The sharded test runner (`bun run test`, scripts/testAll.ts): how it splits the files, how it merges the shards'
 * junit reports (the totals .ci/run reads), and — through the real runner on two throwaway test files — that a failed
 * test in any shard is printed, counted in the merged report, and makes the run exit non-zero.
 */
import { afterAll, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { balancedGroups, failedTests, mergeReports, parseReport, parseRunnerArgs, partition, shardFailure } from "../../scripts/testShards.ts";
import { cleanupAll, tempDir } from "../support/cleanup.ts";
import { REPO } from "../support/paths.ts";
import { run } from "../support/process.ts";

afterAll(cleanupAll);

const report = (file: string, tests: number, failures: number, skipped: number, body: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="bun test" tests="${tests}" assertions="${tests * 2}" failures="${failures}" skipped="${skipped}" time="1.5">\n` +
  `  <testsuite name="${file}" file="${file}" tests="${tests}" assertions="${tests * 2}" failures="${failures}" skipped="${skipped}" time="1.2" hostname="vm">\n${body}\n  </testsuite>\n</testsuites>\n`;

const A = report(
  "test/a.test.ts",
  3,
  2,
  0,
  `    <testsuite name="outer" file="test/a.test.ts" line="2" tests="3" assertions="4" failures="2" skipped="0" time="0" hostname="vm">
      <testcase name="fine &amp; dandy" classname="outer" time="0.1" file="test/a.test.ts" line="3" assertions="2" />
      <testcase name="breaks &lt;here&gt;" classname="outer" time="0.1" file="test/a.test.ts" line="4" assertions="2">
        <failure type="AssertionError" message="Expected: 2">Expected: 2&#10;Received: 1</failure>
      </testcase>
      <testcase name="hangs" classname="outer" time="60" file="test/a.test.ts" line="5" assertions="0">
        <failure type="TimeoutError" message="test timed out" />
      </testcase>
    </testsuite>`,
);
const B = report("test/b.test.ts", 3, 0, 1, `    <testcase name="skipped" classname="" time="0" file="test/b.test.ts" line="3" assertions="0">\n      <skipped />\n    </testcase>`);

test("partition: every file in exactly one shard, the slow ones spread, a group kept together", () => {
  const files = ["e/slow1", "e/slow2", "u/a", "u/b", "u/c", "r/x", "r/y"];
  const timings = { "e/slow1": 60, "e/slow2": 50, "u/a": 1, "u/b": 1, "u/c": 1, "r/x": 10, "r/y": 10 };
  const shards = partition(files, 3, timings, (f) => (f.startsWith("r/") ? "release" : null));
  expect(shards.flat().sort()).toEqual([...files].sort());
  expect(shards.find((s) => s.includes("e/slow1"))).not.toContain("e/slow2");
  expect(shards.find((s) => s.includes("r/x"))).toContain("r/y");
  const seconds = shards.map((s) => s.reduce((t, f) => t + timings[f as keyof typeof timings], 0)).sort((a, b) => a - b);
  expect(seconds).toEqual([23, 50, 60]);
  expect(partition(["a", "b"], 8, {})).toHaveLength(2); // no empty shards
});

test("balanced groups: the RGW files in two groups of about equal time, which partition keeps together (two shards start a cluster, not four)", () => {
  const timings = { "s/outage": 40, "s/mount": 13, "s/reasons": 11, "s/changes": 6, "s/pins": 5, "u/a": 30, "u/b": 30, "u/c": 30, "u/d": 30 };
  const rgw = ["s/changes", "s/mount", "s/outage", "s/pins", "s/reasons"];
  const groups = balancedGroups(rgw, 2, timings, "rgw");
  expect([...groups.keys()].sort()).toEqual(rgw);
  const time = (key: string) => rgw.filter((f) => groups.get(f) === key).reduce((t, f) => t + timings[f as keyof typeof timings], 0);
  expect([time("rgw-1"), time("rgw-2")].sort((a, b) => a - b)).toEqual([35, 40]);
  const shards = partition(Object.keys(timings), 4, timings, (f) => groups.get(f) ?? null);
  expect(shards.filter((s) => s.some((f) => f.startsWith("s/")))).toHaveLength(2);
  expect(balancedGroups(["s/x"], 2, {}, "rgw")).toEqual(new Map([["s/x", "rgw-1"]])); // never an empty group
});

test("merge: the top totals are the shards' sums, every file suite is kept, and each failed test is found by name", () => {
  const merged = mergeReports([parseReport(A), parseReport(B)], 9.5);
  const top = /<testsuites[^>]*>/.exec(merged)![0];
  expect(top).toContain('tests="6"');
  expect(top).toContain('failures="2"');
  expect(top).toContain('skipped="1"');
  expect(top).toContain('assertions="12"');
  expect(top).toContain('time="9.5"');
  const again = parseReport(merged);
  expect(again.suites).toHaveLength(2);
  expect(failedTests(again)).toEqual([
    { file: "test/a.test.ts", name: "outer > breaks <here>", message: "Expected: 2\nReceived: 1" },
    { file: "test/a.test.ts", name: "outer > hangs", message: "test timed out" }, // a timeout's failure has no body
  ]);
});

test("a shard that crashed counts as one failed test naming the shard", () => {
  const crash = shardFailure(2, ["test/x.test.ts"], "exited with 139 & wrote no junit report");
  const merged = parseReport(mergeReports([parseReport(B), crash], 1));
  expect(merged.totals).toEqual({ tests: 4, assertions: 6, failures: 1, skipped: 1 });
  expect(failedTests(merged)[0]!.message).toContain("exited with 139 & wrote no junit report\nfiles: test/x.test.ts");
});

test("arguments: the runner's own options are taken out, the rest goes to bun test, values are not paths", () => {
  const a = parseRunnerArgs(["--shards", "3", "--reporter=junit", "--reporter-outfile", "out.xml", "-t", "name", "--bail", "test/e2e"]);
  expect(a).toEqual({ shards: 3, reporter: "junit", reporterOutfile: "out.xml", saveTimings: false, paths: ["test/e2e"], passThrough: ["-t", "name", "--bail"] });
  expect(() => parseRunnerArgs(["--shards=0"])).toThrow("--shards takes a whole number ≥ 1");
});

test("bun run test over two shards, one with a failing test: the failure is printed, the merged report counts it, the exit code is 1", async () => {
  const dir = tempDir();
  // In a temp dir outside the repository, so the suite itself never runs these files.
  writeFileSync(join(dir, "passes.test.ts"), `import { test, expect } from "bun:test";\ntest("adds", () => expect(1 + 1).toBe(2));\ntest.skip("later", () => {});\n`);
  writeFileSync(join(dir, "fails.test.ts"), `import { test, expect } from "bun:test";\ntest("holds", () => expect(1).toBe(1));\ntest("the broken one", () => expect("left").toBe("right"));\n`);
  const out = join(dir, "junit.xml");
  const r = await run(["bun", "scripts/testAll.ts", "--shards", "2", `--reporter=junit`, `--reporter-outfile=${out}`, join(dir, "passes.test.ts"), join(dir, "fails.test.ts")], {
    cwd: REPO,
    timeoutMs: 120_000,
  });
  expect(r.code).toBe(1);
  expect(r.stdout).toContain("in 2 shard(s)");
  expect(r.stdout).toContain(`✗ ${join(dir, "fails.test.ts")} > the broken one`);
  expect(r.stdout).toContain('Expected: "right"');
  expect(r.stdout.match(/\(fail\) the broken one/g)).toHaveLength(1); // shown as it happens, once (bun repeats it at its end)
  const top = /<testsuites[^>]*>/.exec(readFileSync(out, "utf8"))![0];
  expect(top).toContain('tests="4"');
  expect(top).toContain('failures="1"');
  expect(top).toContain('skipped="1"');

  const green = await run(["bun", "scripts/testAll.ts", "--shards", "2", join(dir, "passes.test.ts")], { cwd: REPO, timeoutMs: 120_000 });
  expect(green.code).toBe(0);
  expect(green.stdout).toContain(" 1 pass");
});

test("shards share the machine: no test drops the machine's page cache (test/support/pageCache.ts drops a file's)", () => {
  // A machine-wide drop empties the kernel caches other shards count on (FUSE's directory cache: a relisting then
  // reaches the daemon). Comment lines may name it; code may not.
  const machineWide = /drop_caches/;
  const offenders = [...new Bun.Glob("test/**/*.ts").scanSync({ cwd: REPO })].filter((file) =>
    readFileSync(join(REPO, file), "utf8")
      .split("\n")
      .some((line) => machineWide.test(line) && !/^\s*(\*|\/\/|\/\*)/.test(line) && !line.includes("const machineWide")),
  );
  expect(offenders).toEqual([]);
});
