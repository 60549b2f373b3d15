/**
 * Mount lifecycle with real mounts: refusals before mounting, crash recovery, clean shutdown, passthrough, user
 * mounts through fusermount3, and the compiled binary.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { isUserError, UserError } from "../../src/core/errors.ts";
import { prepareMountpoint } from "../../src/fuse/mount.ts";
import { startSession } from "../../src/fuse/session.ts";
import { eventually } from "../support/eventually.ts";
import { HELLO } from "./memfs.ts";
import { hasFusePassthrough, isRoot } from "../support/system.ts";
import { cleanupAll, isMounted, mountpoint, run, SERVER, startServer, tempDir, trackMountpoint } from "./helpers.ts";

afterEach(cleanupAll);



async function userErrorOf(p: Promise<unknown>): Promise<UserError> {
  try {
    await p;
  } catch (e) {
    if (isUserError(e)) return e;
    throw e;
  }
  throw new Error("expected a UserError");
}

describe("before mounting", () => {
  test("a missing mountpoint is refused with the path and a fix, or created when asked", async () => {
    const missing = join(tempDir(), "no/such/dir");
    const e = await userErrorOf(prepareMountpoint(missing, { fsName: "musicfs" }));
    expect(e.message).toContain(missing);
    expect(e.message).toContain("does not exist");
    expect(e.hint).toContain("mkdir -p");
    expect(await prepareMountpoint(missing, { fsName: "musicfs", createMountpoint: true })).toBe(missing);
    expect(statSync(missing).isDirectory()).toBe(true);
  });

  test("a file or a non-empty directory is refused", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "song.flac"), "x");
    const notDir = await userErrorOf(prepareMountpoint(join(dir, "song.flac"), { fsName: "musicfs" }));
    expect(notDir.message).toContain("is not a directory");
    const nonEmpty = await userErrorOf(prepareMountpoint(dir, { fsName: "musicfs" }));
    expect(nonEmpty.message).toContain(`${dir} is not empty`);
    expect(nonEmpty.message).toContain("song.flac");
  });

  test("a mountpoint served by a live musicfs is refused, and the live mount keeps working", async () => {
    const mnt = mountpoint();
    const first = await startServer(mnt);
    expect(first.failure).toBeUndefined();
    const second = await startServer(mnt);
    expect(second.failure).toContain("already served by a running musicfs");
    expect(await second.proc.exited).toBe(1);
    expect((await run(["cat", join(mnt, "hello.txt")])).stdout).toBe(HELLO);
  });
});

describe("lifecycle", () => {
  test("SIGTERM and SIGINT unmount and exit 0", async () => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      const mnt = mountpoint();
      const s = await startServer(mnt);
      expect(s.failure).toBeUndefined();
      expect(await isMounted(mnt)).toBe(true);
      s.proc.kill(signal);
      expect(await s.proc.exited).toBe(0);
      expect(await isMounted(mnt)).toBe(false);
    }
  });

  test("after kill -9 the mount is dead ('Transport endpoint is not connected') and the next start clears it", async () => {
    const mnt = mountpoint();
    const s = await startServer(mnt);
    expect(s.failure).toBeUndefined();
    s.proc.kill(9);
    await s.proc.exited;
    const dead = await run(["ls", mnt]);
    expect(dead.stderr).toContain("Transport endpoint is not connected");
    expect(await isMounted(mnt)).toBe(true);

    const again = await startServer(mnt);
    expect(again.failure).toBeUndefined();
    expect((await run(["cat", join(mnt, "hello.txt")])).stdout).toBe(HELLO);
    const mounts = (await Bun.file("/proc/self/mountinfo").text()).split("\n").filter((l) => l.split(" ")[4] === mnt);
    expect(mounts).toHaveLength(1); // the stale one was detached, not stacked under
  });

  test("an unmount from outside ends the session cleanly", async () => {
    const mnt = mountpoint();
    const s = await startServer(mnt);
    expect(s.failure).toBeUndefined();
    expect((await run(["umount", mnt])).code).toBe(0);
    expect(await s.lines.next(["CLOSED "])).toBe("CLOSED unmounted-externally");
    expect(await s.proc.exited).toBe(0);
  });

  test("a worker that cannot start: startSession rejects and no hanging mount is left behind", async () => {
    const mnt = mountpoint();
    let error: unknown;
    try {
      // An INIT deadline beyond the test's timeout: the rejection must come from the worker failing, not the clock.
      await startSession({ mountpoint: mnt, fsName: "musicfs", readOnly: true, workerUrl: new URL("./doesNotExist.ts", import.meta.url).href, initTimeoutMs: 600_000 });
    } catch (e) {
      error = e;
    }
    expect(String(error)).toMatch(/worker/i);
    expect(await isMounted(mnt)).toBe(false);
    const ls = await run(["ls", mnt], { timeoutMs: 30_000 }); // a mount nobody serves would hang ls until killed
    expect(ls.code).toBe(0); // answers at once: the plain empty directory again
  });

  test("startSession resolves only once every worker has set up its filesystem, not at INIT alone", async () => {
    const mnt = mountpoint();
    const startGate = new SharedArrayBuffer(8);
    const gate = new Int32Array(startGate);
    const fsData = { ttlMs: 1000, stats: new SharedArrayBuffer(16), dynamic: new SharedArrayBuffer(1 << 16), gate: new SharedArrayBuffer(8), startGate };
    let worker1SetUpAtResolve = -1;
    const starting = startSession({
      mountpoint: mnt, fsName: "musicfs", readOnly: true, workerUrl: new URL("./gatedStartWorker.ts", import.meta.url).href,
      workerData: fsData, workers: 2, initTimeoutMs: 600_000,
    }).then((session) => ((worker1SetUpAtResolve = Atomics.load(gate, 1)), session));
    // Worker 0 answers INIT: the mount answers (from another process: this thread must not touch its own mount).
    await eventually(async () => (await run(["stat", "-c", "%F", mnt])).stdout.trim(), (t) => t === "directory");
    expect(worker1SetUpAtResolve).toBe(-1); // worker 1 is still held: not ready yet
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
    const session = await starting;
    expect(worker1SetUpAtResolve).toBe(1); // resolved after worker 1 had set itself up
    expect((await run(["cat", join(mnt, "hello.txt")])).stdout).toBe(HELLO);
    await session.unmount();
  });

  test("zero-message open: after the first OPEN is declined the kernel sends no more, and content is unchanged", async () => {
    const mnt = mountpoint();
    const s = await startServer(mnt, ["--zero-open"]);
    expect(s.failure).toBeUndefined();
    for (let i = 0; i < 5; i++) expect((await run(["cat", join(mnt, "hello.txt")])).stdout).toBe(HELLO);
    expect((await run(["cat", join(mnt, "sub/nested.txt")])).stdout).toBe("nested\n");
    s.send("stats");
    const stats = JSON.parse((await s.lines.next(["STATS "])).slice(6));
    expect(stats.opens).toBe(1);
  });
});

describe("passthrough", () => {
  test.skipIf(!hasFusePassthrough)("files served by passthrough read back correctly without READs reaching the server (needs root, kernel ≥ 6.9)", async () => {
    const backing = tempDir();
    writeFileSync(join(backing, "track.flac"), randomBytes(16 * 1024 * 1024 + 123));
    const mnt = mountpoint();
    const s = await startServer(mnt, ["--backing", backing]);
    expect(s.failure).toBeUndefined();
    expect(s.ready!.passthrough).toBe(true);
    const cmp = await run(["cmp", join(mnt, "mirror/track.flac"), join(backing, "track.flac")]);
    expect(cmp.code).toBe(0);
    s.send("stats");
    const stats = JSON.parse((await s.lines.next(["STATS "])).slice(6));
    expect(stats.mirrorReads).toBe(0);
    expect(stats.opens).toBeGreaterThanOrEqual(1);
  });

  test("without passthrough the same files are served with normal READs", async () => {
    const backing = tempDir();
    writeFileSync(join(backing, "track.flac"), randomBytes(4 * 1024 * 1024 + 7));
    const mnt = mountpoint();
    const s = await startServer(mnt, ["--backing", backing, "--no-passthrough"]);
    expect(s.failure).toBeUndefined();
    expect(s.ready!.passthrough).toBe(false);
    expect((await run(["cmp", join(mnt, "mirror/track.flac"), join(backing, "track.flac")])).code).toBe(0);
    s.send("stats");
    expect(JSON.parse((await s.lines.next(["STATS "])).slice(6)).mirrorReads).toBeGreaterThan(0);
  });
});

/**
 * The test server compiled into `dir`, so a normal user can run it even when the repository itself is not
 * readable to that user (a clone under a 0700 directory, as CI and mktemp make).
 */
async function compiledServerIn(dir: string): Promise<string> {
  const bin = join(dir, "memfs-server");
  const build = await run(["bun", "build", "--compile", SERVER, new URL("./memfsWorker.ts", import.meta.url).pathname, "--outfile", bin], { timeoutMs: 60_000 });
  if (build.code !== 0) throw new Error(`building the test server failed: ${build.stderr}`);
  chmodSync(bin, 0o755);
  return bin;
}

describe("user mount through fusermount3", () => {
  test.skipIf(!isRoot)("a normal user mounts, reads and unmounts on SIGTERM", async () => {
    const home = tempDir("musicfs-user-");
    chmodSync(home, 0o755);
    const mnt = join(home, "mnt");
    mkdirSync(mnt);
    chownSync(mnt, 65534, 65534);
    chownSync(home, 65534, 65534);
    trackMountpoint(mnt);
    const devMode = statSync("/dev/fuse").mode & 0o777;
    chmodSync("/dev/fuse", 0o666); // fusermount3 opens /dev/fuse as the user
    try {
      const env = { PATH: process.env.PATH!, HOME: home, TMPDIR: home, BUN_INSTALL_CACHE_DIR: join(home, ".bun") };
      // setpriv execs the program itself (runuser would stay in between and turn SIGTERM into exit code 143).
      const asUser = (cmd: string[]) => ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", ...cmd];
      const server = await compiledServerIn(home);
      const s = await startServer(mnt, [], { cmd: asUser([server, mnt]), env, cwd: home });
      expect(s.failure).toBeUndefined();
      expect(await isMounted(mnt)).toBe(true);
      const info = (await Bun.file("/proc/self/mountinfo").text()).split("\n").find((l) => l.split(" ")[4] === mnt)!;
      expect(info).toContain("user_id=65534");
      expect((await run(asUser(["cat", join(mnt, "hello.txt")]), { env })).stdout).toBe(HELLO);
      expect((await run(asUser(["ls", join(mnt, "sub")]), { env })).stdout).toBe("nested.txt\n");
      expect((await run(asUser(["touch", join(mnt, "x")]), { env })).stderr).toContain("Read-only file system");
      // Without allow_other, even root is kept out (the kernel's rule for user mounts).
      expect((await run(["ls", mnt])).stderr).toContain("Permission denied");
      s.proc.kill("SIGTERM");
      expect(await s.proc.exited).toBe(0);
      expect(await isMounted(mnt)).toBe(false);
    } finally {
      chmodSync("/dev/fuse", devMode);
    }
  });
});

describe("refusals for a normal user", () => {
  test.skipIf(!isRoot)("/dev/fuse not accessible, or fusermount3 missing: a clear message instead of a failed mount", async () => {
    const home = tempDir("musicfs-user-");
    chmodSync(home, 0o755);
    const mnt = join(home, "mnt");
    mkdirSync(mnt);
    chownSync(mnt, 65534, 65534);
    trackMountpoint(mnt);
    const asNobody = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"];
    const devMode = statSync("/dev/fuse").mode & 0o777;
    try {
      chmodSync("/dev/fuse", 0o600);
      const env = { PATH: process.env.PATH!, HOME: home, TMPDIR: home };
      const server = await compiledServerIn(home);
      const noDevice = await startServer(mnt, [], { cmd: [...asNobody, server, mnt], env, cwd: home });
      expect(noDevice.failure).toContain("/dev/fuse is not readable and writable by this user (uid 65534)");
      expect(noDevice.failure).toContain("chmod 0666 /dev/fuse");

      chmodSync("/dev/fuse", 0o666);
      const noTool = await startServer(mnt, [], { cmd: [...asNobody, server, mnt], env: { ...env, PATH: home }, cwd: home });
      expect(noTool.failure).toContain("fusermount3 was not found");
      expect(noTool.failure).toContain("fuse3");
      expect(await isMounted(mnt)).toBe(false);
    } finally {
      chmodSync("/dev/fuse", devMode);
    }
  });
});

describe("compiled binary", () => {
  test("bun build --compile of the server + its worker entry mounts and serves from an empty cwd", async () => {
    const out = tempDir();
    const bin = join(out, "memfs-server");
    const build = await run(["bun", "build", "--compile", SERVER, new URL("./memfsWorker.ts", import.meta.url).pathname, "--outfile", bin], { timeoutMs: 60_000 });
    expect(build.stderr).not.toContain("error");
    expect(build.code).toBe(0);
    const empty = join(out, "empty");
    mkdirSync(empty);
    const mnt = mountpoint();
    const s = await startServer(mnt, [], { cmd: [bin, mnt], cwd: empty });
    expect(s.failure).toBeUndefined();
    expect((await run(["cat", join(mnt, "hello.txt")])).stdout).toBe(HELLO);
    expect((await run(["ls", join(mnt, "many")])).stdout.split("\n").filter(Boolean)).toHaveLength(1000);
    s.proc.kill("SIGTERM");
    expect(await s.proc.exited).toBe(0);
    expect(await isMounted(mnt)).toBe(false);
  });
});
