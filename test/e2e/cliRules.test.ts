/**
 * Issue 9 item 11: the CLI refuses what it does not understand (exit 2, one line on stderr), `--json` is JSON alone
 * on stdout, every log line goes to stderr, and nothing is coloured off a terminal or with NO_COLOR. Each case runs
 * the real CLI as a subprocess.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { scannedSampleLibrary } from "../support/scannedLibrary.ts";
import { CLI, cleanupAll, run, tempDir } from "./harness.ts";

afterAll(cleanupAll);

const ESC = "\x1b";
/** The environment of a user's shell: no test-runner variables that would switch colours or reporters off. */
function userEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !["NO_COLOR", "NODE_ENV", "TEST", "CI", "MUSICFS_LOG_LEVEL", "FORCE_COLOR"].includes(k)) env[k] = v;
  return { ...env, TERM: "xterm-256color", ...extra };
}
async function cli(args: string[], env: Record<string, string> = {}) {
  // In an empty folder: a command that wrongly ran (demo) writes there, not into the repository.
  const proc = Bun.spawn(["bun", CLI, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: userEnv(env), cwd: tempDir() });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

let origin: string;
let cache: string;
beforeAll(async () => {
  // The sample library, scanned by the CLI (once per test process; this file gets its own copy of the cache dir).
  const lib = await scannedSampleLibrary();
  origin = lib.origin;
  cache = lib.paths.cacheDir;
}, 180_000);

/** Every command, with the arguments it needs to get past parsing. */
const COMMANDS: string[][] = [
  ["mount", "/tmp/musicfs-never-mounted"],
  ["unmount", "/tmp/musicfs-never-mounted"],
  ["scan"],
  ["demo"],
  ["search", "x"],
  ["status"],
  ["collection", "add", "n", "q"],
  ["collection", "list"],
  ["collection", "rm", "n"],
  ["cache", "stats"],
  ["cache", "verify"],
  ["cache", "clear"],
];

function expectUsageError(r: { code: number; stdout: string; stderr: string }, mentions: string) {
  expect(r.code).toBe(2);
  expect(r.stdout).toBe("");
  const lines = r.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain(mentions);
  expect(r.stderr).not.toContain(ESC);
}

describe("usage errors: one line on stderr, exit 2, nothing done", () => {
  for (const args of COMMANDS) {
    test(`musicfs ${args.join(" ")} --bogus`, async () => {
      const r = await cli([...args, "--bogus", "--cache-dir", join(tempDir(), "never")]);
      expectUsageError(r, "unknown option --bogus");
    });
  }

  test("--log-level nonsense names the valid levels; no stack trace", async () => {
    const r = await cli(["status", "--log-level", "nonsense", "--cache-dir", cache]);
    expectUsageError(r, '--log-level "nonsense" is not a log level (use one of silent, error, warn, info, debug, trace)');
  });

  test("MUSICFS_LOG_LEVEL=bogus is refused, not ignored", async () => {
    const r = await cli(["status", "--cache-dir", cache], { MUSICFS_LOG_LEVEL: "bogus" });
    expectUsageError(r, 'MUSICFS_LOG_LEVEL "bogus" is not a log level');
  });

  test("an unknown command, a missing value, an extra argument, a missing subcommand", async () => {
    expectUsageError(await cli(["mountt"]), 'unknown command "mountt"');
    expectUsageError(await cli(["status", "--cache-dir"]), "--cache-dir needs a value");
    expectUsageError(await cli(["search", "a", "b", "--cache-dir", cache]), 'unexpected argument "b"');
    expectUsageError(await cli(["cache"]), "which command? (one of stats, verify, clear)");
  });

  test("bad option values: --cache-mode, --limit", async () => {
    expectUsageError(await cli(["mount", join(tempDir(), "m"), "--cache-mode", "half", "--origin", origin, "--cache-dir", join(tempDir(), "c")]), '--cache-mode must be "off" or "full"');
    expectUsageError(await cli(["search", "x", "--limit", "lots", "--cache-dir", cache]), "--limit must be a whole number");
  });

  test("declared options still work: aliases, --flag=value, --no-flag, -- before an argument that starts with -", async () => {
    const r = await cli(["search", "-d", cache, "--limit=3", "--json", "--", "-zzz sunday"]);
    expect(r.code).toBe(0);
    const found = JSON.parse(r.stdout);
    expect(found.total).toBeGreaterThan(3);
    expect(found.results).toHaveLength(3);
    expect((await cli(["mount", "--no-mkdir", join(tempDir(), "absent"), "--origin", origin, "--cache-dir", join(tempDir(), "c")])).stderr).toContain("does not exist");
  });
});

describe("--json is JSON alone on stdout; logs go to stderr", () => {
  const jsonCommands = [["status"], ["cache", "stats"], ["collection", "list"], ["search", "demo"]];
  for (const args of jsonCommands) {
    test(`musicfs ${args.join(" ")} --json`, async () => {
      const r = await cli([...args, "--json", "--cache-dir", cache]);
      expect(r.code).toBe(0);
      expect(() => JSON.parse(r.stdout)).not.toThrow();
      expect(r.stdout).not.toContain(ESC);
    });
  }

  // cache verify opens the origins (it repairs from them); cache stats no longer does, so it logs no such line.
  test("cache verify --json: the 'origins of the last mount' line is on stderr, not before the JSON", async () => {
    const r = await cli(["cache", "verify", "--json", "--cache-dir", cache]);
    expect(JSON.parse(r.stdout).corruptRemoved).toBe(0);
    expect(r.stderr).toContain("Using the origins of the last mount");
  });
});

describe("no colour codes off a terminal or with NO_COLOR", () => {
  const hasScript = Bun.which("script") !== null;

  test("help and logs through pipes have no ESC bytes", async () => {
    for (const args of [["--help"], ["mount", "--help"], ["cache", "stats", "--help"]]) {
      const r = await cli(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("USAGE");
      expect(r.stdout + r.stderr).not.toContain(ESC);
    }
    const logs = await cli(["cache", "verify", "--cache-dir", cache]);
    expect(logs.stderr).toContain("Using the origins");
    expect(logs.stderr).not.toContain(ESC);
  });

  /** Runs the CLI on a pseudo-terminal (util-linux script), returning what the terminal showed. */
  async function onTerminal(args: string[], env: Record<string, string> = {}) {
    const command = ["bun", CLI, ...args].map((a) => `'${a}'`).join(" ");
    const proc = Bun.spawn(["script", "-qfec", command, "/dev/null"], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: userEnv(env), cwd: tempDir() });
    const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
    return { out, code };
  }

  test.skipIf(!hasScript)("on a terminal: colours by default, none with NO_COLOR (help and log lines)", async () => {
    const coloured = await onTerminal(["mount", "--help"]);
    expect(coloured.out).toContain("USAGE");
    expect(coloured.out).toContain(ESC); // the terminal case really is a terminal, so the next check can fail
    const plainHelp = await onTerminal(["mount", "--help"], { NO_COLOR: "1" });
    expect(plainHelp.out).toContain("USAGE");
    expect(plainHelp.out).not.toContain(ESC);
    const plainLog = await onTerminal(["cache", "verify", "--cache-dir", cache], { NO_COLOR: "" });
    expect(plainLog.out).toContain("Using the origins");
    expect(plainLog.out).not.toContain(ESC);
  });
});
