/**
 * `musicfs completions bash|zsh|fish`: every command and option that --help shows is offered by each shell's
 * script, and the scripts really complete in the shells (bash through its completion function as `complete -F`
 * calls it, fish through `complete -C`, zsh syntax-checked: its completion system needs a terminal).
 */
import { describe, expect, test } from "bun:test";
import { renderUsage, type ArgsDef, type CommandDef } from "citty";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { rootCommand } from "../../src/cli/commands.ts";
import { commandSpec } from "../../src/cli/commandSpec.ts";
import { SHELLS, completionScript } from "../../src/cli/completions.ts";
import { CLI } from "../support/paths.ts";
import { run } from "../support/process.ts";
import { cleanupAll, tempDir } from "../support/cleanup.ts";
import { hasProgram } from "../support/system.ts";
import { afterAll } from "bun:test";

afterAll(cleanupAll);

type AnyCommand = CommandDef<ArgsDef>;
const resolve = async <T>(v: T | Promise<T> | (() => T | Promise<T>)): Promise<T> => (typeof v === "function" ? await (v as () => T)() : await v);

/** What --help prints for every command, read with citty's own renderer (the one --help uses), keyed by path. */
async function helpTexts(cmd: AnyCommand, parent?: AnyCommand, path: string[] = []): Promise<Map<string, string>> {
  const out = new Map([[path.join(" "), await renderUsage(cmd, parent)]]);
  for (const [name, sub] of Object.entries((await resolve(cmd.subCommands)) ?? {}))
    for (const [k, v] of await helpTexts(await resolve(sub), cmd, [...path, name])) out.set(k, v);
  return out;
}

/** The flags and subcommand names a help text shows. */
function shownInHelp(text: string): { flags: string[]; commands: string[] } {
  const plain = text.replace(/\x1b\[[0-9;]*m/g, "");
  const flags = [...plain.matchAll(/(?:^|[\s,])(--?[a-z][a-z-]*)(?==|\s|,|$)/gm)].map((m) => m[1]!);
  const commandsSection = /COMMANDS\n\n([\s\S]*?)\n\n/.exec(plain)?.[1] ?? "";
  const commands = [...commandsSection.matchAll(/^\s+([a-z][a-z-]*)\s{2,}/gm)].map((m) => m[1]!);
  return { flags: [...new Set(flags)], commands };
}

const spec = await commandSpec(rootCommand);
const helps = await helpTexts(rootCommand);

test("--help of every command is read (the tree has the commands the README documents)", () => {
  expect([...helps.keys()]).toEqual(expect.arrayContaining(["", "mount", "unmount", "scan", "demo", "search", "collection add", "status", "cache clear", "completions fish"]));
});

describe.each(SHELLS)("%s completion", (shell) => {
  const script = completionScript(shell, spec);
  test("offers every command and option --help shows, for that command", () => {
    let checked = 0;
    for (const [path, text] of helps) {
      const { flags, commands } = shownInHelp(text);
      // Each command's flags appear in the script's entry for that command (a line or case naming its path).
      const entry = script.split("\n").filter((l) => (shell === "fish" ? l.includes(`__musicfs_is \\'${path}\\'`) : l.includes(`"${path}")`) || l.includes(`'${path}')`)));
      expect(entry.length).toBeGreaterThan(0);
      const text_ = entry.join("\n");
      for (const f of flags) {
        const shown = shell === "fish" ? (f.startsWith("--") ? `-l ${f.slice(2)}` : `-s ${f.slice(1)}`) : f;
        expect({ path, flag: f, offered: text_.includes(shown) }).toEqual({ path, flag: f, offered: true });
        checked++;
      }
      for (const c of commands) {
        expect({ path, command: c, offered: new RegExp(`[\\s'"(]${c}[\\s:'"]`).test(text_) }).toEqual({ path, command: c, offered: true });
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(60);
  });
});

test("musicfs completions bash prints the generated script", async () => {
  const r = await run(["bun", CLI, "completions", "bash"]);
  expect(r.code).toBe(0);
  expect(r.stdout).toBe(completionScript("bash", spec));
});

describe.skipIf(!hasProgram("bash"))("bash", () => {
  /** What bash offers for a command line ending at the cursor (the words typed, the last one partial). */
  async function complete(words: string[]): Promise<string[]> {
    const dir = tempDir("musicfs-compl-");
    const file = join(dir, "musicfs.bash");
    writeFileSync(file, completionScript("bash", spec));
    const array = words.map((w) => `'${w}'`).join(" ");
    const r = await run(["bash", "-c", `source '${file}'; COMP_WORDS=(${array}); COMP_CWORD=${words.length - 1}; _musicfs; printf '%s\\n' "\${COMPREPLY[@]}"`], { cwd: dir });
    expect(r.stderr).toBe("");
    return r.stdout.split("\n").filter(Boolean).sort();
  }
  test("commands, subcommands, options, values after an option", async () => {
    expect(await complete(["musicfs", ""])).toEqual(["cache", "collection", "completions", "demo", "install-service", "mount", "pin", "pins", "scan", "search", "status", "sync", "unmount", "unpin"]);
    expect(await complete(["musicfs", "ca"])).toEqual(["cache"]);
    expect(await complete(["musicfs", "cache", ""])).toEqual(["clear", "stats", "verify"]);
    expect(await complete(["musicfs", "mount", "--cache-d"])).toEqual(["--cache-dir"]);
    // The value of --cache-dir is not a command: "cache" after it does not switch to `musicfs cache`.
    expect(await complete(["musicfs", "mount", "-d", "cache", "--w"])).toEqual(["--watch"]);
    expect(await complete(["musicfs", "completions", "f"])).toEqual(["fish"]);
    expect(await complete(["musicfs", "cache", "clear", "--or"])).toEqual(["--origin"]);
  });
  test("works in an interactive bash (complete -F is registered)", async () => {
    const dir = tempDir("musicfs-compl-");
    const file = join(dir, "musicfs.bash");
    writeFileSync(file, completionScript("bash", spec));
    const r = await run(["bash", "-i", "-c", `source '${file}'; complete -p musicfs`], { env: { HOME: dir } });
    expect(r.stdout).toContain("complete -o filenames -F _musicfs musicfs");
  });
});

test.skipIf(!hasProgram("fish"))("fish: complete -C offers subcommands and options", async () => {
  const dir = tempDir("musicfs-compl-");
  const file = join(dir, "musicfs.fish");
  writeFileSync(file, completionScript("fish", spec));
  const ask = async (line: string) => {
    const r = await run(["fish", "--no-config", "-c", `source '${file}'; complete -C '${line}'`]);
    expect(r.stderr).toBe("");
    return r.stdout.split("\n").filter(Boolean).map((l) => l.split("\t")[0]!).sort();
  };
  expect(await ask("musicfs cache ")).toEqual(["clear", "stats", "verify"]);
  expect(await ask("musicfs mount --cache-d")).toEqual(["--cache-dir"]);
  expect(await ask("musicfs mount -d cache --wa")).toEqual(["--watch"]);
});

test.skipIf(!hasProgram("zsh"))("zsh: the script parses (zsh -n)", async () => {
  const dir = tempDir("musicfs-compl-");
  const file = join(dir, "_musicfs");
  writeFileSync(file, completionScript("zsh", spec));
  const r = await run(["zsh", "-n", file]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
});
