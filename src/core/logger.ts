import { createConsola, type ConsolaInstance } from "consola/core";
import { UsageError } from "./errors.ts";
import { plainLogReporter } from "./plainLogReporter.ts";
import { isTerminal } from "./terminal.ts";

/**
 * The one logger. Level from MUSICFS_LOG_LEVEL (silent|error|warn|info|debug|trace) or the CLI's --log-level.
 * Fancy lines on a terminal, plain `[level] message` lines otherwise (pipes, CI, systemd). Every line goes to stderr,
 * so that stdout carries only a command's output (`--json` is JSON alone). Colours follow NO_COLOR, which the CLI
 * sets when stdout or stderr is not a terminal (src/cli/colourPolicy.ts).
 */
const LEVELS: Record<string, number> = { silent: -999, error: 0, warn: 1, info: 3, debug: 4, trace: 5 };

export function parseLogLevel(name: string | undefined): number | undefined {
  if (!name) return undefined;
  return LEVELS[name.toLowerCase()];
}

const level = parseLogLevel(process.env.MUSICFS_LOG_LEVEL) ?? 3;

/**
 * Badges and icons on a terminal (consola's full build, loaded only then: it brings node:tty and Node's streams);
 * one plain "[level] message" line otherwise (pipes, CI, systemd, tests), written by plainLogReporter.ts.
 */
function createLog(): ConsolaInstance {
  if (!("NO_COLOR" in process.env) && isTerminal(2)) {
    const full = require("consola") as typeof import("consola");
    // (`fancy` is a Node option of createConsola that the browser typings this project resolves do not declare.)
    return full.createConsola({ level, formatOptions: { date: false }, ...{ fancy: true }, stdout: process.stderr, stderr: process.stderr });
  }
  return createConsola({ level, formatOptions: { date: false }, reporters: [plainLogReporter] });
}

export const log: ConsolaInstance = createLog();

/** Sets the level by name; `source` names where the name came from (a flag, an environment variable) in the error. */
export function setLogLevel(name: string, source = "--log-level"): void {
  const level = parseLogLevel(name);
  if (level === undefined) throw new UsageError(`${source} "${name}" is not a log level (use one of ${Object.keys(LEVELS).join(", ")})`);
  log.level = level;
}

/** Shows $HOME as ~ in paths we print. */
export function tildify(path: string): string {
  const home = process.env.HOME;
  return home && home !== "/" && path.startsWith(home + "/") ? "~" + path.slice(home.length) : path;
}
