/**
 * The command tree as plain data: every command, its options and arguments, read from the same citty definitions
 * that --help prints. The shell completions (completions.ts) and the man page (manPage.ts) are made from this, so
 * a new command or option shows up in all three at once.
 */
import type { ArgsDef, CommandDef, CommandMeta } from "citty";

export interface OptionSpec {
  /** Long name without dashes ("cache-dir"). */
  name: string;
  /** Short or other names without dashes ("d"). */
  aliases: string[];
  /** Takes a value (`--cache-dir DIR`) rather than being a switch. */
  takesValue: boolean;
  description: string;
  /** Fixed values, when the definition lists them (enum options). */
  values?: string[];
}

export interface PositionalSpec {
  name: string;
  required: boolean;
  description: string;
}

export interface CommandSpec {
  /** Words after "musicfs" ([] for musicfs itself, ["cache", "stats"]). */
  path: string[];
  description: string;
  options: OptionSpec[];
  positionals: PositionalSpec[];
  subcommands: CommandSpec[];
}

type AnyCommand = CommandDef<ArgsDef>;

const resolve = async <T>(value: T | Promise<T> | (() => T | Promise<T>)): Promise<T> =>
  typeof value === "function" ? await (value as () => T | Promise<T>)() : await value;

/** --help, which every command takes (cliRunner answers it before the command runs). */
const HELP: OptionSpec = { name: "help", aliases: ["h"], takesValue: false, description: "Show this command's usage" };
/** --version, which only musicfs itself takes. */
const VERSION: OptionSpec = { name: "version", aliases: ["v"], takesValue: false, description: "Print the version and the commit it was built from" };

/** Reads the whole tree (loading every lazily imported command module). */
export async function commandSpec(root: AnyCommand, path: string[] = []): Promise<CommandSpec> {
  const meta: CommandMeta = (await resolve(root.meta)) ?? {};
  const args: ArgsDef = (await resolve(root.args)) ?? {};
  const options: OptionSpec[] = [];
  const positionals: PositionalSpec[] = [];
  for (const [name, def] of Object.entries(args)) {
    const description = def.description ?? "";
    if (def.type === "positional") {
      positionals.push({ name, required: def.required !== false, description });
      continue;
    }
    const alias = (def as { alias?: string | string[] }).alias;
    const aliases = alias === undefined ? [] : Array.isArray(alias) ? alias : [alias];
    options.push({
      name,
      aliases,
      takesValue: def.type !== "boolean",
      description,
      ...(def.type === "enum" && def.options ? { values: [...def.options] } : {}),
    });
    // A switch that is on by default is turned off with --no-NAME (citty's help lists both).
    if (def.type === "boolean" && def.default === true) {
      const negative = (def as { negativeDescription?: string }).negativeDescription;
      options.push({ name: `no-${name}`, aliases: [], takesValue: false, description: negative ?? `Turn off --${name}` });
    }
  }
  options.push(HELP);
  if (path.length === 0) options.push(VERSION);
  const subs = (await resolve(root.subCommands)) ?? {};
  const subcommands: CommandSpec[] = [];
  for (const [name, sub] of Object.entries(subs)) subcommands.push(await commandSpec(await resolve(sub), [...path, name]));
  return { path, description: meta.description ?? "", options, positionals, subcommands };
}

/** Every command of the tree, depth first, musicfs itself first. */
export function allCommands(spec: CommandSpec): CommandSpec[] {
  return [spec, ...spec.subcommands.flatMap(allCommands)];
}

/** "--cache-dir, -d" style names of an option, long first. */
export function optionFlags(o: OptionSpec): string[] {
  return [`--${o.name}`, ...o.aliases.map((a) => (a.length === 1 ? `-${a}` : `--${a}`))];
}
