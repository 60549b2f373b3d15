/**
 * Issue 18 item 4: every collection is also a playlist file, `/.collections/<name>.m3u8` (and `Playlists/<name>.m3u8`
 * with playlists_folder = true), whose entries resolve inside the mount from the playlist's own folder — checked by a
 * real MPD (`mpc load` of the playlist in the music directory, and from MPD's playlist_directory through a link) and
 * by resolving every entry the way Navidrome's code does (test/support/navidrome.ts: Navidrome cannot be installed
 * here).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { writeSampleLibraryCopy } from "../support/sampleLibraryCopy.ts";
import { hasMpd, startMpd } from "../support/mpd.ts";
import { resolvePlaylistEntries, scannedMediaFiles, scannedPlaylists } from "../support/navidrome.ts";
import { CLI, cleanupAll, run, startMount, tempDir } from "./harness.ts";

afterAll(cleanupAll);

describe("playlists as files", () => {
  test.skipIf(!hasMpd)("every collection has an .m3u8 that mpc load resolves entry by entry, and whose entries are files of the mount", async () => {
    const origin = tempDir();
    await writeSampleLibraryCopy(origin);
    const cache = tempDir();
    const cfg = join(tempDir(), "config.toml");
    writeFileSync(cfg, `playlists_folder = true\n[[origins]]\nid = "lib"\npath = "${origin}"\n`);
    const mnt = join(tempDir(), "mnt");
    const m = await startMount(mnt, ["--config", cfg, "--cache-dir", cache]);
    expect((await run(["bun", CLI, "collection", "add", "Lanterns", "lanterns", "--config", cfg, "--cache-dir", cache])).code).toBe(0);

    const listed = readdirSync(join(mnt, ".collections"));
    expect(listed).toContain("Lanterns");
    expect(listed).toContain("Lanterns.m3u8");
    expect(listed).toContain("Recently Added.m3u8");
    // playlists_folder = true: a visible /Playlists holds the same playlist files, and nothing else.
    expect(readdirSync(mnt)).toContain("Playlists");
    expect(readdirSync(join(mnt, "Playlists")).sort()).toEqual(listed.filter((n) => n.endsWith(".m3u8")).sort());
    expect(readFileSync(join(mnt, "Playlists", "Lanterns.m3u8"), "utf8")).toBe(readFileSync(join(mnt, ".collections", "Lanterns.m3u8"), "utf8"));
    const found = JSON.parse((await run(["bun", CLI, "search", "lanterns", "--json", "--config", cfg, "--cache-dir", cache])).stdout) as { results: { path: string }[] };

    for (const name of ["Lanterns", "Recently Added"]) {
      const file = join(mnt, ".collections", `${name}.m3u8`);
      const text = readFileSync(file, "utf8");
      expect(text.startsWith("#EXTM3U\n")).toBe(true);
      const entries = text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
      expect(entries.length).toBeGreaterThan(0);
      // Relative to the playlist's folder, inside the mount, each a file that is there.
      for (const e of entries) {
        expect(e.startsWith("../")).toBe(true);
        const abs = resolve(dirname(file), e);
        expect(abs.startsWith(`${mnt}/`)).toBe(true);
        expect(existsSync(abs)).toBe(true);
      }
      if (name === "Lanterns") expect(entries.map((e) => e.slice(3))).toEqual(found.results.map((r) => r.path));
    }

    // Navidrome with the mount as its library: it scans Playlists/ (not the dot-folder .collections) and resolves
    // every entry of every playlist to a media file it scanned, in order.
    const media = scannedMediaFiles(mnt);
    expect(media.size).toBe(20);
    expect(scannedPlaylists(mnt)).toEqual(listed.filter((n) => n.endsWith(".m3u8")).map((n) => `Playlists/${n}`).sort());
    for (const file of [join(mnt, "Playlists", "Lanterns.m3u8"), join(mnt, ".collections", "Lanterns.m3u8")]) {
      const resolved = resolvePlaylistEntries(readFileSync(file, "utf8"), file, mnt);
      expect(resolved.map((r) => r.resolved)).toEqual(found.results.map((r) => r.path));
      for (const r of resolved) expect(media.has(r.resolved!)).toBe(true);
    }
    for (const name of listed.filter((n) => n.endsWith(".m3u8"))) {
      const file = join(mnt, "Playlists", name);
      const resolved = resolvePlaylistEntries(readFileSync(file, "utf8"), file, mnt);
      expect(resolved.length).toBeGreaterThan(0);
      for (const r of resolved) expect(r.resolved !== null && media.has(r.resolved)).toBe(true);
    }

    const mpd = await startMpd({ musicDir: mnt });
    try {
      await mpd.update(120_000);
      const songs = (await mpd.mpc(["listall"])).stdout.split("\n").filter(Boolean);
      expect(songs.length).toBe(20); // the visible /Playlists adds playlists to MPD's scan, never songs
      for (const playlist of [".collections/Lanterns.m3u8", "Playlists/Lanterns.m3u8"]) {
        expect((await mpd.mpc(["clear"])).code).toBe(0);
        const load = await mpd.mpc(["load", playlist]);
        expect(load.stderr).toBe("");
        expect(load.code).toBe(0);
        const queue = (await mpd.mpc(["playlist", "-f", "%file%"])).stdout.split("\n").filter(Boolean);
        expect(queue).toEqual(found.results.map((r) => r.path));
        // Each queued entry is a song of MPD's database (resolved, not a dangling path).
        for (const f of queue) expect(songs).toContain(f);
      }
    } finally {
      await mpd.stop();
    }

    // MPD's playlist_directory takes only `.m3u` files: a link named Lanterns.m3u to the mount's playlist makes
    // `mpc load Lanterns` work, every entry resolved (MPD reads a stored playlist's entries from the music
    // directory's root, where the leading ../ goes nowhere).
    const playlistDir = tempDir();
    symlinkSync(join(mnt, ".collections", "Lanterns.m3u8"), join(playlistDir, "Lanterns.m3u"));
    const stored = await startMpd({ musicDir: mnt, playlistDir });
    try {
      await stored.update(120_000);
      const load = await stored.mpc(["load", "Lanterns"]);
      expect(load.stderr).toBe("");
      expect(load.code).toBe(0);
      const queue = (await stored.mpc(["playlist", "-f", "%file%"])).stdout.split("\n").filter(Boolean);
      expect(queue).toEqual(found.results.map((r) => r.path));
    } finally {
      await stored.stop();
    }
    expect(await m.stop()).toBe(0);
  }, 180_000);
});
