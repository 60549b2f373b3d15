/**
 * `bun run test:unit`: the tests that need no mount and no S3 server — a quick check while working (under 30 s on a
 * quiet 2-core machine), besides the full suite (`bun run test`). Run in shards by the same runner as the full suite
 * (scripts/testAll.ts): one `bun test` process took 32–36 s of wall time for ~35 s of CPU; four shards take 21 s.
 *
 * Which files: every test file, except those that mount or start Ceph RGW, found by what they import (so a new test
 * is sorted by what it does, with no list to keep):
 *   - test/e2e/**            real mounts through the CLI (harness.ts)
 *   - test/release/**        the release archives and packages, built and mounted (demo) as users get them
 *   - files importing test/fuse/helpers.ts (memfs mounts), src/fuse/session.ts (startSession mounts),
 *     test/support/cephRgw.ts (a private RGW) or test/support/mpd.ts (MPD through a mount)
 *
 *   bun run test:unit [--list] [--shards K] [extra bun test options…]
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const REPO = resolve(import.meta.dir, "..");
const TEST = join(REPO, "test");
/** Modules whose import makes a test file need a mount or RGW. */
const NEEDS_MOUNT_OR_S3 = ["test/fuse/helpers.ts", "src/fuse/session.ts", "test/support/cephRgw.ts", "test/support/mpd.ts"].map((p) => join(REPO, p));
/** Static imports (type-only ones start nothing, so they do not count) and dynamic import() calls. */
const IMPORT = /^import\s+(?!type\s)[^;]*?\bfrom\s+["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']\s*\)/gm;

/** Every `*.test.ts` under `dir`, as absolute paths. */
export function testFiles(dir: string = TEST): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? testFiles(join(dir, e.name)) : e.name.endsWith(".test.ts") ? [join(dir, e.name)] : [],
  );
}

/** Does `file` import (statically, not type-only, or dynamically) one of `modules` (absolute paths)? */
export function importsAny(file: string, modules: string[]): boolean {
  for (const m of readFileSync(file, "utf8").matchAll(IMPORT)) {
    const spec = m[1] ?? m[2]!;
    if (spec.startsWith(".") && modules.includes(resolve(dirname(file), spec))) return true;
  }
  return false;
}

/** Is `file` a unit test (see above)? */
export function isUnitTest(file: string): boolean {
  if (/^(e2e|release)\//.test(relative(TEST, file))) return false;
  return !importsAny(file, NEEDS_MOUNT_OR_S3);
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const files = testFiles(TEST).filter(isUnitTest).map((f) => relative(REPO, f)).sort();
  if (args.includes("--list")) {
    console.log(files.join("\n"));
    process.exit(0);
  }
  // `./` makes each argument a path, not a name filter. The shards, reporters and options are testAll.ts's.
  const runner = join(REPO, "scripts", "testAll.ts");
  const proc = Bun.spawn(["bun", "run", runner, ...args, ...files.map((f) => `./${f}`)], { cwd: REPO, stdio: ["inherit", "inherit", "inherit"] });
  process.exit(await proc.exited);
}
