/**
 * The log format off a terminal (pipes, CI, systemd, tests): one `[type] [tag] message` line, errors with their
 * stack and cause — the same lines as consola's BasicReporter, written straight to fd 2 with writeSync. Consola's
 * own reporters go through `process.stderr`, a Node stream whose machinery costs ~15 ms of CPU to build in every
 * thread that loads the logger (the mount's main thread and each FUSE worker), for a few lines.
 */
import { writeSync } from "node:fs";
import { sep } from "node:path";
import { formatWithOptions, type InspectOptions } from "node:util";
import type { ConsolaReporter, LogObject } from "consola/core";

const bracket = (x: string | undefined) => (x ? `[${x}]` : "");

function stackLines(stack: string, message: string): string[] {
  const cwd = process.cwd() + sep;
  return stack
    .split("\n")
    .splice(message.split("\n").length)
    .map((l) => l.trim().replace("file://", "").replace(cwd, ""));
}

interface ErrorLike {
  message?: string;
  stack: string;
  cause?: unknown;
}

const isErrorLike = (a: unknown): a is ErrorLike => typeof a === "object" && a !== null && typeof (a as { stack?: unknown }).stack === "string";

function formatError(err: ErrorLike, opts: InspectOptions, level = 0): string {
  const message = err.message ?? formatWithOptions(opts, err);
  const indent = "  ".repeat(level + 1);
  const stack = err.stack ? indent + stackLines(err.stack, message).join(`\n${indent}`) : "";
  const causedPrefix = level > 0 ? `${"  ".repeat(level)}[cause]: ` : "";
  const cause = isErrorLike(err.cause) ? "\n\n" + formatError(err.cause, opts, level + 1) : err.cause ? "\n\n" + String(err.cause) : "";
  return causedPrefix + message + "\n" + stack + cause;
}

/** One log object as its line(s), without the final newline (pure). */
export function formatLogLine(logObj: Pick<LogObject, "args" | "type" | "tag"> & { title?: string }, opts: InspectOptions): string {
  const args = logObj.args.map((a: unknown) => (isErrorLike(a) ? formatError(a, opts) : a));
  const message = formatWithOptions(opts, ...args);
  if (logObj.type === "box") {
    return "\n" + [bracket(logObj.tag), logObj.title, ...message.split("\n")].filter(Boolean).map((l) => " > " + l).join("\n") + "\n";
  }
  return [bracket(logObj.type), bracket(logObj.tag), message].filter(Boolean).join(" ");
}

/** Falls back to the Node stream when fd 2 would block (a full non-blocking pipe), and from then on stays there. */
let viaStream = false;

function writeStderr(text: string): void {
  if (!viaStream) {
    try {
      writeSync(2, text);
      return;
    } catch (e) {
      if ((e as { code?: string }).code !== "EAGAIN") return; // stderr closed or gone: a log line has nowhere to go
      viaStream = true;
    }
  }
  process.stderr.write(text);
}

export const plainLogReporter: ConsolaReporter = {
  log(logObj, ctx) {
    const { date: _date, ...inspect } = ctx.options.formatOptions;
    writeStderr(formatLogLine(logObj, inspect as InspectOptions) + "\n");
  },
};
