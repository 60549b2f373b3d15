/**
 * The import arrows of docs/architecture.md, checked: every import in src/ (static, dynamic, and the worker entries
 * a module starts) must follow the documented direction, so a shortcut that breaks the layering fails here instead
 * of slowly tangling the code.
 */
import { expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { WORKER_ENTRIES } from "../build.ts";
import { REPO } from "./support/paths.ts";

const SRC = join(REPO, "src");

/** Which areas (top-level folders of src/, and the rooms of src/app/) each area may import. Same as the table in
 *  docs/architecture.md. */
const ALLOWED: Record<string, readonly string[]> = {
  core: [],
  config: ["core"],
  db: ["core"],
  origins: ["core"],
  fuse: ["core"],
  sample: ["core"],
  cas: ["core", "origins"],
  search: ["core"],
  library: ["core", "origins"],
  fs: ["core", "fuse", "db", "cas", "search"],
  // The rooms of app/, bottom to top; each imports only rooms below it (checked below: no cycle between rooms).
  "app/catalog": ["core", "config", "db", "origins", "library"],
  "app/sync": ["core", "config", "db", "origins", "library", "fs", "fuse", "app/catalog"],
  "app/library": ["core", "config", "db", "origins", "library", "search", "app/catalog", "app/sync"],
  "app/cache": ["core", "config", "db", "cas", "origins", "search", "fs", "fuse", "app/library"],
  "app/control": ["core", "config"],
  "app/mount": ["core", "config", "origins", "search", "fs", "fuse", "app/cache", "app/control", "app/library", "app/sync"],
  "app/commands": ["core", "config", "db", "cas", "search", "fuse", "sample", "app/cache", "app/control", "app/library", "app/mount"],
  cli: ["core", "config", "app/catalog", "app/sync", "app/library", "app/cache", "app/control", "app/mount", "app/commands"],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [join(dir, e.name)] : [],
  );
}

/**
 * The modules a module depends on, as absolute paths: static imports and re-exports (type-only ones included),
 * side-effect imports, dynamic `import("./x.ts")`, worker entries named to `workerEntry("area/x.ts")` (a path in
 * src/) and `new URL("./x.ts", import.meta.url)` (a worker started beside its module). Comment lines are skipped, so
 * an example in a doc comment is not taken for an import.
 */
function dependencies(file: string, text = readFileSync(file, "utf8")): string[] {
  const code = withoutCommentLines(text);
  const near = (spec: string) => resolve(dirname(file), spec);
  return [
    ...staticImports(file, text),
    ...[...code.matchAll(/\bimport\(\s*"(\.{1,2}\/[^"]+)"\s*\)/g)].map((m) => near(m[1]!)),
    ...[...code.matchAll(/\bnew URL\(\s*"(\.{1,2}\/[^"]+)"\s*,\s*import\.meta\.url\s*\)/g)].map((m) => near(m[1]!)),
    ...workerEntries(code).map((p) => join(SRC, p)),
  ];
}

/** The modules loaded with a module (static imports, re-exports, side-effect imports), as absolute paths. */
function staticImports(file: string, text = readFileSync(file, "utf8")): string[] {
  const code = withoutCommentLines(text);
  const near = (spec: string) => resolve(dirname(file), spec);
  return [
    ...[...code.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s+"(\.{1,2}\/[^"]+)"/g)].map((m) => near(m[1]!)),
    ...[...code.matchAll(/(?:^|\n)\s*import\s+"(\.{1,2}\/[^"]+)"/g)].map((m) => near(m[1]!)),
  ];
}

function withoutCommentLines(text: string): string {
  return text
    .split("\n")
    .filter((line) => !/^\s*(\*|\/\/|\/\*)/.test(line))
    .join("\n");
}

/** The paths (in src/) given to `workerEntry("…")`: the workers a compiled binary must embed. */
function workerEntries(code: string): string[] {
  return [...code.matchAll(/\bworkerEntry\(\s*"([^"]+)"\s*\)/g)].map((m) => m[1]!);
}

/** The area of a module: its top-level folder of src/, or `app/<room>` inside src/app/ (a module lying loose in
 *  src/app/ has the area `app`, which is in no rule: every app module lives in a room). */
function areaOf(path: string): string | null {
  const rel = relative(SRC, path);
  if (rel.startsWith("..")) return null;
  const parts = rel.split("/");
  return parts[0] === "app" && parts.length > 2 ? `app/${parts[1]}` : parts[0]!;
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
    for (const dep of dependencies(file)) {
      const to = areaOf(dep);
      if (to === null || to === from) continue; // package.json, schema.sql, node_modules internals; same area
      if (!ALLOWED[from]!.includes(to)) broken.push(`${relative(REPO, file)} imports src/${to}/ (${relative(SRC, dep)})`);
    }
  }
  expect(broken).toEqual([]);
});

test("src/app/ is rooms only: every folder in it is a documented room, no module lies loose", () => {
  const entries = readdirSync(join(SRC, "app"), { withFileTypes: true });
  expect(entries.filter((e) => !e.isDirectory()).map((e) => e.name)).toEqual([]);
  const rooms = entries.map((e) => `app/${e.name}`).sort();
  expect(rooms).toEqual(Object.keys(ALLOWED).filter((a) => a.startsWith("app/")).sort());
  const folders = readdirSync(SRC, { withFileTypes: true }).filter((e) => e.isDirectory() && e.name !== "app").map((e) => e.name);
  expect(Object.keys(ALLOWED).filter((a) => !a.startsWith("app/")).sort()).toEqual(folders.sort());
});

test("the arrows between areas and rooms point one way (the table has no cycle)", () => {
  const cycles: string[] = [];
  const done = new Set<string>();
  const walk = (area: string, path: string[]) => {
    if (path.includes(area)) return void cycles.push([...path.slice(path.indexOf(area)), area].join(" → "));
    if (done.has(area)) return;
    for (const next of ALLOWED[area] ?? []) walk(next, [...path, area]);
    done.add(area);
  };
  for (const area of Object.keys(ALLOWED)) walk(area, []);
  expect(cycles).toEqual([]);
});

// Static imports only: a dynamic import or a worker loads its module later (or in another thread), which is how a
// lazy command table refers back to its commands without a load-order cycle.
test("no module imports itself through others (no import cycles, type-only imports included)", () => {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    graph.set(file, staticImports(file).filter((p) => areaOf(p) !== null));
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
  expect(dependencies(join(SRC, "fuse/ffi.ts"))).toContain(join(SRC, "core/libc.ts"));
});

test("dynamic imports, side-effect imports and worker entries count as imports; comment lines do not", () => {
  const file = join(SRC, "fs/example.ts");
  const text = [
    'const m = await import("../app/mount/mountSession.ts");',
    'import "../search/sideEffect.ts";',
    'const url = workerEntry("library/scanWorker.ts");',
    'new Worker(new URL("../cas/someWorker.ts", import.meta.url));',
    ' * const session = await startSession({ workerUrl: new URL("../cli/inAComment.ts", import.meta.url).href });',
    '// import("../cli/alsoAComment.ts")',
  ].join("\n");
  expect(dependencies(file, text).map((p) => relative(SRC, p)).sort()).toEqual([
    "app/mount/mountSession.ts",
    "cas/someWorker.ts",
    "library/scanWorker.ts",
    "search/sideEffect.ts",
  ]);
});

test("every workerEntry(\"…\") names a module that exists and that build.ts embeds in the binary, and no other", () => {
  const named = new Set(sourceFiles(SRC).flatMap((f) => workerEntries(readFileSync(f, "utf8")).map((p) => `src/${p}`)));
  for (const p of named) expect(existsSync(join(REPO, p))).toBe(true);
  expect([...named].sort()).toEqual([...WORKER_ENTRIES].sort());
});
