/**
 * The man page musicfs(1), made from the command tree (commandSpec.ts, the same definitions --help prints) and the
 * README's sections (the text a user reads on the project page). Pure: spec + README text in, roff out; the release
 * build (scripts/release.ts) writes it into every archive as musicfs.1.
 */
import { allCommands, optionFlags, type CommandSpec } from "./commandSpec.ts";

export interface ManPageInput {
  spec: CommandSpec;
  readme: string;
  version: string;
  /** YYYY-MM-DD: the commit's date, so that two builds of one commit give the same page. */
  date: string;
}

/** README sections by heading ("## Configuration" → "Configuration"), "### `musicfs mount …`" included. */
export function readmeSections(readme: string): Map<string, string> {
  const out = new Map<string, string>();
  let heading: string | null = null;
  let body: string[] = [];
  let fenced = false;
  const flush = () => {
    if (heading !== null) out.set(heading, body.join("\n").trim());
  };
  for (const line of readme.split("\n")) {
    if (line.startsWith("```")) fenced = !fenced;
    const h = fenced ? null : /^(#{2,3}) (.*)$/.exec(line);
    if (h) {
      flush();
      heading = h[2]!;
      body = [];
    } else body.push(line);
  }
  flush();
  return out;
}

/** The README section of a command: the "### `musicfs cache stats` · …" heading whose first words name it. */
function commandSection(sections: Map<string, string>, path: string[]): string | undefined {
  for (const [heading, body] of sections) {
    const words = /^`musicfs ([^`]*)`/.exec(heading)?.[1]?.split(" ") ?? [];
    if (words.length > 0 && path.every((p, i) => words[i] === p) && /^[A-Z[]|^$/.test(words[path.length] ?? "")) return body;
  }
  return undefined;
}

const GLYPHS: Record<string, string> = {
  "≥": "\\(>=", "≤": "\\(<=", "→": "\\(->", "←": "\\(<-", "—": "\\(em", "–": "\\(en", "…": "...", "·": "\\(md",
  "×": "\\(mu", "’": "\\(cq", "‘": "\\(oq", "“": "\\(lq", "”": "\\(rq", "é": "\\('e", "è": "\\(`e", "ü": "\\(:u",
};

/** Text as roff: backslashes and non-ASCII escaped (the page renders the same in any locale). */
export function roffEscape(text: string): string {
  return text
    .replace(/\\/g, "\\e")
    .replace(/[^\x00-\x7f]/gu, (c) => GLYPHS[c] ?? `\\[u${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}]`);
}

/** Markdown inline markup → roff: `code` and **bold** in bold, links as their text. */
export function roffInline(text: string): string {
  const parts = text.split(/(`[^`]*`)/);
  return parts
    .map((part) => {
      if (part.startsWith("`") && part.endsWith("`") && part.length >= 2) {
        // Code is typed by the reader: real minus signs, and a line may break after a slash.
        return `\\fB${roffEscape(part.slice(1, -1)).replace(/-/g, "\\-").replace(/\//g, "/\\:")}\\fR`;
      }
      return roffEscape(part.replace(/\[([^\]]+)\]\([^)]+\)/g, "$1")).replace(/\*\*([^*]+)\*\*/g, "\\fB$1\\fR");
    })
    .join("");
}

/** A roff text line: one that would start with a control character is protected. */
const textLine = (s: string) => (/^[.']/.test(s) ? `\\&${s}` : s);

const tableCells = (row: string) =>
  row.trim().replace(/^\||\|$/g, "").split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, "|"));

/**
 * Markdown blocks → roff: paragraphs, bullet lists, fenced code, tables (as tagged paragraphs). A table of options
 * is left out: the options come from the command definitions, which are complete.
 */
export function markdownToRoff(markdown: string): string {
  const out: string[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; ) {
    const line = lines[i]!;
    if (line.trim() === "" || line.trim() === "---") {
      i++;
      continue;
    }
    if (line.startsWith("```")) {
      const code: string[] = [];
      for (i++; i < lines.length && !lines[i]!.startsWith("```"); i++) code.push(lines[i]!);
      i++;
      out.push(".PP", ".RS 4", ".nf", ...code.map((c) => textLine(roffEscape(c))), ".fi", ".RE");
      continue;
    }
    if (line.startsWith("|")) {
      const rows: string[][] = [];
      for (; i < lines.length && lines[i]!.startsWith("|"); i++) rows.push(tableCells(lines[i]!));
      const [header, , ...body] = rows;
      if (header?.[0]?.toLowerCase() === "option") continue;
      for (const row of body) out.push(".TP", textLine(roffInline(row[0] ?? "")), textLine(roffInline(row.slice(1).join(" "))));
      continue;
    }
    const bullet = /^[-*] (.*)$/.exec(line);
    const block: string[] = [bullet ? bullet[1]! : line.trim()];
    for (i++; i < lines.length; i++) {
      const next = lines[i]!;
      if (next.trim() === "" || next.startsWith("```") || next.startsWith("|") || /^[-*] /.test(next)) break;
      block.push(next.trim());
    }
    out.push(bullet ? ".IP \\(bu 2" : ".PP", textLine(roffInline(block.join(" "))));
  }
  return out.join("\n");
}

function synopsis(c: CommandSpec): string {
  const args = c.subcommands.length > 0 ? [c.subcommands.map((s) => s.path.at(-1)).join("|")] : c.positionals.map((p) => (p.required ? p.name.toUpperCase() : `[${p.name.toUpperCase()}]`));
  return ["musicfs", ...c.path, ...(c.options.length > 1 ? ["[OPTIONS]"] : []), ...args].join(" ");
}

function commandEntry(c: CommandSpec, sections: Map<string, string>): string[] {
  const out = [`.SS "${roffEscape(synopsis(c))}"`, textLine(roffInline(c.description))];
  const section = c.path.length === 1 ? commandSection(sections, c.path) : undefined;
  if (section) out.push(markdownToRoff(section));
  for (const p of c.positionals) out.push(".TP", `.I ${p.name.toUpperCase()}`, textLine(roffInline(p.description)));
  for (const o of c.options) {
    if (o.name === "help") continue; // every command has it; said once under OPTIONS
    const flags = optionFlags(o).map((f) => `\\fB${f.replace(/-/g, "\\-")}\\fR`).join(", ");
    out.push(".TP", `${flags}${o.takesValue ? ` \\fI${o.values ? o.values.join("|") : o.name.toUpperCase().replace(/-/g, "_")}\\fR` : ""}`, textLine(roffInline(o.description)));
  }
  return out;
}

export function manPage({ spec, readme, version, date }: ManPageInput): string {
  const sections = readmeSections(readme);
  const intro = readme.split("\n---\n")[1]?.split("\n## ")[0] ?? "";
  const section = (name: string) => markdownToRoff(sections.get(name) ?? "");
  const out = [
    `.TH MUSICFS 1 ${date} "musicfs ${version}" "User Commands"`,
    ".SH NAME",
    `musicfs \\- ${roffEscape(spec.description.replace(/\.$/, "").replace(/^./, (c) => c.toLowerCase()))}`,
    ".SH SYNOPSIS",
    ...allCommands(spec)
      .filter((c) => c.path.length > 0 && c.subcommands.length === 0)
      .flatMap((c) => [".br", `.B musicfs ${c.path.join(" ")}`, `[\\fIOPTIONS\\fR]${c.positionals.map((p) => ` ${p.required ? "" : "["}\\fI${p.name.toUpperCase()}\\fR${p.required ? "" : "]"}`).join("")}`]),
    ".SH DESCRIPTION",
    markdownToRoff(intro),
    ".SH OPTIONS",
    ".TP",
    "\\fB\\-\\-help\\fR, \\fB\\-h\\fR",
    "Every command shows its usage, options and arguments.",
    ".TP",
    "\\fB\\-\\-version\\fR, \\fB\\-v\\fR",
    "The version and the commit this musicfs was built from.",
    ".SH CONVENTIONS",
    section("Commands"),
    ".SH COMMANDS",
    ...allCommands(spec).filter((c) => c.path.length > 0).flatMap((c) => commandEntry(c, sections)),
    ".SH REQUIREMENTS",
    section("Requirements"),
    ".SH CONFIGURATION",
    section("Configuration"),
    ".SH FILES",
    section("Files"),
    ".SH SEE ALSO",
    "\\fBfusermount3\\fR(1), \\fBsystemctl\\fR(1); the project's docs/ folder (templates, search, origins, sync).",
    "",
  ];
  return out.filter((l) => l !== "").join("\n") + "\n";
}
