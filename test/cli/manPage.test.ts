/**
 * musicfs(1): made from the command definitions and the README, it renders with man(1) without a warning, and
 * shows every command and option that --help has (so the page cannot fall behind the program).
 */
import { afterAll, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { rootCommand } from "../../src/cli/commands.ts";
import { allCommands, commandSpec, optionFlags } from "../../src/cli/commandSpec.ts";
import { manPage, markdownToRoff } from "../../src/cli/manPage.ts";
import { cleanupAll, tempDir } from "../support/cleanup.ts";
import { REPO } from "../support/paths.ts";
import { run } from "../support/process.ts";
import { hasProgram } from "../support/system.ts";

afterAll(cleanupAll);

const spec = await commandSpec(rootCommand);
const page = manPage({ spec, readme: readFileSync(join(REPO, "README.md"), "utf8"), version: "9.8.7", date: "2026-01-02" });

test.skipIf(!hasProgram("man"))("man -l renders musicfs.1 without warnings, with every command, option and README command section", async () => {
  const file = join(tempDir("musicfs-man-"), "musicfs.1");
  writeFileSync(file, page);
  const r = await run(["man", "--warnings", "-l", file], { env: { MANWIDTH: "80", MANPAGER: "cat", PAGER: "cat" } });
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const text = r.stdout.replace(/.\x08/g, ""); // overstrike bold/underline, when man formats for a terminal
  expect(text).toContain("MUSICFS(1)");
  expect(text).toContain("musicfs 9.8.7");
  // man hyphenates long words at line ends: compare without line breaks and hyphenation.
  const flat = text.replace(/‐\n\s*/g, "").replace(/\s+/g, " ");
  for (const c of allCommands(spec).filter((c) => c.path.length > 0)) {
    expect(flat).toContain(`musicfs ${c.path.join(" ")}`);
    for (const o of c.options) for (const f of optionFlags(o)) expect({ command: c.path.join(" "), flag: f, shown: flat.includes(f) }).toEqual({ command: c.path.join(" "), flag: f, shown: true });
  }
  // Text that only the README has: its mount section and its configuration example.
  expect(flat).toContain("Shutdown (first SIGINT/SIGTERM) is ordered");
  expect(flat).toContain("mount_point = \"~/MusicView\"");
});

test("Markdown → roff: code in bold with real minus signs, lines starting with a dot protected, option tables left to the definitions", () => {
  expect(markdownToRoff("Run `musicfs mount --watch` now.")).toBe(".PP\nRun \\fBmusicfs mount \\-\\-watch\\fR now.");
  expect(markdownToRoff("```\n.hidden\n```")).toContain("\\&.hidden");
  expect(markdownToRoff("| option | meaning |\n|---|---|\n| `--x` | y |")).toBe("");
  expect(markdownToRoff("| path | what |\n|---|---|\n| `/a` | b \\| c |")).toBe(".TP\n\\fB/\\:a\\fR\nb | c");
});
