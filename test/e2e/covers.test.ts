/**
 * Issue 10 item 4: cover art through a real mount. Every album folder with art has cover.<real type>, whose bytes
 * are the origin's folder image or the picture embedded in a track (extracted independently here with ffmpeg /
 * metaflac); folders without art have none; changes on the origin show up live; MPD's `albumart` finds them; a
 * cached origin serves them from the chunk store once the origin is gone.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { Database as Sqlite } from "bun:sqlite";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { put } from "../support/albumCases.ts";
import { hasMpd, startMpd } from "../support/mpd.ts";
import { cleanupAll, run, startMount, tempDir, QUICK_WATCH_ENV } from "./harness.ts";
import { runBytes } from "../support/process.ts";
import { GENERATED } from "../support/paths.ts";
import { corpusDescribe } from "../support/needsCorpus.ts";
import { eventually } from "../support/eventually.ts";
import { gradientPng, tinyJpeg } from "../../src/sample/tinyImages.ts";

afterEach(cleanupAll);
afterAll(cleanupAll);

const hasFfmpeg = Bun.which("ffmpeg") !== null;
const hasMetaflac = Bun.which("metaflac") !== null;
const PNG = gradientPng(0x336699, 16).data;

/**
 * Alpha: a folder image "Folder.JPG" that is really a PNG (→ cover.png), besides a track with an embedded JPEG (the
 * folder image wins). Beta: an MP3 with an embedded JPEG only. Gamma: no art at all. Delta: a FLAC with a PNG
 * picture. Real tagger output: an M4A written by ffmpeg with a JPEG `covr`.
 */
function writeOrigin(origin: string): void {
  put(origin, "A/1.flac", { album: "Alpha", albumArtist: "Band", artists: ["Band"], title: "one", track: 1, cover: tinyJpeg() });
  put(origin, "A/2.flac", { album: "Alpha", albumArtist: "Band", artists: ["Band"], title: "two", track: 2 });
  writeFileSync(join(origin, "A/Folder.JPG"), PNG);
  put(origin, "B/1.mp3", { album: "Beta", albumArtist: "Band", artists: ["Band"], title: "one", track: 1, cover: tinyJpeg() });
  put(origin, "C/1.flac", { album: "Gamma", albumArtist: "Band", artists: ["Band"], title: "one", track: 1 });
  put(origin, "D/1.flac", { album: "Delta", albumArtist: "Band", artists: ["Band"], title: "one", track: 1, cover: gradientPng(0xaa3300, 12) });
  mkdirSync(join(origin, "E"));
  copyFileSync(join(GENERATED, "m4a-aac-ffmpeg.m4a"), join(origin, "E/1.m4a"));
}

const ALPHA = "Band/Alpha [FLAC]";
const BETA = "Band/Beta [MP3]";
const GAMMA = "Band/Gamma [FLAC]";
const DELTA = "Band/Delta [FLAC]";
const REAL = "Various Artists/Album Ä (2001) [M4A]";

/** The picture of an audio file as ffmpeg extracts it (the attached picture stream, copied). */
async function ffmpegPicture(file: string, ext: string): Promise<Uint8Array> {
  const out = join(tempDir(), `picture.${ext}`);
  const r = await run(["ffmpeg", "-v", "error", "-y", "-i", file, "-an", "-vcodec", "copy", out]);
  expect(r.code).toBe(0);
  return readFileSync(out);
}

async function cmp(a: string, b: string): Promise<number> {
  return (await run(["cmp", a, b])).code;
}

async function cat(path: string): Promise<Uint8Array> {
  const r = await runBytes(["cat", path]);
  expect(r.code).toBe(0);
  return r.stdout;
}

/** The chunk manifest a cached folder image has in metadata.db (null until its fetch completed). */
function folderImageManifest(cacheDir: string, realPath: string): Uint8Array | null {
  const db = new Sqlite(join(cacheDir, "metadata.db"), { readonly: true });
  try {
    const row = db.query("SELECT chunk_manifest FROM folder_images WHERE real_path = ?").get(realPath) as { chunk_manifest: Uint8Array | null } | null;
    return row?.chunk_manifest ?? null;
  } finally {
    db.close();
  }
}

corpusDescribe("cover files in album folders", () => {
  test.skipIf(!hasFfmpeg || !hasMetaflac)("cover.<real type>: the folder image, else the embedded picture; none without art", async () => {
    const origin = tempDir();
    writeOrigin(origin);
    const mnt = join(tempDir(), "mnt");
    await startMount(mnt, ["--origin", origin, "--cache-dir", tempDir()]);
    const ls = async (dir: string) => (await run(["ls", join(mnt, dir)])).stdout.split("\n").filter(Boolean);
    expect(await ls(ALPHA)).toEqual(["01 - one.flac", "02 - two.flac", "cover.png"]);
    expect(await ls(BETA)).toEqual(["01 - one.mp3", "cover.jpg"]);
    expect(await ls(GAMMA)).toEqual(["01 - one.flac"]);
    expect(await ls(DELTA)).toEqual(["01 - one.flac", "cover.png"]);
    expect((await ls(REAL)).filter((n) => n.startsWith("cover"))).toEqual(["cover.jpg"]);

    expect(await cmp(join(mnt, ALPHA, "cover.png"), join(origin, "A/Folder.JPG"))).toBe(0);
    const beta = join(tempDir(), "beta.jpg");
    writeFileSync(beta, await ffmpegPicture(join(origin, "B/1.mp3"), "jpg"));
    expect(await cmp(join(mnt, BETA, "cover.jpg"), beta)).toBe(0);
    const delta = join(tempDir(), "delta.png");
    expect((await run(["metaflac", `--export-picture-to=${delta}`, join(origin, "D/1.flac")])).code).toBe(0);
    expect(await cmp(join(mnt, DELTA, "cover.png"), delta)).toBe(0);
    const real = join(tempDir(), "real.jpg");
    writeFileSync(real, await ffmpegPicture(join(origin, "E/1.m4a"), "jpg"));
    expect(await cmp(join(mnt, REAL, "cover.jpg"), real)).toBe(0);
    expect(await cmp(join(mnt, REAL, "cover.jpg"), join(GENERATED, "cover.jpg"))).toBe(0); // what the tagger embedded
    // `stat` agrees with the bytes served.
    const size = await run(["stat", "-c", "%s", join(mnt, BETA, "cover.jpg")]);
    expect(Number(size.stdout.trim())).toBe(readFileSync(beta).length);
  }, 90_000);

  test("--watch: a folder image added, replaced and removed on the origin; the album's last track removed", async () => {
    const origin = tempDir();
    writeOrigin(origin);
    const mnt = join(tempDir(), "mnt");
    await startMount(mnt, ["--origin", origin, "--cache-dir", tempDir(), "--watch"], { env: QUICK_WATCH_ENV });
    const gamma = join(mnt, GAMMA);
    expect(readdirSync(gamma)).toEqual(["01 - one.flac"]); // listed (cached by the kernel) before the changes
    copyFileSync(join(GENERATED, "cover.jpg"), join(origin, "C/cover.jpg"));
    await eventually(() => readdirSync(gamma).sort(), (l) => l.includes("cover.jpg"));
    expect(await cmp(join(gamma, "cover.jpg"), join(GENERATED, "cover.jpg"))).toBe(0);
    writeFileSync(join(origin, "C/cover.jpg"), PNG); // replaced by a PNG under the same name: cover.png now
    await eventually(() => readdirSync(gamma).sort(), (l) => l.includes("cover.png") && !l.includes("cover.jpg"));
    expect(await cmp(join(gamma, "cover.png"), join(origin, "C/cover.jpg"))).toBe(0);
    rmSync(join(origin, "C/cover.jpg"));
    await eventually(() => readdirSync(gamma).sort(), (l) => l.length === 1 && l[0] === "01 - one.flac");
    rmSync(join(origin, "B/1.mp3")); // the album's only track: its folder goes, cover and all
    await eventually(() => readdirSync(join(mnt, "Band")).sort(), (l) => !l.includes("Beta [MP3]"));
  }, 90_000);

  test("--cover folder names the files folder.<type>; --cover none shows none", async () => {
    const origin = tempDir();
    writeOrigin(origin);
    const cacheDir = tempDir();
    const mnt = join(tempDir(), "mnt");
    const first = await startMount(mnt, ["--origin", origin, "--cache-dir", cacheDir, "--cover", "folder"]);
    expect(readdirSync(join(mnt, ALPHA)).sort()).toEqual(["01 - one.flac", "02 - two.flac", "folder.png"]);
    expect(readdirSync(join(mnt, BETA)).sort()).toEqual(["01 - one.mp3", "folder.jpg"]);
    expect(await first.stop()).toBe(0);
    await startMount(mnt, ["--origin", origin, "--cache-dir", cacheDir, "--cover", "none"]); // same cache dir, name changed
    expect(readdirSync(join(mnt, ALPHA)).sort()).toEqual(["01 - one.flac", "02 - two.flac"]);
    expect(readdirSync(join(mnt, BETA)).sort()).toEqual(["01 - one.mp3"]);
  }, 90_000);

  test.skipIf(!hasMpd)("MPD: `mpc albumart` of a song returns its folder's cover bytes", async () => {
    const origin = tempDir();
    writeOrigin(origin);
    const mnt = join(tempDir(), "mnt");
    await startMount(mnt, ["--origin", origin, "--cache-dir", tempDir()]);
    const mpd = await startMpd({ musicDir: mnt });
    try {
      await mpd.update();
      const alpha = await mpd.mpc(["albumart", `${ALPHA}/01 - one.flac`]);
      expect(alpha.code).toBe(0);
      expect(Buffer.from(alpha.bytes).equals(readFileSync(join(origin, "A/Folder.JPG")))).toBe(true);
      const beta = await mpd.mpc(["albumart", `${BETA}/01 - one.mp3`]);
      expect(beta.code).toBe(0);
      expect(Buffer.from(beta.bytes).equals(Buffer.from(await cat(join(mnt, BETA, "cover.jpg"))))).toBe(true);
      expect(Buffer.from(beta.bytes).subarray(0, 3).equals(Buffer.from([0xff, 0xd8, 0xff]))).toBe(true);
      const gamma = await mpd.mpc(["albumart", `${GAMMA}/01 - one.flac`]);
      expect(gamma.bytes.length).toBe(0); // no art: MPD finds no cover file
    } finally {
      await mpd.stop();
    }
  }, 120_000);

  test("upgrade: a cache dir from before covers mounts at once, and its background sync adds the cover files", async () => {
    const origin = tempDir();
    writeOrigin(origin);
    const cacheDir = tempDir();
    const mnt = join(tempDir(), "mnt");
    const first = await startMount(mnt, ["--origin", origin, "--cache-dir", cacheDir]);
    expect(await first.stop()).toBe(0);
    // Back to schema 5, as a musicfs without covers left it: no picture columns, no cover tables or nodes (and none
    // of the views of schema 7, the retired manifests of schema 8, the data file moves of schema 9 or the id
    // bookkeeping of schema 10).
    const db = new Sqlite(join(cacheDir, "metadata.db"));
    db.exec("DROP TRIGGER files_deleted; DROP TRIGGER folder_images_deleted; DROP TABLE id_high_water; DROP TABLE forgotten_content");
    db.exec("DROP TABLE data_file_moves; DROP TABLE retired_manifests");
    db.exec("DROP TABLE view_placements; DROP TABLE views; ALTER TABLE nodes DROP COLUMN view_id");
    db.exec("DELETE FROM nodes WHERE kind = 3; DELETE FROM meta WHERE key = 'cover_name'; DROP INDEX nodes_album");
    db.exec("DROP TABLE album_covers; DROP TABLE folder_images");
    for (const c of ["offset", "length", "type", "front"]) db.exec(`ALTER TABLE files DROP COLUMN picture_${c}`);
    db.exec("PRAGMA user_version = 5");
    db.close();
    const upgraded = await startMount(mnt, ["--origin", origin, "--cache-dir", cacheDir]);
    await upgraded.waitFor(/Delta sync complete: 0 added, 6 modified/); // every file parsed once more, in the background
    await eventually(() => readdirSync(join(mnt, ALPHA)).sort(), (l) => l.includes("cover.png"));
    expect(await cmp(join(mnt, ALPHA, "cover.png"), join(origin, "A/Folder.JPG"))).toBe(0);
    expect(Buffer.from(await cat(join(mnt, BETA, "cover.jpg"))).equals(Buffer.from(tinyJpeg().data))).toBe(true);
    expect(readdirSync(join(mnt, GAMMA))).toEqual(["01 - one.flac"]);
  }, 90_000);

  test("cache = full: covers are served through the chunk store, also after the origin is gone", async () => {
    const origin = tempDir();
    writeOrigin(origin);
    const cacheDir = tempDir();
    const mnt = join(tempDir(), "mnt");
    const config = join(tempDir(), "config.toml");
    writeFileSync(config, `[[origins]]\nid = "lib"\npath = "${origin}"\ncache = "full"\n`);
    const first = await startMount(mnt, ["--config", config, "--cache-dir", cacheDir]);
    const expected = {
      [`${ALPHA}/cover.png`]: readFileSync(join(origin, "A/Folder.JPG")), // a folder image: fetched into the store
      [`${BETA}/cover.jpg`]: Buffer.from(tinyJpeg().data), // embedded: range blocks of the track
    };
    for (const [path, bytes] of Object.entries(expected)) expect(Buffer.from(await cat(join(mnt, path))).equals(bytes)).toBe(true);
    // The folder image's manifest is recorded once its fetch completes: wait for it, not for a time.
    await eventually(() => folderImageManifest(cacheDir, "A/Folder.JPG"), (m) => m !== null);
    expect(await first.stop()).toBe(0);
    renameSync(origin, `${origin}.away`); // the origin is gone: only the chunk store can answer now
    await startMount(mnt, ["--config", config, "--cache-dir", cacheDir]);
    for (const [path, bytes] of Object.entries(expected)) expect(Buffer.from(await cat(join(mnt, path))).equals(bytes)).toBe(true);
    // A cover never read before has nothing cached: an error, not wrong bytes.
    expect((await runBytes(["cat", join(mnt, DELTA, "cover.png")])).code).not.toBe(0);
  }, 120_000);
});
