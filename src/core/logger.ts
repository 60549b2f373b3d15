import { createConsola, type ConsolaInstance } from "consola";

/**
 * The one logger. Level from MUSICFS_LOG_LEVEL (silent|error|warn|info|debug|trace) or the CLI's --log-level.
 * consola picks a fancy reporter on a terminal and plain lines otherwise (CI, systemd).
 */
const LEVELS: Record<string, number> = { silent: -999, error: 0, warn: 1, info: 3, debug: 4, trace: 5 };

export function parseLogLevel(name: string | undefined): number | undefined {
  if (!name) return undefined;
  return LEVELS[name.toLowerCase()];
}

export const log: ConsolaInstance = createConsola({
  level: parseLogLevel(process.env.MUSICFS_LOG_LEVEL) ?? 3,
  formatOptions: { date: false },
});

export function setLogLevel(name: string): void {
  const level = parseLogLevel(name);
  if (level === undefined) throw new Error(`unknown log level "${name}" (use one of ${Object.keys(LEVELS).join(", ")})`);
  log.level = level;
}

/** Shows $HOME as ~ in paths we print. */
export function tildify(path: string): string {
  const home = process.env.HOME;
  return home && home !== "/" && path.startsWith(home + "/") ? "~" + path.slice(home.length) : path;
}
