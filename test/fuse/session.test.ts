/**
 * Serving a real mount: the in-memory test filesystem (memfs.ts) is served by a child process and exercised with
 * ordinary programs, the way users and players touch musicfs.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { availableParallelism } from "node:os";
import { closeSync, constants, openSync, writeFileSync } from "node:fs";
import { BIG_SIZE, DEFERRED_CONTENT, fillPattern, HELLO, MANY_COUNT } from "./memfs.ts";
import { cleanupAll, isMounted, mountpoint, run, type Server, startServer, tempDir } from "./helpers.ts";

let mnt: string;
let server: Server;
let expected: Uint8Array;
let expectedPath: string;

beforeAll(async () => {
  mnt = mountpoint();
  server = await startServer(mnt);
  expect(server.failure).toBeUndefined();
  expected = new Uint8Array(BIG_SIZE);
  fillPattern(expected, 0);
  expectedPath = join(tempDir(), "expected.bin");
  writeFileSync(expectedPath, expected);
});
afterAll(cleanupAll);

describe("a mounted filesystem", () => {
  test("ls -la shows the entries with modes, sizes and the symlink target", async () => {
    const r = await run(["ls", "-la", mnt]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^-r--r--r-- +1 \S+ +\S+ +13 .* hello\.txt$/m);
    expect(r.stdout).toMatch(/^-r--r--r-- .* 67108864 .* big\.bin$/m);
    expect(r.stdout).toMatch(/^dr-xr-xr-x .* sub$/m);
    expect(r.stdout).toMatch(/^lrwxrwxrwx .* link -> hello\.txt$/m);
    expect(r.stdout).toMatch(/ \.\.?$/m);
  });

  test("stat reports size, mode, inode and mtime", async () => {
    const r = await run(["stat", "-c", "%s %a %F %i %Y", join(mnt, "big.bin"), join(mnt, "sub")]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual([
      `${BIG_SIZE} 444 regular file 5 ${Date.UTC(2024, 0, 2, 3, 4, 5) / 1000}`,
      `0 555 directory 3 ${Date.UTC(2024, 0, 2, 3, 4, 5) / 1000}`,
    ]);
  });

  test("find walks the whole tree, including a 1000-entry directory (several READDIRPLUS rounds)", async () => {
    const r = await run(["find", mnt]);
    expect(r.code).toBe(0);
    const paths = r.stdout.trim().split("\n");
    expect(paths).toContain(join(mnt, "sub/nested.txt"));
    expect(paths.filter((p) => p.startsWith(join(mnt, "many/")))).toHaveLength(MANY_COUNT);
    expect(new Set(paths).size).toBe(paths.length); // no entry listed twice across continuation offsets
    const sorted = await run(["sh", "-c", `ls ${mnt}/many | sort -c && ls ${mnt}/many | head -1 && ls ${mnt}/many | tail -1`]);
    expect(sorted.stdout.trim().split("\n")).toEqual(["f0000", "f0999"]);
  });

  test("cat prints file contents; a symlink resolves and readlink shows its target", async () => {
    expect((await run(["cat", join(mnt, "hello.txt")])).stdout).toBe(HELLO);
    expect((await run(["cat", join(mnt, "sub/nested.txt")])).stdout).toBe("nested\n");
    expect((await run(["readlink", join(mnt, "link")])).stdout).toBe("hello.txt\n");
    expect((await run(["cat", join(mnt, "link")])).stdout).toBe(HELLO);
    expect((await run(["cat", join(mnt, "many/f0042")])).stdout).toBe("f0042\n");
  });

  test("a 64 MiB file reads back byte-exact: whole (cmp) and at 300 random offsets and sizes", async () => {
    const whole = await run(["cmp", join(mnt, "big.bin"), expectedPath]);
    expect(whole.stderr + whole.stdout).toBe("");
    expect(whole.code).toBe(0);

    const fh = await open(join(mnt, "big.bin"), "r");
    try {
      let seed = 12345;
      const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
      for (let i = 0; i < 300; i++) {
        const size = 1 + Math.floor(rand() ** 3 * 3 * 1024 * 1024); // mostly small, some up to 3 MiB
        const offset = Math.floor(rand() * BIG_SIZE);
        const buf = new Uint8Array(size);
        const { bytesRead } = await fh.read(buf, 0, size, offset);
        const want = expected.subarray(offset, Math.min(BIG_SIZE, offset + size));
        expect(bytesRead).toBe(want.length);
        if (!Buffer.from(buf.subarray(0, bytesRead)).equals(want)) throw new Error(`bytes differ at offset ${offset} size ${size}`);
      }
      // Reads that cross and end at EOF are short, reads past it are empty.
      const tail = new Uint8Array(100);
      expect((await fh.read(tail, 0, 100, BIG_SIZE - 10)).bytesRead).toBe(10);
      expect((await fh.read(tail, 0, 100, BIG_SIZE + 10)).bytesRead).toBe(0);
    } finally {
      await fh.close();
    }
  });

  test("100 parallel readers all get the right bytes", async () => {
    const jobs = Array.from({ length: 100 }, async (_, i) => {
      const block = 65536;
      const skip = (i * 7919) % (BIG_SIZE / block - 8);
      const r = Bun.spawn(["dd", `if=${join(mnt, "big.bin")}`, `bs=${block}`, `skip=${skip}`, "count=8", "status=none"], { stdout: "pipe" });
      const got = new Uint8Array(await new Response(r.stdout).arrayBuffer());
      expect(await r.exited).toBe(0);
      return Buffer.from(got).equals(expected.subarray(skip * block, (skip + 8) * block));
    });
    const results = await Promise.all(jobs);
    expect(results.filter((ok) => !ok)).toHaveLength(0);
  });

  test("errors users see: ENOENT, ENOTDIR, and EROFS for every kind of write", async () => {
    expect((await run(["cat", join(mnt, "missing")])).stderr).toContain("No such file or directory");
    expect((await run(["ls", join(mnt, "hello.txt/x")])).stderr).toContain("Not a directory");
    for (const cmd of [
      ["touch", join(mnt, "new")],
      ["mkdir", join(mnt, "newdir")],
      ["sh", "-c", `echo hi > ${join(mnt, "hello.txt")}`],
      ["rm", "-f", join(mnt, "hello.txt")],
      ["mv", join(mnt, "hello.txt"), join(mnt, "moved")],
      ["ln", "-s", "x", join(mnt, "newlink")],
    ]) {
      const r = await run(cmd);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("Read-only file system");
    }
    expect((await run(["cat", join(mnt, "hello.txt")])).stdout).toBe(HELLO); // untouched
  });

  test("a filesystem method that throws gives EIO to that caller only; the mount keeps serving", async () => {
    const r = await run(["cat", join(mnt, "boom.txt")]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("Input/output error");
    expect((await run(["cat", join(mnt, "hello.txt")])).stdout).toBe(HELLO);
  });

  test.skipIf(process.getuid?.() !== 0)("as root the mount gets 1 MiB readahead (1 MiB READs for sequential players)", async () => {
    const dev = (await run(["mountpoint", "-d", mnt])).stdout.trim();
    expect(dev).toMatch(/^0:\d+$/);
    expect((await Bun.file(`/sys/class/bdi/${dev}/read_ahead_kb`).text()).trim()).toBe("1024");
  });

  test("df works (STATFS)", async () => {
    const r = await run(["df", "-P", mnt]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^musicfs\s+4000\s/m);
  });

  test("a deferred read is answered by the main thread", async () => {
    const r = await run(["cat", join(mnt, "deferred.txt")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(DEFERRED_CONTENT);
  });

  test("parallel deferred reads each get their own bytes (the replies are written by the thread pool)", async () => {
    const results = await Promise.all(Array.from({ length: 16 }, (_, i) => run(["dd", `if=${join(mnt, "deferred.txt")}`, "bs=1", `skip=${i}`, "count=64", "status=none", "iflag=direct"])));
    for (const [i, r] of results.entries()) {
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(DEFERRED_CONTENT.slice(i, i + 64));
    }
  });

  test("with every thread-pool thread stuck in an origin call (a hung NAS), deferred reads are still answered and an unmount ends the session", async () => {
    // The READ replies of the main thread are written by the thread pool; the fetcher's origin calls run there too.
    // FIFOs nobody writes to block open(2) the way a hard NFS mount whose server went away does.
    const hung = tempDir();
    const fifos = Array.from({ length: 4 * availableParallelism() + 8 }, (_, i) => join(hung, `fifo${i}`));
    expect((await run(["mkfifo", ...fifos])).code).toBe(0);
    const mnt2 = mountpoint();
    const own = await startServer(mnt2);
    expect(own.failure).toBeUndefined();
    try {
      own.send(`hang ${hung}`);
      expect(await own.lines.next(["HUNG "], 30_000)).toBe(`HUNG ${fifos.length}`);
      for (let i = 0; i < 3; i++) {
        const r = await run(["cat", join(mnt2, "deferred.txt")]);
        expect(r.code).toBe(0);
        expect(r.stdout).toBe(DEFERRED_CONTENT);
      }
      // Unmounted from outside (`musicfs unmount`, umount): the session ends, though the pool has not written them.
      expect((await run(["umount", mnt2])).code).toBe(0);
      expect(await own.lines.next(["CLOSED "], 30_000)).toBe("CLOSED unmounted-externally");
      expect(await own.proc.exited).toBe(0);
      expect(await isMounted(mnt2)).toBe(false);
    } finally {
      // The share comes back: the blocked opens return (O_RDWR never blocks on a FIFO).
      for (const f of fifos) closeSync(openSync(f, constants.O_RDWR | constants.O_NONBLOCK));
    }
  }, 120_000);

  test("interrupting a reader stuck on a deferred read ends it with EINTR and aborts the request", async () => {
    const reader = Bun.spawn(["dd", `if=${join(mnt, "slow.txt")}`, "bs=4096", "count=1", "status=none"], { stdout: "ignore", stderr: "pipe" });
    const slow = await server.lines.next(["SLOW "], 30_000); // the READ reached the main thread, which never answers it
    expect(slow).toMatch(/^SLOW \d+$/);
    expect(reader.exitCode).toBeNull(); // really waiting for the main thread
    reader.kill("SIGTERM");
    const line = await server.lines.next(["INTERRUPTED "], 30_000);
    await reader.exited;
    expect(line).toBe(`INTERRUPTED ${slow.slice(5)}`); // the interrupt aborted that very request
    expect((await run(["cat", join(mnt, "hello.txt")])).stdout).toBe(HELLO);
  });

  test("directories open without OPENDIR/RELEASEDIR round trips and relisting is served from the kernel's cache", async () => {
    const requests = async (): Promise<Record<string, number>> => {
      server.send("stats");
      return JSON.parse((await server.lines.next(["STATS "])).slice(6)).requests;
    };
    expect(server.ready?.zeroMessageOpendir).toBe(true); // Linux ≥ 5.1 offers NO_OPENDIR_SUPPORT
    expect((await run(["ls", join(mnt, "sub")])).stdout).toBe("nested.txt\n");
    const before = await requests();
    for (let i = 0; i < 3; i++) {
      expect((await run(["ls", join(mnt, "sub")])).stdout).toBe("nested.txt\n");
      expect((await run(["find", join(mnt, "many"), "-type", "f"])).stdout.trim().split("\n")).toHaveLength(MANY_COUNT);
    }
    const after = await requests();
    // At most the one OPENDIR answered ENOSYS (if nothing had opened a directory before), never a RELEASEDIR, and
    // the listings came from the kernel's directory cache: no READDIR(PLUS), LOOKUP or GETATTR reached us.
    expect(after.OPENDIR ?? 0).toBeLessThanOrEqual(1);
    expect(after.RELEASEDIR ?? 0).toBe(0);
    for (const op of ["OPENDIR", "READDIR", "READDIRPLUS", "LOOKUP", "GETATTR"]) expect([op, after[op] ?? 0]).toEqual([op, before[op] ?? 0]);
  });

  test("a reader stuck in one worker does not hold up the mount: a standby worker serves the others", async () => {
    // Worker 0 serves everything alone until a request that may block (READ, OPEN) arrives; then a standby worker
    // must be reading, or every other caller would wait for the stuck one.
    const stuck = Bun.spawn(["cat", join(mnt, "gate.txt")], { stdout: "pipe", stderr: "pipe" });
    for (;;) {
      server.send("gate");
      if ((await server.lines.next(["GATE "])) === "GATE 1") break;
      await Bun.sleep(20);
    }
    expect((await run(["cat", join(mnt, "hello.txt")])).stdout).toBe(HELLO);
    expect((await run(["ls", join(mnt, "many")])).stdout.split("\n")).toContain("f0999");
    server.send("gate");
    expect(await server.lines.next(["GATE "])).toBe("GATE 1"); // still stuck while the others were served
    server.send("open-gate");
    await server.lines.next(["GATE open"]);
    expect(await new Response(stuck.stdout).text()).toBe("gate\n");
    expect(await stuck.exited).toBe(0);
  });

  test("directory changes stay invisible while cached, and appear once notify-invalidate is sent", async () => {
    expect((await run(["ls", join(mnt, "dyn")])).stdout).toBe("");
    server.send("dyn-silent a.txt,b.txt"); // changed, but the kernel is not told
    await server.lines.next(["DYN "]);
    expect((await run(["ls", join(mnt, "dyn")])).stdout).toBe(""); // still the cached listing
    server.send("dyn a.txt,b.txt");
    expect(await server.lines.next(["DYN "])).toMatch(/^DYN /);
    expect((await run(["ls", join(mnt, "dyn")])).stdout).toBe("a.txt\nb.txt\n");
    expect((await run(["cat", join(mnt, "dyn/a.txt")])).stdout).toBe("dynamic a.txt\n");

    server.send("dyn b.txt");
    await server.lines.next(["DYN "]);
    expect((await run(["ls", join(mnt, "dyn")])).stdout).toBe("b.txt\n");
    expect((await run(["cat", join(mnt, "dyn/a.txt")])).stderr).toContain("No such file or directory");
  });
});
