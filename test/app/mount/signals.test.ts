/** The shutdown-signal rule (issue 9 item 12): one Ctrl-C delivered twice is one request; a real second one exits. */
import { afterEach, expect, test } from "bun:test";
import { REPEAT_WINDOW_MS, ShutdownSignals, startedByPackageRunner } from "../../../src/app/mount/signals.ts";

let signals: ShutdownSignals | null = null;
afterEach(() => signals?.dispose());

function withClock(echoed = false) {
  const clock = { now: 1_000, exits: [] as number[] };
  signals = new ShutdownSignals({ echoed, now: () => clock.now, exit: (code) => void clock.exits.push(code) });
  return clock;
}

test("the same signal again within the repeat window is ignored: shutdown stays ordered", () => {
  const clock = withClock();
  signals!.handler("SIGINT");
  expect(signals!.signal.aborted).toBe(true);
  clock.now += REPEAT_WINDOW_MS - 1;
  signals!.handler("SIGINT");
  expect(clock.exits).toEqual([]);
});

test("the same signal after the window exits at once with 130", () => {
  const clock = withClock();
  signals!.handler("SIGINT");
  clock.now += REPEAT_WINDOW_MS;
  signals!.handler("SIGINT");
  expect(clock.exits).toEqual([130]);
});

test("a different signal within the window is a deliberate second request: exits at once", () => {
  const clock = withClock();
  signals!.handler("SIGINT");
  clock.now += 5;
  signals!.handler("SIGTERM");
  expect(clock.exits).toEqual([130]);
});

test("started by a package runner: the first repeat is the echo however late it comes; the next one exits", () => {
  const clock = withClock(true);
  signals!.handler("SIGINT");
  clock.now += 60_000; // a loaded machine: bun run's forwarded copy long after the terminal's
  signals!.handler("SIGINT");
  expect(clock.exits).toEqual([]);
  expect(signals!.signal.aborted).toBe(true);
  clock.now += 1; // a real second keypress, however soon
  signals!.handler("SIGINT");
  expect(clock.exits).toEqual([130]);
});

test("started by a package runner: another signal than the first is never its echo", () => {
  const clock = withClock(true);
  signals!.handler("SIGINT");
  signals!.handler("SIGTERM");
  expect(clock.exits).toEqual([130]);
});

test("a package runner is the parent that set npm_lifecycle_event for us, not one further up", () => {
  const runner = ["PATH=/usr/bin", "HOME=/root"].join("\0");
  const script = { npm_lifecycle_event: "demo" };
  expect(startedByPackageRunner(script, runner)).toBe(true);
  // `bun run demo` started from a shell that a `bun run test` started (the e2e test's terminal): still the runner.
  expect(startedByPackageRunner(script, ["npm_lifecycle_event=test", "HOME=/root"].join("\0"))).toBe(true);
  // A mount started by a test that `bun run test` runs: the parent (the test process) has the variable too.
  expect(startedByPackageRunner({ npm_lifecycle_event: "test" }, ["npm_lifecycle_event=test", "HOME=/root"].join("\0"))).toBe(false);
  expect(startedByPackageRunner({}, runner)).toBe(false);
  expect(startedByPackageRunner(script, null)).toBe(false);
});
