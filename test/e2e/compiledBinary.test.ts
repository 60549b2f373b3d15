/**
 * The product is the compiled single executable: build it, and mount with it from an empty working directory
 * (no source tree, no node_modules), so a worker entry missing from the binary fails here and not for users.
 */
import { afterAll, afterEach, expect, test } from "bun:test";
import { chmodSync, chownSync, copyFileSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO, cleanupAll, findFiles, isCoverFile, run, startMount, tempDir } from "./harness.ts";
import { hasProgram, isRoot } from "../support/system.ts";
import { eventually } from "../support/eventually.ts";
import { writeFlac } from "../../src/sample/flacWriter.ts";
import { silence } from "../../src/sample/tone.ts";
import { pseudoRandomBytes } from "../cas/testData.ts";

afterEach(cleanupAll);
afterAll(cleanupAll);

/** `bun run build`, once for this file: both tests run the same dist/musicfs (each checks the build's result). */
let building: ReturnType<typeof run> | null = null;
const build = () => (building ??= run(["bun", "run", "build"], { cwd: REPO, timeoutMs: 120_000 }));

test("dist/musicfs demo: scans with its embedded scan workers and serves with its embedded FUSE workers", async () => {
  const built = await build();
  expect(built.code).toBe(0);
  expect(built.stdout).toContain("dist/musicfs");
  const cwd = tempDir();
  const binary = join(REPO, "dist/musicfs");
  const mnt = join(cwd, "mnt");
  const server = await startMount(mnt, [], { command: [binary, "demo"], cwd });
  const files = await findFiles(mnt);
  expect(files.filter((f) => !isCoverFile(f)).length).toBe(20);
  expect(files.filter(isCoverFile).length).toBe(4); // the demo's four albums have art
  expect(server.output()).toContain("(0 without readable tags)");
  const flac = files.find((f) => f.endsWith(".flac"))!;
  const probe = await run(["ffprobe", "-v", "error", "-show_entries", "format=duration:format_tags=title", "-of", "json", join(mnt, flac)]);
  expect(probe.code).toBe(0);
  const info = JSON.parse(probe.stdout);
  expect(Number(info.format.duration)).toBeGreaterThan(1);
  expect(flac).toContain(info.format.tags.TITLE ?? info.format.tags.title);
  expect(await server.stop("SIGINT")).toBe(0);
}, 180_000);

test("dist/musicfs with a cached origin: a file read whole is fetched, hashed by its embedded hash worker and completes", async () => {
  const built = await build();
  expect(built.code).toBe(0);
  const cwd = tempDir();
  const origin = join(cwd, "origin");
  const cache = join(cwd, "cache");
  const head = writeFlac({ title: "Whole", artists: ["Binary"], album: "Hashed", track: 1 }, silence(0.01));
  // Past the playback threshold (4 MiB): reading it through starts the whole-file fetch into a data file.
  const bytes = new Uint8Array(6 * 1024 * 1024);
  bytes.set(head);
  bytes.set(pseudoRandomBytes(bytes.length - head.length, 5), head.length);
  Bun.spawnSync(["mkdir", "-p", origin]);
  writeFileSync(join(origin, "whole.flac"), bytes);
  const mnt = join(cwd, "mnt");
  const binary = join(REPO, "dist/musicfs");
  const server = await startMount(mnt, [], { command: [binary, "mount", mnt, "--origin", origin, "--cache-mode", "full", "--cache-dir", cache], cwd });
  const track = (await findFiles(mnt)).find((f) => f.endsWith(".flac"))!;
  expect(Bun.SHA256.hash(readFileSync(join(mnt, track)), "hex")).toBe(Bun.SHA256.hash(bytes, "hex"));
  // A complete data file has a name without the partial's leading dot; it exists only once the manifest checked.
  const complete = () => readdirSync(join(cache, "data"), { recursive: true }).map(String).some((n) => /(^|\/)\d+-[^/]*$/.test(n));
  await eventually(complete, (x) => x, 60_000);
  expect(server.output()).not.toContain("hash worker");
  expect(await server.stop("SIGTERM")).toBe(0);
}, 180_000);

test.skipIf(!isRoot || !hasProgram("fusermount3"))("as a normal user: dist/musicfs mounts through fusermount3 and serves without passthrough (needs root to set up the user, and fusermount3)", async () => {
  const built = await build();
  expect(built.code).toBe(0);
  const home = tempDir();
  chmodSync(home, 0o755);
  chownSync(home, 65534, 65534);
  const binary = join(home, "musicfs");
  copyFileSync(join(REPO, "dist/musicfs"), binary);
  chmodSync(binary, 0o755);
  const devMode = statSync("/dev/fuse").mode & 0o777;
  chmodSync("/dev/fuse", 0o666); // the distributions' default; this machine ships 0600
  try {
    const asNobody = (cmd: string[]) => ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", ...cmd];
    const env = { PATH: process.env.PATH!, HOME: home, XDG_CACHE_HOME: join(home, ".cache") };
    const mnt = join(home, "mnt");
    const server = await startMount(mnt, [], { command: asNobody([binary, "demo"]), cwd: home, env });
    const info = (await Bun.file("/proc/self/mountinfo").text()).split("\n").find((l) => l.split(" ")[4] === mnt)!;
    expect(info).toContain("user_id=65534");
    const files = (await run(asNobody(["find", mnt, "-type", "f"]), { env })).stdout.split("\n").filter(Boolean);
    expect(files.filter((f) => !isCoverFile(f)).length).toBe(20);
    const track = files.find((f) => !isCoverFile(f))!;
    const probe = await run(asNobody(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", track]), { env, cwd: home });
    expect(Number(probe.stdout)).toBeGreaterThan(1);
    expect(await server.stop("SIGTERM")).toBe(0);
    expect(await Bun.file("/proc/self/mountinfo").text()).not.toContain(` ${mnt} `);
  } finally {
    chmodSync("/dev/fuse", devMode);
  }
}, 180_000);
