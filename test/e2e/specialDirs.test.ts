/**
 * Issue 9 item 8: `/.search` and `/.collections` are hidden from the root listing by default (like ZFS's `.zfs` with
 * snapdir=hidden), so a scanner that walks the mount and follows symlinks (MPD) sees each song once; they stay
 * reachable by name, and `special_dirs = "visible"` lists them. The read-only rules (test/support/readOnlyRules.ts)
 * run through the same mount.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeFlac } from "../../src/sample/flacWriter.ts";
import { silence } from "../../src/sample/tone.ts";
import { hasMpd, startMpd } from "../support/mpd.ts";
import { cleanupAll, run, startMount, tempDir } from "./harness.ts";
import { libraryFacts, READ_ONLY_RULES } from "../support/readOnlyRules.ts";
import { mountFs } from "../support/mountFs.ts";

afterAll(cleanupAll);

/** 24 tracks over three decades, so the built-in collections (Recently Added, one per decade) all hold links. */
function smallOrigin(): { dir: string; songs: number } {
  const dir = tempDir("musicfs-special-origin-");
  let songs = 0;
  for (const [a, year] of [["Alpha", 1975], ["Beta", 1986], ["Gamma", 1999]] as const) {
    mkdirSync(join(dir, a));
    for (let t = 1; t <= 8; t++) {
      const tags = { title: `${a} song ${t}`, artists: [a], album: `${a} LP`, track: t, year };
      writeFileSync(join(dir, a, `${t}.flac`), writeFlac(tags, silence(0.2, 22050, 1)));
      songs++;
    }
  }
  return { dir, songs };
}

/** One mount with the defaults (special folders hidden), shared by the tests that only read it. */
let origin: { dir: string; songs: number };
let mnt: string;
beforeAll(async () => {
  origin = smallOrigin();
  mnt = join(tempDir(), "mnt");
  await startMount(mnt, ["--origin", origin.dir, "--cache-dir", tempDir()]);
}, 120_000);

// The read-only rules of test/support/readOnlyRules.ts, checked at the request level in test/fs/musicFs.test.ts,
// here once through the kernel: what programs see agrees with what the dispatcher answers.
describe("read-only rules through a real mount", () => {
  for (const rule of READ_ONLY_RULES) test(rule.name, () => rule.check(mountFs(mnt), libraryFacts(origin.dir)));
});

describe("special folders", () => {
  test("hidden by default: the root lists only the tree, yet /.search and /.collections answer by name", async () => {
    const root = readdirSync(mnt);
    expect(root).not.toContain(".search");
    expect(root).not.toContain(".collections");
    expect(root.sort()).toEqual(["Alpha", "Beta", "Gamma"]);

    // ls of a query folder by name works (LOOKUP of the hidden folder, then of the query).
    const ls = await run(["ls", join(mnt, ".search", "Beta")]);
    expect(ls.code).toBe(0);
    expect(ls.stdout.split("\n").filter(Boolean).length).toBe(8);
    const collections = readdirSync(join(mnt, ".collections"));
    expect(collections).toContain("Recently Added");
    expect(collections).toContain("1980s");
    const link = readdirSync(join(mnt, ".collections", "1980s"))[0];
    expect(readlinkSync(join(mnt, ".collections", "1980s", link))).toMatch(/^\.\.\/\.\.\/Beta\//);
    // `find` over the mount (what a scanner does) sees each song once.
    const found = await run(["find", "-L", mnt, "-type", "f"]);
    expect(found.stdout.split("\n").filter(Boolean).length).toBe(origin.songs);
  });

  test('special_dirs = "visible" lists them in the root', async () => {
    const conf = join(tempDir(), "config.toml");
    writeFileSync(conf, `special_dirs = "visible"\n`);
    const visible = join(tempDir(), "mnt");
    await startMount(visible, ["--config", conf, "--origin", origin.dir, "--cache-dir", tempDir()]);
    expect(readdirSync(visible).sort()).toEqual([".collections", ".search", "Alpha", "Beta", "Gamma"]);
  });

  test.skipIf(!hasMpd)("MPD following symlinks indexes exactly the origin's songs (skipped without mpd and mpc)", async () => {
    const mpd = await startMpd({ musicDir: mnt, followSymlinks: true });
    try {
      await mpd.update();
      expect(await mpd.songCount()).toBe(origin.songs);
      const stats = await mpd.mpc(["stats"]);
      expect(stats.stdout).toMatch(new RegExp(`Songs:\\s+${origin.songs}\\b`));
    } finally {
      await mpd.stop();
    }
  }, 120_000);
});
