/**
 * Issue 9 item 4: a full or vanished cache dir does not kill the mount. The cache dir lives on a real small tmpfs
 * that is filled up (root only), or is removed with `rm -rf` while mounted; the mount keeps serving `ls` and `cat`
 * with one warning per kind of write; afterwards `status`, `mount` (which evicts cached chunks until the disk has its
 * free-space reserve, and starts) and `cache clear` work.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { Database as Sqlite } from "bun:sqlite";
import { existsSync, readFileSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeSampleLibraryCopy } from "../support/sampleLibraryCopy.ts";
import { CLI, cleanupAll, run, startMount, tempDir, type Running } from "./harness.ts";
import { scannedSampleLibrary } from "../support/scannedLibrary.ts";
import { eventually } from "../support/eventually.ts";

const isRoot = process.getuid?.() === 0;
const tmpfsMounts: string[] = [];
afterAll(async () => {
  await cleanupAll(); // servers first: they may hold files on the tmpfs
  for (const dir of tmpfsMounts) await run(["umount", "-l", dir]);
});

const sha = (b: Uint8Array) => new Bun.CryptoHasher("sha256").update(b).digest("hex");
/**
 * Fast status writes, and plays counted per file read, so the background writes happen within the test. Debug
 * output shows a retried write that failed again ("status: still failing"), so a test can wait for one.
 */
const env = { MUSICFS_STATUS_INTERVAL_MS: "100", MUSICFS_PLAY_GAP_MS: "50", MUSICFS_NO_PASSTHROUGH: "1", MUSICFS_LOG_LEVEL: "debug" };
const count = (text: string, pattern: RegExp) => (text.match(new RegExp(pattern, "g")) ?? []).length;

/**
 * Waits until the daemon has retried its status write after the first failure, quietly: a debug line per failed
 * retry, or — when the mount made room meanwhile (a full cache disk makes it evict cached music for its reserve, and
 * its WALs give back what they held) — the one line saying the write works again. Only the first line of a run is
 * certain to appear: the logger folds identical lines that follow each other into one "(repeated N times)", printed
 * only when another line comes. A quiet-machine .ci/run found the disk no longer full after the fill (1 in ~20 runs):
 * the status write had succeeded again, so no "still failing" came.
 */
async function statusWriteRetried(server: Running): Promise<void> {
  await eventually(() => count(server.output(), /status: still failing|Saving live figures \(status\.json[^\n]*works again/), (c) => c >= 1, 60_000);
}

/** One warning per episode: a second warning only after the write had worked again in between. */
function expectOneStatusWarningPerEpisode(out: string): void {
  const warnings = count(out, /Cannot save live figures \(status\.json/);
  const recoveries = count(out, /Saving live figures \(status\.json[^\n]*works again/);
  expect(warnings).toBeGreaterThanOrEqual(1);
  expect(warnings).toBeLessThanOrEqual(1 + recoveries);
}

/** Waits until every file of the library has its chunk manifest recorded (the whole library is in the cache). */
async function allCached(cache: string): Promise<void> {
  const uncached = () => {
    const db = new Sqlite(join(cache, "metadata.db"), { readonly: true });
    try {
      return Number(db.query("SELECT count(*) FROM files WHERE chunk_manifest IS NULL").values()[0][0]);
    } finally {
      db.close();
    }
  };
  await eventually(uncached, (n) => n === 0, 60_000);
}

async function sampleOrigin(): Promise<string> {
  const origin = tempDir();
  await writeSampleLibraryCopy(origin);
  return origin;
}

/** Every file of the mount reads back identical to its origin file (through `cat`, a separate process). */
async function expectServing(server: Running, origin: string): Promise<void> {
  const ls = await run(["ls", "-R", server.mountPoint]);
  expect(ls.code).toBe(0);
  // Every FLAC through the mount (cat, separate processes) has the bytes of one origin FLAC, and vice versa.
  const hashes = async (dir: string) => {
    const r = await run(["sh", "-c", `find "${dir}" -type f -name '*.flac' -exec sh -c 'cat "$1" | sha256sum' _ {} \\; | sort`]);
    expect(r.code).toBe(0);
    return r.stdout;
  };
  const through = await hashes(server.mountPoint);
  expect(through.split("\n").filter(Boolean).length).toBeGreaterThan(3);
  expect(through).toBe(await hashes(origin));
  expect(server.proc.exitCode).toBeNull();
}

/**
 * Fills the tmpfs at `disk` to its last block, again until it stays full: the running mount may give bytes back just
 * after a fill (a SQLite WAL checkpointed and truncated to its bound, or cached music evicted to keep the free-space
 * reserve when a write asked for room), so one `dd` can leave a few hundred KiB free by the time `df` looks.
 */
async function fillDisk(disk: string): Promise<void> {
  let n = 0;
  const avail = async () => (await run(["df", "--output=avail", "-B1", disk])).stdout.trim().split(/\s+/).at(-1);
  await eventually(
    async () => {
      await run(["dd", "if=/dev/zero", `of=${join(disk, `filler-${n++}`)}`, "bs=4k"]);
      return avail();
    },
    (free) => free === "0",
    60_000,
  );
}

async function catAll(server: Running): Promise<void> {
  const r = await run(["sh", "-c", `find "${server.mountPoint}" -type f -exec cat {} + > /dev/null`]);
  if (r.code !== 0) throw new Error(`reading the mount failed: ${r.stderr}\n${server.output()}`);
}

describe.skipIf(!isRoot)("the cache dir on a full tmpfs (root: mount -t tmpfs)", () => {
  test("the mount keeps serving with one warning per kind; status, cache clear and mount work after", async () => {
    const origin = await sampleOrigin();
    const disk = tempDir("musicfs-tmpfs-");
    expect((await run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", disk])).code).toBe(0);
    tmpfsMounts.push(disk);
    const cache = join(disk, "cache");
    const cfg = join(tempDir(), "config.toml");
    writeFileSync(cfg, `[[origins]]\nid = "lib"\npath = "${origin}"\ncache = "full"\n`);
    const mnt = join(tempDir(), "mnt");
    let server = await startMount(mnt, ["--config", cfg, "--cache-dir", cache], { env });
    await catAll(server); // cache the library while there is room
    await allCached(cache);

    // Fill the disk to the last block.
    await fillDisk(disk);
    await catAll(server); // plays and access times to record, on a full disk
    await statusWriteRetried(server); // warned once, then another status write failed quietly (or worked again)
    await expectServing(server, origin);
    const out = server.output();
    expectOneStatusWarningPerEpisode(out);
    expect(out).toContain("the disk is full");
    expect(count(out, /Cannot save plays/)).toBeLessThanOrEqual(1);
    expect(count(out, /cannot save access times/)).toBeLessThanOrEqual(1);
    expect(out).not.toMatch(/\n\s+at /);
    const stopped = await server.stop();
    if (stopped !== 0) throw new Error(`shutdown on a full disk failed (${stopped}):\n${server.output()}`);

    // Status reads, without a stack trace.
    const status = await run(["bun", CLI, "status", "--json", "--cache-dir", cache]);
    expect(status.stderr).toBe("");
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout).files).toBeGreaterThan(0);

    // Mounting on the full disk evicts cached chunks (oldest first) until the disk has its free-space reserve back
    // (5 % of the 6 MiB tmpfs), and starts instead of refusing; the library plays (what went is fetched again,
    // and caching keeps the reserve).
    const avail = async () => Number((await run(["df", "--output=avail", "-B1", disk])).stdout.trim().split(/\s+/).at(-1));
    const size = Number((await run(["df", "--output=size", "-B1", disk])).stdout.trim().split(/\s+/).at(-1));
    await fillDisk(disk); // what the shutdown gave back (a checkpointed WAL), filled again: the mount starts on a full disk
    expect(await avail()).toBe(0);
    server = await startMount(join(tempDir(), "m2"), ["--config", cfg, "--cache-dir", cache], { env });
    expect(server.output()).toMatch(/was nearly full: [\d.]+ MiB of cached music evicted to make room/);
    expect(await avail()).toBeGreaterThanOrEqual(0.05 * size);
    await expectServing(server, origin);
    expect(await avail()).toBeGreaterThanOrEqual(0.05 * size);
    expect(server.output()).not.toMatch(/\n\s+at /);
    expect(await server.stop()).toBe(0);

    // cache clear frees the space on the full disk.
    const chunksBefore = readdirSync(join(cache, "chunks"), { recursive: true }).length;
    const clear = await run(["bun", CLI, "cache", "clear", "--cache-dir", cache]);
    expect(clear.stderr).not.toMatch(/\n\s+at /);
    expect(clear.code).toBe(0);
    expect(clear.stderr).toMatch(/Cleared \d+ cached files?: \d+ chunks?, [1-9][\d.]* MiB freed/);
    expect(readdirSync(join(cache, "chunks"), { recursive: true }).length).toBeLessThan(chunksBefore);

    // And the library mounts and plays again (fetched from the origin).
    server = await startMount(join(tempDir(), "m3"), ["--config", cfg, "--cache-dir", cache], { env });
    const first = (await run(["find", server.mountPoint, "-name", "*.flac"])).stdout.split("\n")[0];
    expect(first).toBeTruthy();
    const originFlacs = (await run(["find", origin, "-name", "*.flac"])).stdout.split("\n").filter(Boolean);
    expect(originFlacs.map((f) => sha(readFileSync(f)))).toContain(sha(readFileSync(first))); // the bytes of an origin file
    await expectServing(server, origin); // and so are all the others
    expect(await server.stop()).toBe(0);
  }, 180_000);
});

describe("the cache dir removed while mounted", () => {
  test("rm -rf of the cache dir: ls and cat keep working, one warning, ordered shutdown", async () => {
    const { origin, paths } = await scannedSampleLibrary(); // scanned already: this mount needs no first scan
    const cache = paths.cacheDir;
    const mnt = join(tempDir(), "mnt");
    const server = await startMount(mnt, ["--origin", origin, "--cache-dir", cache], { env });
    // Renamed away first, then removed: the daemon keeps writing status.json temps into the cache dir, and a plain
    // `rm -rf` fails ("Directory not empty") when one appears between its listing and its last rmdir. Once renamed,
    // the daemon's paths lead nowhere, exactly as after a removal, and nothing new lands in the renamed folder.
    renameSync(cache, `${cache}.removed`);
    expect((await run(["rm", "-rf", `${cache}.removed`])).code).toBe(0);
    expect(existsSync(cache)).toBe(false);
    await catAll(server);
    await statusWriteRetried(server); // status writes into a folder that is gone: warned once, then quiet
    await expectServing(server, origin);
    const out = server.output();
    expect(count(out, /Cannot save live figures \(status\.json/)).toBe(1);
    expect(out).toContain("the cache dir was removed");
    expect(out).not.toMatch(/\n\s+at /);
    expect(await server.stop()).toBe(0);
  }, 120_000);
});
