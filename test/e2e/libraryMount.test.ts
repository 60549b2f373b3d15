/**
 * Issue 3 end to end: `musicfs mount MNT --origin DIR` on real audio, through a real FUSE mount, read by real
 * programs (find, cat/cmp, ffprobe, stat).
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { Database as Sqlite } from "bun:sqlite";
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isAudioPath } from "../../src/library/audioFormats.ts";
import { writeFlac } from "../../src/sample/flacWriter.ts";
import { silence } from "../../src/sample/tone.ts";
import type { TrackTags } from "../../src/sample/tags.ts";
import { CLI, CORPUS, cleanupAll, findFiles, isCoverFile, run, startMount, tempDir } from "./harness.ts";
import { corpusTest } from "../support/needsCorpus.ts";

afterEach(cleanupAll);
afterAll(cleanupAll);

const sha = (bytes: Uint8Array) => new Bun.CryptoHasher("sha256").update(bytes).digest("hex");

interface ManifestLine {
  path: string;
  title: string;
  artists: string[];
  album: string;
  albumartist: string;
  track: number;
  disc: number;
  disctotal: number;
  year: number;
  compilation: boolean;
}

describe("first mount of the synthetic library", () => {
  corpusTest("every file sits where its manifest tags say under the default template, byte for byte", async () => {
    const root = join(CORPUS, "synthetic-2600");
    const mnt = join(tempDir(), "mnt");
    const cache = tempDir();
    await startMount(mnt, ["--origin", root, "--cache-dir", cache]);
    const listed = new Set(await findFiles(mnt));

    const manifest: ManifestLine[] = readFileSync(join(root, "manifest.jsonl"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    const missing: string[] = [];
    const extOf = (m: ManifestLine) => m.path.slice(m.path.lastIndexOf(".") + 1).toLowerCase();
    // One folder per album (every manifest row has an album artist): the album's earliest year, its formats, and
    // disc-track numbers when any of its tracks is on a disc above 1 or says there are several.
    const albums = new Map<string, { year: number; formats: Set<string>; discs: number }>();
    for (const m of manifest) {
      const key = `${m.albumartist}\0${m.album}`;
      const a = albums.get(key) ?? { year: m.year, formats: new Set<string>(), discs: 1 };
      a.year = Math.min(a.year, m.year);
      a.formats.add(extOf(m).toUpperCase());
      a.discs = Math.max(a.discs, m.disc, m.disctotal);
      albums.set(key, a);
    }
    for (const m of manifest) {
      // The expectation is written out from the manifest's fields, independently of the template engine.
      const ext = extOf(m);
      const album = albums.get(`${m.albumartist}\0${m.album}`)!;
      const track = String(m.track).padStart(2, "0");
      const disctrack = album.discs > 1 ? `${m.disc}-${track}` : track;
      const folder = `${m.album} (${album.year}) [${[...album.formats].sort().join("+")}]`;
      const expected = `${m.albumartist}/${folder}/${disctrack} - ${m.title}.${ext}`.normalize("NFC");
      if (!listed.has(expected)) missing.push(`${m.path} → ${expected}`);
    }
    expect(missing.slice(0, 10)).toEqual([]);
    expect(missing.length).toBe(0);

    // Spot-check content through the mount against the origin file it came from.
    const db = new Sqlite(join(cache, "metadata.db"), { readonly: true });
    const rows = db.query("SELECT real_path, virtual_path FROM files ORDER BY id LIMIT 200").values() as [string, string][];
    for (const [real, virtual] of rows) expect(sha(readFileSync(join(mnt, virtual)))).toBe(sha(readFileSync(join(root, real))));
    db.close();
  }, 180_000);
});

describe("the whole shared corpus", () => {
  corpusTest("scans without a crash; every audio file is visible exactly once with its exact bytes", async () => {
    const mnt = join(tempDir(), "mnt");
    const cache = tempDir();
    const server = await startMount(mnt, ["--origin", CORPUS, "--cache-dir", cache], { readyTimeoutMs: 170_000 });
    const audioOnOrigin = (await findFiles(CORPUS)).filter(isAudioPath);
    const all = await findFiles(mnt);
    const listed = all.filter((f) => !isCoverFile(f)); // album covers: checked in covers.test.ts
    expect(all.length).toBeGreaterThan(listed.length); // the corpus has albums with art
    expect(listed.length).toBe(audioOnOrigin.length);

    const db = new Sqlite(join(cache, "metadata.db"), { readonly: true });
    const rows = db.query("SELECT real_path, virtual_path FROM files").values() as [string, string][];
    db.close();
    expect(rows.map((r) => r[0]).sort()).toEqual(audioOnOrigin);
    expect(new Set(rows.map((r) => r[1])).size).toBe(rows.length); // no two files on one path
    expect(rows.map((r) => r[1]).sort()).toEqual(listed);
    let mismatches = 0;
    for (const [real, virtual] of rows) {
      if (sha(readFileSync(join(mnt, virtual))) !== sha(readFileSync(join(CORPUS, real)))) mismatches++;
    }
    expect(mismatches).toBe(0);
    expect(server.proc.exitCode).toBeNull(); // still serving after all of that
  }, 300_000);
});

/** Writes a small FLAC library from tag sets. */
function writeLibrary(dir: string, files: Record<string, TrackTags>): void {
  for (const [rel, tags] of Object.entries(files)) {
    mkdirSync(join(dir, rel, ".."), { recursive: true });
    writeFileSync(join(dir, rel), writeFlac(tags, silence(0.2, 22050, 1)));
  }
}

describe("names from hostile and tricky tags", () => {
  test("are safe, deterministic, and keep their names and inodes across a remount", async () => {
    const origin = tempDir();
    const longTitle = "é".repeat(200); // 400 bytes in UTF-8
    writeLibrary(origin, {
      "a.flac": { artists: ["AC/DC"], album: "Who Made Who?", title: "Test:Track", track: 1, year: 1986 },
      "b.flac": { artists: [".."], album: "..", title: ".hidden", track: 2 },
      "c.flac": { artists: ["Band"], album: "Long", title: longTitle, track: 3, year: 2000 },
      "d.flac": { artists: ["Band"], album: "Ctl", title: "Bad\u0007Ti\u0001tle", track: 4, year: 2000 },
      "e.flac": { artists: ["Band"], album: "Vars", title: "$artist $album", track: 5, year: 2000 },
      "dup1.flac": { artists: ["Twin"], album: "Same", title: "Song", track: 1, year: 1999 },
      "dup2.flac": { artists: ["Twin"], album: "Same", title: "Song", track: 1, year: 1999 },
      "comp1.flac": { artists: ["Solo One"], album: "Hits", title: "First", track: 1, year: 2010, compilation: true },
      "comp2.flac": { artists: ["Solo Two"], album: "Hits", title: "Second", track: 2, year: 2010, compilation: true },
      "disc.flac": { artists: ["Dual"], album: "Double", title: "Deep", track: 3, disc: 2, discTotal: 2, year: 2020 },
      "untagged.flac": {},
    });
    const mnt = join(tempDir(), "mnt");
    const cache = tempDir();
    let server = await startMount(mnt, ["--origin", origin, "--cache-dir", cache]);
    const listed = await findFiles(mnt);
    expect(listed).toContain("AC_DC/Who Made Who_ (1986) [FLAC]/01 - Test_Track.flac");
    expect(listed).toContain("Twin/Same (1999) [FLAC]/01 - Song.flac");
    expect(listed).toContain("Twin/Same (1999) [FLAC]/01 - Song (2).flac");
    expect(listed).toContain("Various Artists/Hits (2010) [FLAC]/01 - First.flac");
    expect(listed).toContain("Various Artists/Hits (2010) [FLAC]/02 - Second.flac");
    expect(listed).toContain("Dual/Double (2020) [FLAC]/2-03 - Deep.flac");
    expect(listed).toContain("Band/Vars (2000) [FLAC]/05 - $artist $album.flac");
    expect(listed).toContain("Band/Ctl (2000) [FLAC]/04 - BadTitle.flac");
    // No name is ".", "..", hidden, empty or longer than 255 bytes; the long title kept its extension.
    for (const path of listed) {
      for (const name of path.split("/")) {
        expect(name === "." || name === ".." || name.startsWith(".") || name === "").toBe(false);
        expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255);
      }
    }
    const long = listed.find((p) => p.startsWith("Band/Long"))!;
    expect(long.endsWith(".flac")).toBe(true);
    expect(long).not.toContain("\uFFFD");
    // The untagged file is still there, under the fallbacks, titled by its file name.
    expect(listed.some((p) => p.startsWith("Unknown Artist/Unknown Album") && p.endsWith("untagged.flac"))).toBe(true);

    const inodes = async () => (await run(["sh", "-c", `cd "${mnt}" && find . -type f -printf '%i %P\\n' | sort -k2`])).stdout;
    const before = await inodes();
    expect(await server.stop("SIGTERM")).toBe(0);
    server = await startMount(mnt, ["--origin", origin, "--cache-dir", cache]);
    expect(await findFiles(mnt)).toEqual(listed);
    expect(await inodes()).toBe(before);
  }, 120_000);
});

describe("later mounts", () => {
  test("come from the database: with the origin moved away everything is still listed", async () => {
    const base = tempDir();
    const origin = join(base, "music");
    writeLibrary(origin, {
      "x/1.flac": { artists: ["Kite"], album: "Air", title: "Up", track: 1, year: 2001 },
      "x/2.flac": { artists: ["Kite"], album: "Air", title: "Down", track: 2, year: 2001 },
    });
    const mnt = join(tempDir(), "mnt");
    const cache = tempDir();
    let server = await startMount(mnt, ["--origin", origin, "--cache-dir", cache]);
    const first = await findFiles(mnt);
    expect(first.length).toBe(2);
    expect(await server.stop()).toBe(0);

    renameSync(origin, join(base, "moved"));
    server = await startMount(mnt, ["--origin", origin, "--cache-dir", cache]);
    expect(server.output()).toContain("not reachable");
    expect(await findFiles(mnt)).toEqual(first);
    const st = await run(["stat", "-c", "%s %A", join(mnt, first[0])]);
    expect(st.code).toBe(0);
    expect(st.stdout).toContain("-r--r--r--");
    const cat = await run(["cat", join(mnt, first[0])]);
    expect(cat.code).not.toBe(0); // the content lives on the origin, which is gone

    renameSync(join(base, "moved"), origin); // back: reads work again without a remount
    expect(first[0]).toEndWith("01 - Up.flac");
    expect((await run(["cmp", join(mnt, first[0]), join(origin, "x/1.flac")])).code).toBe(0);
    expect((await run(["cmp", join(mnt, first[1]), join(origin, "x/2.flac")])).code).toBe(0);
  }, 120_000);

  test("without --origin, a later mount uses the origins of the last one (and reads from them)", async () => {
    const origin = tempDir();
    writeLibrary(origin, { "a.flac": { artists: ["Echo"], album: "Once", title: "Again", track: 1, year: 1999 } });
    const mnt = join(tempDir(), "mnt");
    const cache = tempDir();
    const first = await startMount(mnt, ["--origin", origin, "--cache-dir", cache]);
    expect(await first.stop()).toBe(0);
    const second = await startMount(mnt, ["--cache-dir", cache]);
    expect(second.output()).toContain("Using the origins of the last mount");
    const cmp = await run(["cmp", join(mnt, "Echo/Once (1999) [FLAC]/01 - Again.flac"), join(origin, "a.flac")]);
    expect(cmp.code).toBe(0);
  }, 60_000);

  corpusTest("ffprobe reads the same tags and duration through the mount as from the origin", async () => {
    const origin = join(CORPUS, "generated-taggers");
    const mnt = join(tempDir(), "mnt");
    const cache = tempDir();
    await startMount(mnt, ["--origin", origin, "--cache-dir", cache]);
    const db = new Sqlite(join(cache, "metadata.db"), { readonly: true });
    const rows = db.query("SELECT real_path, virtual_path FROM files").values() as [string, string][];
    db.close();
    expect(rows.length).toBeGreaterThan(5);
    const probe = async (path: string) => {
      const r = await run(["ffprobe", "-v", "error", "-show_entries", "format=duration:format_tags", "-of", "json", path]);
      return JSON.parse(r.stdout || "{}");
    };
    // The files are probed at once (34 ffprobe runs one after the other took ~8 s, waiting on each other's start).
    const probed = await Promise.all(rows.map(async ([real, virtual]) => ({ real, direct: await probe(join(origin, real)), through: await probe(join(mnt, virtual)) })));
    for (const { real, direct, through } of probed) expect({ real, tags: through }).toEqual({ real, tags: direct });
  }, 120_000);
});

describe("clear errors", () => {
  test("an unknown template variable names the valid ones; nothing is mounted", async () => {
    const r = await run(["bun", CLI, "mount", join(tempDir(), "m"), "--origin", tempDir(), "--cache-dir", tempDir(), "--template", "$artst/$title"]);
    expect(r.code).not.toBe(0);
    const text = r.stdout + r.stderr;
    expect(text).toContain("artst");
    expect(text).toContain("albumartist");
  });

  test("a missing origin on the first mount is named", async () => {
    const missing = join(tempDir(), "nope");
    const r = await run(["bun", CLI, "mount", join(tempDir(), "m"), "--origin", missing, "--cache-dir", tempDir()]);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toContain(`${missing} does not exist`);
  });

  test("a non-empty mountpoint is refused", async () => {
    const mnt = tempDir();
    writeFileSync(join(mnt, "keep.txt"), "mine");
    const origin = tempDir();
    writeLibrary(origin, { "a.flac": { title: "A" } });
    const r = await run(["bun", CLI, "mount", mnt, "--origin", origin, "--cache-dir", tempDir()]);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toContain("not empty");
    expect(readFileSync(join(mnt, "keep.txt"), "utf8")).toBe("mine");
    expect(statSync(mnt).isDirectory()).toBe(true);
  });
});
