import { runCommand as runCittyCommand, showUsage, type ArgsDef, type CommandDef } from "citty";
import { UsageError } from "../core/errors.ts";
import { log, setLogLevel } from "../core/logger.ts";
import { argProblem, lastFlagValue } from "./argCheck.ts";

type AnyCommand = CommandDef<ArgsDef>;

const resolve = async <T>(value: T | Promise<T> | (() => T | Promise<T>)): Promise<T> =>
  typeof value === "function" ? await (value as () => T | Promise<T>)() : await value;

/** The command a command line names, its parent, its full name ("musicfs cache stats") and its own tokens. */
interface Resolved {
  command: AnyCommand;
  parent?: AnyCommand;
  name: string;
  tokens: string[];
}

async function resolveCommand(root: AnyCommand, rawArgs: string[]): Promise<Resolved> {
  let current: Resolved = { command: root, name: (await resolve(root.meta))?.name ?? "musicfs", tokens: rawArgs };
  for (;;) {
    const subCommands = await resolve(current.command.subCommands);
    if (!subCommands) return current;
    const at = current.tokens.findIndex((t) => !t.startsWith("-"));
    if (at < 0) return current;
    const wanted = current.tokens[at];
    if (!(wanted in subCommands)) {
      throw new UsageError(`${current.name}: unknown command "${wanted}" (one of ${Object.keys(subCommands).join(", ")})`);
    }
    const problem = argProblem((await resolve(current.command.args)) ?? {}, current.tokens.slice(0, at));
    if (problem) throw new UsageError(`${current.name}: ${problem}`);
    current = { command: await resolve(subCommands[wanted]), parent: current.command, name: `${current.name} ${wanted}`, tokens: current.tokens.slice(at + 1) };
  }
}

const isHelp = (t: string) => t === "--help" || t === "-h";

/**
 * The CLI's front door, instead of citty's runMain: help and version, then a strict check of the command line
 * (unknown options, missing values, extra arguments, bad log levels are usage errors: one line on stderr, exit 2),
 * then the command itself. The command's own errors are handled by runCommand (src/cli/run.ts).
 */
export async function runCli(root: AnyCommand, rawArgs: string[], versionLine: () => string): Promise<void> {
  let resolved: Resolved | undefined;
  try {
    const env = process.env.MUSICFS_LOG_LEVEL;
    if (env) setLogLevel(env, "MUSICFS_LOG_LEVEL");
    if (rawArgs.length === 1 && (rawArgs[0] === "--version" || rawArgs[0] === "-v")) {
      console.log(versionLine());
      return;
    }
    resolved = await resolveCommand(root, rawArgs);
    const end = resolved.tokens.indexOf("--");
    const ownTokens = end < 0 ? resolved.tokens : resolved.tokens.slice(0, end);
    if (ownTokens.some(isHelp)) {
      await showUsage(resolved.command, resolved.parent);
      return;
    }
    if (resolved.command.subCommands && !resolved.command.run) {
      const names = Object.keys((await resolve(resolved.command.subCommands)) ?? {});
      throw new UsageError(`which command? (one of ${names.join(", ")})`);
    }
    const problem = argProblem((await resolve(resolved.command.args)) ?? {}, resolved.tokens);
    if (problem) throw new UsageError(problem);
    const level = lastFlagValue(resolved.tokens, "log-level");
    if (level !== undefined) setLogLevel(level);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    usageFailure(resolved ? `${resolved.name}: ${e.message}` : e.message, resolved?.name ?? "musicfs");
  }
  try {
    await runCittyCommand(root, { rawArgs });
  } catch (e) {
    // citty's own checks (a missing required argument) are usage errors too.
    if ((e as Error)?.name !== "CLIError") throw e;
    usageFailure(`${resolved!.name}: ${(e as Error).message.replace(/^Missing/, "missing")}`, resolved!.name);
  }
}

function usageFailure(message: string, commandName: string): never {
  log.error(`${message}. See \`${commandName} --help\`.`);
  process.exit(2);
}
