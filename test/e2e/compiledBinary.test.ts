/**
 * The product is the compiled single executable: build it, and mount with it from an empty working directory
 * (no source tree, no node_modules), so a worker entry missing from the binary fails here and not for users.
 */
import { afterAll, afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { REPO, cleanupAll, findFiles, run, startMount, tempDir } from "./harness.ts";

afterEach(cleanupAll);
afterAll(cleanupAll);

test("dist/musicfs demo: scans with its embedded scan workers and serves with its embedded FUSE workers", async () => {
  const build = await run(["bun", "run", "build"], { cwd: REPO, timeoutMs: 120_000 });
  expect(build.code).toBe(0);
  expect(build.stdout).toContain("dist/musicfs");
  const cwd = tempDir();
  const binary = join(REPO, "dist/musicfs");
  const mnt = join(cwd, "mnt");
  const server = await startMount(mnt, [], { command: [binary, "demo"], cwd });
  const files = await findFiles(mnt);
  expect(files.length).toBe(20);
  expect(server.output()).toContain("(0 without readable tags)");
  const flac = files.find((f) => f.endsWith(".flac"))!;
  const probe = await run(["ffprobe", "-v", "error", "-show_entries", "format=duration:format_tags=title", "-of", "json", join(mnt, flac)]);
  expect(probe.code).toBe(0);
  const info = JSON.parse(probe.stdout);
  expect(Number(info.format.duration)).toBeGreaterThan(1);
  expect(flac).toContain(info.format.tags.TITLE ?? info.format.tags.title);
  expect(await server.stop("SIGINT")).toBe(0);
}, 180_000);
