/**
 * The import arrows of docs/architecture.md, checked: every `import … from "../<area>/…"` in src/ must follow the
 * documented direction, so a shortcut that breaks the layering fails here instead of slowly tangling the code.
 */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { REPO } from "./support/paths.ts";

const SRC = join(REPO, "src");

/** Which areas (top-level folders of src/) each area may import. Same as the table in docs/architecture.md. */
const ALLOWED: Record<string, readonly string[]> = {
  core: [],
  config: ["core"],
  db: ["core"],
  origins: ["core"],
  fuse: ["core"],
  sample: ["core"],
  cas: ["core", "origins"],
  search: ["core", "db"],
  library: ["core", "origins"],
  fs: ["core", "fuse", "db", "cas", "search", "origins"],
  app: ["core", "config", "db", "origins", "cas", "search", "library", "fs", "fuse", "sample"],
  cli: ["core", "config", "app"],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [join(dir, e.name)] : [],
  );
}

/** Relative import specifiers of a module (static imports and re-exports, type-only ones included). */
function relativeImports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s+"(\.{1,2}\/[^"]+)"/g)].map((m) => m[1]!);
}

function areaOf(path: string): string | null {
  const rel = relative(SRC, path);
  return rel.startsWith("..") ? null : rel.split("/")[0]!;
}

test("every import in src/ follows the documented direction (docs/architecture.md)", () => {
  const broken: string[] = [];
  const files = sourceFiles(SRC);
  expect(files.length).toBeGreaterThan(50);
  for (const file of files) {
    const from = areaOf(file)!;
    if (!(from in ALLOWED)) {
      broken.push(`${relative(REPO, file)}: area src/${from}/ is not in the documented layering`);
      continue;
    }
    for (const spec of relativeImports(file)) {
      const to = areaOf(resolve(dirname(file), spec));
      if (to === null || to === from) continue; // package.json, schema.sql, node_modules internals; same area
      if (!ALLOWED[from]!.includes(to)) broken.push(`${relative(REPO, file)} imports src/${to}/ ("${spec}")`);
    }
  }
  expect(broken).toEqual([]);
});

test("no module imports itself through others (no import cycles, type-only imports included)", () => {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    graph.set(file, relativeImports(file).map((spec) => resolve(dirname(file), spec)).filter((p) => areaOf(p) !== null));
  }
  const cycles: string[] = [];
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, "visiting");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "visiting") cycles.push(stack.slice(stack.indexOf(next)).map((p) => relative(SRC, p)).join(" → "));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  expect(cycles).toEqual([]);
});

test("the layering check sees imports (a module known to import core/ is found)", () => {
  const imports = relativeImports(join(SRC, "fuse/ffi.ts"));
  expect(imports).toContain("../core/libc.ts");
});
