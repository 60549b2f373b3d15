/** The shutdown-signal rule (issue 9 item 12): one Ctrl-C delivered twice is one request; a real second one exits. */
import { afterEach, expect, test } from "bun:test";
import { REPEAT_WINDOW_MS, ShutdownSignals } from "../../../src/app/mount/signals.ts";

let signals: ShutdownSignals | null = null;
afterEach(() => signals?.dispose());

function withClock() {
  const clock = { now: 1_000, exits: [] as number[] };
  signals = new ShutdownSignals({ now: () => clock.now, exit: (code) => void clock.exits.push(code) });
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
