/**
 * Issue 19 items 1-2: the x64 release archive as `bun run release` makes it, unpacked and run through the release
 * check (scripts/releaseCheck.ts: --version names this version and commit; demo mounts, ffprobe reads a track
 * through the mount, SIGINT exits 0 and removes the mount; scan of the sample library exits 0). Also what the
 * archive holds and that it is reproducible in its metadata (owner 0:0, the commit's time, name order).
 * The arm64 archive is checked the same way under qemu-user by `bun run release` (too slow for CI: docs/releasing.md).
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { basename } from "node:path";
import { VERSION, buildCommit, versionLine } from "../../src/cli/buildInfo.ts";
import { checkArchive } from "../../scripts/releaseCheck.ts";
import { sourceDateEpoch } from "../../scripts/manPage.ts";
import { cleanupAll, trackMountpoint, trackProcess } from "../support/cleanup.ts";
import { run } from "../support/process.ts";
import { x64ReleaseArchive } from "../support/releaseBuild.ts";
import { hasProgram, isRoot } from "../support/system.ts";

afterEach(cleanupAll);
afterAll(cleanupAll);

const canMount = isRoot && existsSync("/dev/fuse") && hasProgram("ffprobe");

describe.skipIf(process.arch !== "x64")("x64 release archive (build once; needs an x86-64 machine)", () => {
  test("holds the executable, README, LICENSE, unit, man page and completions; owner 0:0, the commit's time, name order; SHA256SUMS names it", async () => {
    const { archive, sums } = await x64ReleaseArchive();
    const listing = await run(["tar", "--full-time", "-tvzf", archive], { env: { TZ: "UTC" } });
    expect(listing.code).toBe(0);
    const rows = listing.stdout.trim().split("\n").map((l) => l.split(/\s+/));
    const top = `musicfs-${VERSION}-linux-x64/`;
    const names = rows.map((r) => r[5]!);
    expect(names).toEqual([
      top, `${top}LICENSE`, `${top}README.md`, `${top}completions/`, `${top}completions/_musicfs`, `${top}completions/musicfs.bash`,
      `${top}completions/musicfs.fish`, `${top}musicfs`, `${top}musicfs.1`, `${top}musicfs.service`,
    ]);
    for (const r of rows) expect(r[1]).toBe("0/0");
    const stamp = new Date(sourceDateEpoch() * 1000).toISOString().replace("T", " ").slice(0, 19);
    for (const r of rows) expect(`${r[3]} ${r[4]}`).toBe(stamp);
    expect(rows.find((r) => r[5] === `${top}musicfs`)![0]).toBe("-rwxr-xr-x");
    const sha = new Bun.CryptoHasher("sha256").update(await Bun.file(archive).arrayBuffer()).digest("hex");
    expect(sums.get(basename(archive))).toBe(sha);
  }, 600_000);

  test.skipIf(!canMount)("the release check passes: --version, demo (ffprobe through the mount, SIGINT → exit 0), scan (needs root, /dev/fuse, ffprobe)", async () => {
    const { archive } = await x64ReleaseArchive();
    const result = await checkArchive(archive, {
      versionLine: versionLine(buildCommit()),
      track: { process: trackProcess, mountpoint: trackMountpoint },
    });
    expect(result.probedSeconds).toBeGreaterThan(1);
    expect(Number.isFinite(result.demoReadyOwnMs)).toBe(true);
  }, 600_000);
});
