/**
 * Every command's --help lists only the options it uses: an option shown but ignored (`cache stats --template`) tells
 * the user it changes something when it changes nothing. The cache subcommands are checked through the real CLI
 * (what a user reads and types); the rule for the tree options is checked on every command of the tree.
 */
import { describe, expect, test } from "bun:test";
import { rootCommand } from "../../src/cli/commands.ts";
import { allCommands, commandSpec } from "../../src/cli/commandSpec.ts";
import { CLI } from "../support/paths.ts";
import { run } from "../support/process.ts";

/** The long options a --help text shows. */
function longOptions(help: string): string[] {
  const plain = help.replace(/\x1b\[[0-9;]*m/g, "");
  const options = plain.slice(plain.indexOf("OPTIONS"));
  return [...new Set([...options.matchAll(/--([a-z][a-z-]*)/g)].map((m) => m[1]!))].sort();
}

describe("the cache subcommands' --help", () => {
  const expected: Record<string, string[]> = {
    // The cache dir alone: no origins read, no tree laid out.
    stats: ["cache-dir", "config", "json", "log-level"],
    // Repairs from the origins (--origin replaces the config's); lays out no tree.
    verify: ["cache-dir", "config", "json", "log-level", "origin"],
    clear: ["cache-dir", "config", "log-level", "origin"],
  };
  test.each(Object.keys(expected))("cache %s --help lists only what it uses", async (sub) => {
    const r = await run(["bun", CLI, "cache", sub, "--help"]);
    expect(r.code).toBe(0);
    expect(longOptions(r.stdout + r.stderr)).toEqual(expected[sub]!);
  });

  test("an option the command does not use is refused, not silently ignored", async () => {
    for (const [sub, option] of [["stats", "--template=x"], ["verify", "--cover=x"], ["stats", "--origin=/tmp"]]) {
      const r = await run(["bun", CLI, "cache", sub!, option!]);
      expect({ sub, code: r.code }).toEqual({ sub, code: 2 });
      expect(r.stderr).toContain(`unknown option ${option!.split("=")[0]}`);
    }
  });
});

test("--template and --cover (the tree's layout) are offered only by the commands that lay out the tree", async () => {
  const spec = await commandSpec(rootCommand);
  const withLayout = allCommands(spec)
    .filter((c) => c.options.some((o) => o.name === "template" || o.name === "cover"))
    .map((c) => c.path.join(" "));
  expect(withLayout.sort()).toEqual(["mount", "scan"]);
});
