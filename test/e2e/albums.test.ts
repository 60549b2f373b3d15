/**
 * Issue 10: albums as players and people see them — one folder per album through a real mount, kept consistent
 * live, and the same album counts in MPD and beets through the mount as on the origin.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { put, WESNOTH, writeAlbumCases } from "../support/albumCases.ts";
import { hasMpd, startMpd } from "../support/mpd.ts";
import { cleanupAll, findFiles, run, startMount, tempDir, QUICK_WATCH_ENV } from "./harness.ts";
import { eventually } from "../support/eventually.ts";

afterEach(cleanupAll);
afterAll(cleanupAll);


describe("one folder per album", () => {
  test("the default tree groups by album identity: several years, mixed formats and same-named albums", async () => {
    const origin = tempDir();
    writeAlbumCases(origin);
    const mnt = join(tempDir(), "mnt");
    await startMount(mnt, ["--origin", origin, "--cache-dir", tempDir()]);
    expect(await findFiles(mnt)).toEqual([
      "Band/Greatest Hits (2001) [FLAC] (2)/01 - GH2 opener.flac",
      "Band/Greatest Hits (2001) [FLAC]/01 - GH1 opener.flac",
      "Mixed Band/Odds (1999) [FLAC+MP3]/01 - Odd.flac",
      "Mixed Band/Odds (1999) [FLAC+MP3]/02 - Even.mp3",
      "Mixed Band/Odds (1999) [FLAC+MP3]/03 - Third.mp3",
      `Various Artists/${WESNOTH} (2004) [FLAC]/01 - Theme 1.flac`,
      `Various Artists/${WESNOTH} (2004) [FLAC]/02 - Theme 2.flac`,
      `Various Artists/${WESNOTH} (2004) [FLAC]/03 - Theme 3.flac`,
      `Various Artists/${WESNOTH} (2004) [FLAC]/04 - Theme 4.flac`,
    ]);
  }, 60_000);

  test("--watch: a new track with an earlier year and another format moves the whole album folder live", async () => {
    const origin = tempDir();
    writeAlbumCases(origin);
    const mnt = join(tempDir(), "mnt");
    await startMount(mnt, ["--origin", origin, "--cache-dir", tempDir(), "--watch"], { env: QUICK_WATCH_ENV });
    const artistDir = join(mnt, "Various Artists");
    expect(readdirSync(artistDir)).toEqual([`${WESNOTH} (2004) [FLAC]`]); // listed (cached by the kernel) before
    put(origin, "Wesnoth/0.mp3", { album: WESNOTH, artists: ["Jeremy Nicoll"], year: 2003, title: "Prelude", track: 0 });
    await eventually(() => readdirSync(artistDir), (l) => l.length === 1 && l[0] === `${WESNOTH} (2003) [FLAC+MP3]`);
    expect(readdirSync(join(artistDir, `${WESNOTH} (2003) [FLAC+MP3]`)).sort()).toEqual([
      "00 - Prelude.mp3", "01 - Theme 1.flac", "02 - Theme 2.flac", "03 - Theme 3.flac", "04 - Theme 4.flac",
    ]);
    // The other albums were not touched.
    expect(readdirSync(join(mnt, "Mixed Band"))).toEqual(["Odds (1999) [FLAC+MP3]"]);
  }, 60_000);
});

/** Albums MPD lists, one per (album artist, album) pair: `mpc list album group albumartist`. */
async function mpdAlbumsAndSongs(musicDir: string): Promise<{ songs: number; albums: string[] }> {
  const mpd = await startMpd({ musicDir });
  try {
    await mpd.update();
    const list = await mpd.mpc(["list", "album", "group", "albumartist"]);
    expect(list.code).toBe(0);
    return { songs: await mpd.songCount(), albums: list.stdout.split("\n").filter((l) => l.startsWith(" ")).map((l) => l.trim()) };
  } finally {
    await mpd.stop();
  }
}

/** Albums beets finds importing `dir` as-is (`beet import -A --nocopy -q`) into a private library. */
async function beetsAlbums(dir: string): Promise<string[]> {
  const home = tempDir("musicfs-beets-");
  writeFileSync(
    join(home, "config.yaml"),
    [
      `directory: ${JSON.stringify(join(home, "lib"))}`,
      `library: ${JSON.stringify(join(home, "library.db"))}`,
      "plugins: []",
      "import:",
      "  copy: no",
      "  move: no",
      "  write: no",
      "  resume: no",
      "  incremental: no",
      "",
    ].join("\n"),
  );
  const env = { BEETSDIR: home, HOME: home };
  const imported = await run(["beet", "import", "-A", "--nocopy", "-q", dir], { env, timeoutMs: 120_000 });
  expect(imported.code).toBe(0);
  const listed = await run(["beet", "ls", "-a", "-f", "$albumartist - $album"], { env });
  expect(listed.code).toBe(0);
  return listed.stdout.split("\n").filter(Boolean).sort();
}

const hasBeets = Bun.which("beet") !== null;

describe("players and library tools agree with the origin", () => {
  test.skipIf(!hasMpd)("MPD through the mount: the same songs and albums as on the origin (skipped without mpd and mpc)", async () => {
    const origin = tempDir();
    const cases = writeAlbumCases(origin);
    const mnt = join(tempDir(), "mnt");
    await startMount(mnt, ["--origin", origin, "--cache-dir", tempDir()]);
    const direct = await mpdAlbumsAndSongs(origin);
    const mounted = await mpdAlbumsAndSongs(mnt);
    expect(direct.songs).toBe(cases.tracks);
    expect(mounted.songs).toBe(cases.tracks);
    expect(mounted.albums.sort()).toEqual(direct.albums.sort());
  }, 120_000);

  test.skipIf(!hasBeets)("beets importing the mount as-is finds the same albums as importing the origin (skipped without beets)", async () => {
    const origin = tempDir();
    const cases = writeAlbumCases(origin);
    const mnt = join(tempDir(), "mnt");
    await startMount(mnt, ["--origin", origin, "--cache-dir", tempDir()]);
    const direct = await beetsAlbums(origin);
    expect(direct).toHaveLength(cases.albums);
    expect(await beetsAlbums(mnt)).toEqual(direct);
  }, 240_000);
});
