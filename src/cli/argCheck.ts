import type { ArgsDef } from "citty";

/**
 * The command line a command accepts, checked before it runs: citty parses leniently (an unknown `--bogus` is
 * silently dropped), so this refuses every token the command does not declare. Pure: returns the problem or null.
 */
export function argProblem(argsDef: ArgsDef, tokens: readonly string[]): string | null {
  const defs = Object.entries(argsDef);
  const byName = new Map<string, ArgsDef[string]>();
  for (const [name, def] of defs) {
    if (def.type === "positional") continue;
    byName.set(name, def);
    for (const alias of aliasesOf(def)) byName.set(alias, def);
  }
  // A positional whose valueHint ends in "..." (`musicfs pin PATH...`) takes any number of values.
  const variadic = defs.some(([, def]) => def.type === "positional" && String((def as { valueHint?: string }).valueHint ?? "").endsWith("..."));
  const positionals = variadic ? Number.POSITIVE_INFINITY : defs.filter(([, def]) => def.type === "positional").length;
  let given = 0;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token === "--") {
      given += tokens.length - i - 1;
      break;
    }
    if (!token.startsWith("-") || token === "-") {
      given++;
      continue;
    }
    const flag = token.replace(/^--?/, "");
    const eq = flag.indexOf("=");
    const name = eq < 0 ? flag : flag.slice(0, eq);
    const shown = `${token.startsWith("--") ? "--" : "-"}${name}`;
    const def = byName.get(name);
    if (!def) {
      const negated = token.startsWith("--no-") ? byName.get(name.slice(3)) : undefined;
      if (negated?.type === "boolean" && eq < 0) continue;
      return `unknown option ${shown}${/[^\w-]/.test(name) ? " (an argument that starts with - goes after --)" : ""}`;
    }
    if (def.type === "boolean") {
      if (eq >= 0 && !["true", "false"].includes(flag.slice(eq + 1))) return `${shown} takes no value (got "${flag.slice(eq + 1)}")`;
      continue;
    }
    if (eq < 0) {
      if (i + 1 >= tokens.length) return `${shown} needs a value`;
      i++;
    }
  }
  if (given > positionals) {
    const extra = tokens.filter((t) => !t.startsWith("-"))[positionals];
    return `unexpected argument${extra === undefined ? "" : ` "${extra}"`} (takes ${positionals === 0 ? "none" : `at most ${positionals}`})`;
  }
  return null;
}

function aliasesOf(def: ArgsDef[string]): string[] {
  const alias = (def as { alias?: string | string[] }).alias;
  return alias === undefined ? [] : Array.isArray(alias) ? alias : [alias];
}

/** The last value of `--name X` / `--name=X` among the tokens (before `--`), if any. */
export function lastFlagValue(tokens: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t === "--") break;
    if (t === `--${name}`) value = tokens[++i];
    else if (t.startsWith(`--${name}=`)) value = t.slice(name.length + 3);
  }
  return value;
}
