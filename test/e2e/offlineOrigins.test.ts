/**
 * Issue 9, item 2: an origin that looks offline (emptied, lost more than half its files, its share no longer
 * mounted) removes nothing until the user confirms with `--accept-removals` or `accept_removals = true`.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { Database as Sqlite } from "bun:sqlite";
import { cpSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeFlac } from "../../src/sample/flacWriter.ts";
import { renderMelody } from "../../src/sample/tone.ts";
import { CLI, cleanupAll, findFiles, run, startMount, tempDir } from "./harness.ts";
import { eventually } from "../support/eventually.ts";

afterEach(cleanupAll);
afterAll(cleanupAll);

const isRoot = process.getuid?.() === 0;

/** An origin of `n` small FLAC tracks of one album ("01.flac"…), each with different audio. */
function origin(n: number): string {
  const dir = tempDir();
  for (let i = 1; i <= n; i++) {
    const name = `${String(i).padStart(2, "0")}.flac`;
    writeFileSync(join(dir, name), writeFlac({ artists: ["Nas"], album: "Share", year: 2001, title: `Song ${i}`, track: i }, renderMelody({ seed: i, seconds: 0.3, sampleRate: 22050, channelCount: 1 })));
  }
  return dir;
}

function storedCount(cache: string): number {
  const db = new Sqlite(join(cache, "metadata.db"), { readonly: true });
  try {
    return Number(db.query("SELECT count(*) FROM files").values()[0][0]);
  } finally {
    db.close();
  }
}

const scan = (...args: string[]) => run(["bun", CLI, "scan", ...args], { env: { NO_COLOR: "1", MUSICFS_LOG_LEVEL: "info" } });

describe("an emptied cache = \"full\" origin is offline, not deleted", () => {
  test("files stay listed and cached ones play byte-exact, a warning names it; scan --accept-removals removes them", async () => {
    const music = origin(4);
    const copy = tempDir();
    cpSync(music, copy, { recursive: true });
    const cache = tempDir();
    const mnt = join(tempDir(), "mnt");
    const configFile = join(tempDir(), "config.toml");
    writeFileSync(configFile, `[[origins]]\npath = "${music}"\ncache = "full"\n`);
    const args = ["--config", configFile, "--cache-dir", cache];
    const first = await startMount(mnt, args);
    const listed = await findFiles(mnt);
    expect(listed.length).toBe(4);
    for (const f of listed) expect((await run(["cat", join(mnt, f)])).code).toBe(0); // fetched into the cache
    const manifests = () => {
      const db = new Sqlite(join(cache, "metadata.db"), { readonly: true });
      const n = Number(db.query("SELECT count(*) FROM files WHERE chunk_manifest IS NOT NULL").values()[0][0]);
      db.close();
      return n;
    };
    await eventually(manifests, (n) => n >= 4);
    expect(manifests()).toBe(4);
    expect(await first.stop()).toBe(0);

    // The NAS share is not mounted: the folder is still there, empty.
    for (const f of readdirSync(music)) rmSync(join(music, f));

    const second = await startMount(mnt, args);
    await second.waitFor(/looks offline/);
    expect(second.output()).toContain(`Origin ${music} looks offline: it lists no files (4 stored). Nothing was removed`);
    expect(second.output()).toContain("musicfs scan --accept-removals");
    expect(await findFiles(mnt)).toEqual(listed);
    for (const f of listed) {
      const cmp = await run(["cmp", join(mnt, f), join(copy, `${f.match(/(\d\d) - /)![1]}.flac`)]);
      expect(cmp.code).toBe(0);
    }
    expect(storedCount(cache)).toBe(4);
    // `musicfs status` says so too (from the status file the mount rewrites every few seconds).
    const status = await eventually(async () => (await run(["bun", CLI, "status", "--cache-dir", cache])).stdout, (s) => s.includes("looks offline"));
    expect(status).toMatch(/offline +origin "[^"]+" looks offline: it lists no files \(4 stored\); nothing removed/);
    expect(await second.stop()).toBe(0);

    const accepted = await scan(...args, "--accept-removals");
    expect(accepted.code).toBe(0);
    expect(accepted.stderr + accepted.stdout).toContain("4 removed");
    expect(storedCount(cache)).toBe(0);
  }, 120_000);
});

describe("an origin that loses more than half its files in one sync", () => {
  test("keeps them (warning) until accepted; half or less is applied at once; accept_removals = true and mount --accept-removals apply it", async () => {
    const music = origin(6);
    const cache = tempDir();
    expect((await scan("--origin", music, "--cache-dir", cache)).code).toBe(0);
    expect(storedCount(cache)).toBe(6);

    rmSync(join(music, "01.flac"));
    const small = await scan("--origin", music, "--cache-dir", cache);
    expect(small.stderr).not.toContain("looks offline");
    expect(storedCount(cache)).toBe(5); // 1 of 6: an ordinary removal

    for (const f of ["02.flac", "03.flac", "04.flac"]) rmSync(join(music, f));
    const big = await scan("--origin", music, "--cache-dir", cache);
    expect(big.code).toBe(0);
    expect(big.stderr).toContain(`Origin ${music} looks offline: it lost 3 of its 5 files in one sync. Nothing was removed`);
    expect(storedCount(cache)).toBe(5);

    // The same origin in a config file with accept_removals = true (same id as the --origin runs: the path's).
    const configFile = join(tempDir(), "config.toml");
    writeFileSync(configFile, `[[origins]]\npath = "${music}"\naccept_removals = true\n`);
    const trusted = await scan("--config", configFile, "--cache-dir", cache);
    expect(trusted.stderr).not.toContain("looks offline");
    expect(storedCount(cache)).toBe(2);

    // The last two go too: held back again, until a mount confirms with --accept-removals.
    for (const f of ["05.flac", "06.flac"]) rmSync(join(music, f));
    expect((await scan("--origin", music, "--cache-dir", cache)).stderr).toContain("it lists no files (2 stored)");
    const mnt = join(tempDir(), "mnt");
    const server = await startMount(mnt, ["--origin", music, "--cache-dir", cache, "--accept-removals"]);
    await server.waitFor(/Delta sync complete: 0 added, 0 modified, 2 removed/);
    expect(await findFiles(mnt)).toEqual([]);
    expect(await server.stop()).toBe(0);
    expect(storedCount(cache)).toBe(0);
  }, 120_000);
});

describe.skipIf(!isRoot)("an origin root that was a mount point (needs root for mount --bind)", () => {
  test("once unmounted it is offline: not walked, nothing removed, listed on the mount; --accept-removals applies it", async () => {
    const share = origin(4);
    const root = tempDir();
    // Under the mountpoint lie stray copies of 3 of the 4 files: after the unmount the listing loses only 1 of 4,
    // which the count rule would let through — the mount-point rule alone must catch it.
    for (const f of ["01.flac", "02.flac", "03.flac"]) cpSync(join(share, f), join(root, f), { preserveTimestamps: true });
    writeFileSync(join(root, "stray.flac"), writeFlac({ title: "Stray" }, renderMelody({ seed: 99, seconds: 0.2, sampleRate: 22050, channelCount: 1 })));
    expect((await run(["mount", "--bind", share, root])).code).toBe(0);
    const cache = tempDir();
    const mnt = join(tempDir(), "mnt");
    try {
      expect((await scan("--origin", root, "--cache-dir", cache)).code).toBe(0);
      expect(storedCount(cache)).toBe(4);
    } finally {
      expect((await run(["umount", root])).code).toBe(0);
    }

    const server = await startMount(mnt, ["--origin", root, "--cache-dir", cache]);
    await server.waitFor(/looks offline/);
    expect(server.output()).toContain(`Origin ${root} looks offline: its folder was a mount point at the first scan and is not one now`);
    const listed = await findFiles(mnt);
    expect(listed.length).toBe(4);
    expect(listed.some((f) => f.includes("Stray"))).toBe(false); // not walked: the stray file is not added
    expect(await server.stop()).toBe(0);
    expect(storedCount(cache)).toBe(4);

    const accepted = await scan("--origin", root, "--cache-dir", cache, "--accept-removals");
    expect(accepted.code).toBe(0);
    expect(storedCount(cache)).toBe(4); // 04 removed, stray added
    const again = await scan("--origin", root, "--cache-dir", cache);
    expect(again.stderr).not.toContain("looks offline"); // the accepted state is remembered
  }, 120_000);
});
