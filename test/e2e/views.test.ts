/**
 * Views through a real mount (issue 10 item 5): every file once in the main tree and once per view, as real files
 * with the same bytes; inodes kept across a remount; live changes with --watch in the view too; MPD scanning the
 * mount sees each song once per tree.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { gradientPng } from "../../src/sample/tinyImages.ts";
import { put, writeAlbumCases } from "../support/albumCases.ts";
import { eventually } from "../support/eventually.ts";
import { hasMpd, startMpd } from "../support/mpd.ts";
import { cleanupAll, findFiles, run, startMount, tempDir, QUICK_WATCH_ENV } from "./harness.ts";

afterEach(cleanupAll);
afterAll(cleanupAll);

/** The album cases plus tracks with genres, and a config with the built-in Genres view. */
function library(): { origin: string; config: string; tracks: number } {
  const origin = tempDir();
  const cases = writeAlbumCases(origin);
  put(origin, "Moss/1.flac", { album: "Green", albumArtist: "Moss", artists: ["Moss"], genre: "Ambient", year: 2011, title: "Moss One", track: 1 });
  put(origin, "Moss/2.flac", { album: "Green", albumArtist: "Moss", artists: ["Moss"], genre: "Ambient", year: 2011, title: "Moss Two", track: 2 });
  const config = join(tempDir(), "config.toml");
  writeFileSync(config, `cover = false\n[[origins]]\nid = "lib"\npath = "${origin}"\n\n[[view]]\nname = "Genres"\n`);
  return { origin, config, tracks: cases.tracks + 2 };
}

/** `stat -c %i` of every path, in one process. */
async function inodes(mnt: string, paths: readonly string[]): Promise<Map<string, string>> {
  const r = await run(["stat", "-c", "%i", ...paths.map((p) => join(mnt, p))]);
  expect(r.code).toBe(0);
  const out = r.stdout.trim().split("\n");
  return new Map(paths.map((p, i) => [p, out[i]]));
}

describe("views", () => {
  test("each file once in the main tree and once in the view, same bytes; inodes survive a remount; --watch changes show in the view", async () => {
    const { origin, config, tracks } = library();
    const cache = tempDir();
    const mnt = join(tempDir(), "mnt");
    let server = await startMount(mnt, ["--config", config, "--cache-dir", cache]);
    const files = await findFiles(mnt);
    const inView = files.filter((f) => f.startsWith("Genres/"));
    const inMain = files.filter((f) => !f.startsWith("Genres/"));
    expect(inMain).toHaveLength(tracks);
    expect(inView).toHaveLength(tracks);
    expect(inView).toContain("Genres/Ambient/Moss/Green (2011)/01 - Moss One.flac");
    expect(inView).toContain("Genres/Unknown Genre/Band/Greatest Hits (2001) (2)/01 - GH2 opener.flac"); // album identity
    // The same file under the same name in both trees (the names are unique in this library), byte for byte.
    for (const main of inMain) {
      const twin = inView.find((v) => basename(v) === basename(main));
      expect(twin).toBeDefined();
      expect((await run(["cmp", join(mnt, main), join(mnt, twin!)])).code).toBe(0);
    }
    // df and status count files, not their nodes: each file once, views or not.
    const statfs = await run(["stat", "-f", "-c", "%c", mnt]);
    expect(Number(statfs.stdout.trim())).toBe(tracks);
    const before = await inodes(mnt, files);
    expect(new Set(before.values()).size).toBe(files.length); // a node of its own in each tree, not a link
    expect(await server.stop()).toBe(0);

    server = await startMount(mnt, ["--config", config, "--cache-dir", cache, "--watch"], { env: QUICK_WATCH_ENV });
    expect(await findFiles(mnt)).toEqual(files);
    expect(await inodes(mnt, files)).toEqual(before);

    // Retag: Moss becomes Drone in the view (and keeps its main-tree path).
    for (const [n, title] of [[1, "Moss One"], [2, "Moss Two"]] as const)
      put(origin, `Moss/${n}.flac`, { album: "Green", albumArtist: "Moss", artists: ["Moss"], genre: "Drone", year: 2011, title, track: n });
    await eventually(() => findFiles(join(mnt, "Genres")), (l) => l.includes("Drone/Moss/Green (2011)/02 - Moss Two.flac") && !l.some((p) => p.startsWith("Ambient/")));
    expect(await findFiles(join(mnt, "Moss"))).toEqual(["Green (2011) [FLAC]/01 - Moss One.flac", "Green (2011) [FLAC]/02 - Moss Two.flac"]);
    // Add and remove.
    put(origin, "Moss/3.flac", { album: "Green", albumArtist: "Moss", artists: ["Moss"], genre: "Drone", year: 2011, title: "Moss Three", track: 3 });
    rmSync(join(origin, "Mixed/3.mp3"));
    await eventually(
      () => findFiles(mnt),
      (l) => l.includes("Genres/Drone/Moss/Green (2011)/03 - Moss Three.flac") && !l.some((p) => p.endsWith("03 - Third.mp3")),
    );
    const after = await findFiles(mnt);
    expect(after.filter((f) => f.startsWith("Genres/"))).toHaveLength(tracks);
    expect(after.filter((f) => !f.startsWith("Genres/"))).toHaveLength(tracks);
    expect((await run(["cmp", join(origin, "Moss/3.flac"), join(mnt, "Genres/Drone/Moss/Green (2011)/03 - Moss Three.flac")])).code).toBe(0);
  }, 120_000);

  test("album folders in a view get the album's cover file too", async () => {
    const { origin } = library();
    writeFileSync(join(origin, "Moss/cover.png"), gradientPng(0x336699, 16).data);
    const config = join(tempDir(), "config.toml");
    writeFileSync(config, `[[origins]]\nid = "lib"\npath = "${origin}"\n\n[[view]]\nname = "Genres"\n`);
    const mnt = join(tempDir(), "mnt");
    await startMount(mnt, ["--config", config, "--cache-dir", tempDir()]);
    const covers = (await findFiles(mnt)).filter((f) => basename(f).startsWith("cover."));
    expect(covers).toEqual(["Genres/Ambient/Moss/Green (2011)/cover.png", "Moss/Green (2011) [FLAC]/cover.png"]);
    for (const c of covers) expect((await run(["cmp", join(origin, "Moss/cover.png"), join(mnt, c)])).code).toBe(0);
  }, 60_000);

  test.skipIf(!hasMpd)("MPD scanning the mount counts each song once per tree; pointed at the view folder, once (skipped without mpd and mpc)", async () => {
    const { config, tracks } = library();
    const mnt = join(tempDir(), "mnt");
    await startMount(mnt, ["--config", config, "--cache-dir", tempDir()]);
    for (const [dir, songs] of [[mnt, 2 * tracks], [join(mnt, "Genres"), tracks]] as const) {
      const mpd = await startMpd({ musicDir: dir });
      try {
        await mpd.update();
        expect(await mpd.songCount()).toBe(songs);
      } finally {
        await mpd.stop();
      }
    }
  }, 120_000);
});
