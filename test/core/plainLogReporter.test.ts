/**
 * The log lines off a terminal (what tests, CI, systemd and log files see) are written by our own reporter so that no
 * thread builds Node's stderr stream just to log; they must stay exactly what consola's BasicReporter printed.
 */
import { expect, test } from "bun:test";
import { closeSync, openSync } from "node:fs";
import { createConsola as createBasicConsola } from "consola/basic";
import { createConsola, type ConsolaInstance, type LogObject } from "consola/core";
import { formatLogLine } from "../../src/core/plainLogReporter.ts";
import { isTerminal } from "../../src/core/terminal.ts";

/** Runs the same calls through consola's BasicReporter and through formatLogLine, and returns both outputs. */
function both(calls: (log: ConsolaInstance) => void): { basic: string; ours: string } {
  let basic = "";
  const sink = { write: (s: string) => ((basic += s), true), columns: 0 };
  calls(createBasicConsola({ level: 5, formatOptions: { date: false }, stdout: sink as never, stderr: sink as never, throttle: 0 }));
  let ours = "";
  const reporter = {
    log: (o: LogObject, ctx: { options: { formatOptions: Record<string, unknown> } }) => {
      const { date: _date, ...inspect } = ctx.options.formatOptions;
      ours += formatLogLine(o, inspect) + "\n";
    },
  };
  calls(createConsola({ level: 5, formatOptions: { date: false }, reporters: [reporter], throttle: 0 }));
  return { basic, ours };
}

test("plain log lines are byte for byte consola's basic lines: types, tags, objects, boxes, errors with stack and cause", () => {
  const outer = new Error("outer", { cause: new Error("inner") });
  const alone = new TypeError("alone");
  const { basic, ours } = both((log) => {
    log.info("Scanning /music…");
    log.success("musicfs: 3 files mounted at /mnt (ready in 12 ms).");
    log.warn({ a: 1, b: [1, 2, { c: "x" }] }, "and", 42);
    log.withTag("sync").debug("tagged");
    log.box("boxed\nsecond line");
    log.error("failed:", outer);
    log.error(alone);
  });
  expect(basic).toContain("[error] failed: outer");
  expect(basic).toContain("[cause]: inner");
  expect(ours).toBe(basic);
});

test("a pipe is not a terminal (so the plain reporter is the one used here)", () => {
  // bun test's stderr is a pipe or file under every runner of this suite; /dev/null is a character device, not a tty.
  const devNull = openSync("/dev/null", "w");
  try {
    expect(isTerminal(devNull)).toBe(false);
  } finally {
    closeSync(devNull);
  }
});
