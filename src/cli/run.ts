import { isUserError } from "../core/errors.ts";
import { log } from "../core/logger.ts";

/**
 * Wraps a command body: expected problems (UserError) become one clear message and an exit code; anything else is
 * a bug and is shown with its stack.
 */
export async function runCommand(body: () => Promise<void> | void): Promise<void> {
  try {
    await body();
  } catch (e) {
    if (isUserError(e)) {
      log.error(e.message);
      if (e.hint) log.info(e.hint);
      process.exit(e.exitCode);
    }
    log.error(e);
    process.exit(70); // EX_SOFTWARE
  }
}

/** citty keeps only the last of a repeated flag; this collects every value of `--name X`, `--name=X`, `-a X`. */
export function repeatedFlag(rawArgs: readonly string[], name: string, alias?: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const a = rawArgs[i];
    if (a === `--${name}` || (alias && a === `-${alias}`)) {
      if (i + 1 < rawArgs.length) out.push(rawArgs[++i]);
    } else if (a.startsWith(`--${name}=`)) out.push(a.slice(name.length + 3));
  }
  return out;
}

/** The common --log-level flag. */
export const logLevelArg = {
  "log-level": {
    type: "string" as const,
    description: "silent, error, warn, info (default), debug or trace; also MUSICFS_LOG_LEVEL (applied before the command runs)",
  },
};
