import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { parseBuffer } from "music-metadata";
import { isAudioPath, extensionOf } from "../../src/library/audioFormats.ts";
import { openFileBytes } from "../../src/library/headTailReader.ts";
import { readTags } from "../../src/library/tagReader.ts";
import type { ParsedTags } from "../../src/core/types.ts";
import { CORPUS, corpusDescribe, GENERATED, HAVE_CORPUS, loadManifest, SYNTHETIC, walkFiles } from "./corpus.ts";

async function tagsOfFile(absPath: string): Promise<ParsedTags> {
  const ext = extensionOf(absPath);
  const file = openFileBytes(absPath, ext);
  try {
    return await readTags(file.source, ext);
  } finally {
    file.close();
  }
}

corpusDescribe("synthetic-2600: tags match the manifest", () => {
  test("every file, every field (WMA track total: see below)", async () => {
    const rows = loadManifest();
    expect(rows.length).toBe(2600);
    const mismatches: string[] = [];
    const kinds = new Set<string>();
    for (const row of rows) {
      kinds.add(row.kind);
      const t = await tagsOfFile(join(SYNTHETIC, row.path));
      const want: Record<string, unknown> = {
        title: row.title, artists: row.artists, album: row.album, albumArtist: row.albumartist, track: row.track,
        trackTotal: row.kind === "wma-asf" ? null : row.tracktotal, disc: row.disc, discTotal: row.disctotal,
        year: row.year, genre: row.genre, compilation: row.compilation, parseError: null,
      };
      for (const [field, value] of Object.entries(want)) {
        const got = (t as unknown as Record<string, unknown>)[field];
        if (JSON.stringify(got) !== JSON.stringify(value)) mismatches.push(`${row.path} ${field}: ${JSON.stringify(got)} ≠ ${JSON.stringify(value)}`);
      }
      if (t.durationMs === null || t.durationMs <= 0) mismatches.push(`${row.path} durationMs: ${t.durationMs}`);
      if (t.codec === null || t.sampleRate === null) mismatches.push(`${row.path} codec/sampleRate missing`);
    }
    expect(kinds.size).toBe(13);
    expect(mismatches.slice(0, 20)).toEqual([]);
  }, 120_000);

  test("known exception, checked: the synthetic WMA files carry no track total at all", async () => {
    // The manifest says tracktotal 12, but the generator wrote only WM/TrackNumber; no attribute holds a total.
    const wma = loadManifest().filter((r) => r.kind === "wma-asf");
    for (const row of wma.slice(0, 40)) {
      const m = await parseBuffer(readFileSync(join(SYNTHETIC, row.path)), { path: row.path });
      const ids = (m.native.asf ?? []).map((t) => t.id);
      expect(ids).toContain("WM/TrackNumber");
      expect(ids.filter((id) => /total/i.test(id))).toEqual([]);
    }
  });
});

corpusDescribe("generated-taggers: real taggers' files, incl. music-metadata quirks", () => {
  const full = {
    title: "Title é ✓ 東京", artists: ["Artist A", "Artist B"], album: "Album Ä", albumArtist: "Various Artists",
    track: 3, trackTotal: 12, disc: 1, discTotal: 2, year: 2001, genre: "Rock", compilation: true,
  };
  const files = HAVE_CORPUS ? walkFiles(GENERATED).filter(isAudioPath) : [];

  test("every tagger's file reads fully", async () => {
    expect(files.length).toBe(16);
    for (const path of files) {
      const name = basename(path);
      const t = await tagsOfFile(path);
      expect(t.parseError).toBeNull();
      let want: Record<string, unknown> = full;
      if (name === "mp3-id3v1-only.mp3") {
        // ID3v1 has 30-byte Latin-1 fields, no album artist, disc or totals.
        want = { title: "Title", artists: ["Artist A"], album: "Album", albumArtist: null, track: 3, trackTotal: null, disc: null, year: 2001, genre: "Rock", compilation: false };
      } else if (name === "wav-riffinfo-ffmpeg.wav") {
        // RIFF INFO has one artist, no album artist, disc or totals; text is UTF-8 (see the quirk test below).
        want = { title: full.title, artists: ["Artist A"], album: full.album, albumArtist: null, track: 3, trackTotal: null, disc: null, year: 2001, genre: "Rock", compilation: false };
      } else if (name === "wma-asf.wma") {
        want = { ...full, trackTotal: null }; // ffmpeg writes no track total to ASF
      }
      const got = Object.fromEntries(Object.keys(want).map((k) => [k, (t as unknown as Record<string, unknown>)[k]]));
      expect({ name, ...got }).toEqual({ name, ...want });
      expect(t.durationMs).toBeGreaterThan(0);
    }
  });

  // Each quirk test first shows music-metadata's own answer (so we learn when an upgrade fixes it), then ours.
  test("quirk: APEv2 ALBUMARTIST as kid3 writes it", async () => {
    const path = join(GENERATED, "ape-apev2.ape");
    const raw = await parseBuffer(readFileSync(path), { path });
    expect(raw.common.albumartist).toBeUndefined();
    expect((await tagsOfFile(path)).albumArtist).toBe("Various Artists");
  });

  test("quirk: WMA compilation flag stored as a BOOL attribute", async () => {
    const row = loadManifest().find((r) => r.kind === "wma-asf" && r.compilation)!;
    const path = join(SYNTHETIC, row.path);
    const raw = await parseBuffer(readFileSync(path), { path });
    expect(raw.common.compilation).not.toBe(true);
    expect((await tagsOfFile(path)).compilation).toBe(true);
    const notCompilation = loadManifest().find((r) => r.kind === "wma-asf" && !r.compilation)!;
    expect((await tagsOfFile(join(SYNTHETIC, notCompilation.path))).compilation).toBe(false);
  });

  // Issue 20: a scan worker can have two files' parses in flight at once. music-metadata writes the APEv2 footer it
  // finds into the options object of the parse; when that object was shared, the APE file's footer offset reached
  // the MP3's ID3v1 parser, which seeked there and found no tags (and no duration). The overlap is made here with
  // microtasks, so it is the same on every run: the MP3 starts, the APE starts `delay` microtasks later.
  test("parses in flight at once keep their own results (an APE file's footer never reaches an MP3)", async () => {
    const mp3 = new Uint8Array(readFileSync(join(GENERATED, "mp3-id3v1-only.mp3")));
    const ape = new Uint8Array(readFileSync(join(GENERATED, "ape-apev2.ape")));
    const mp3Alone = await readTags(mp3, "mp3");
    const apeAlone = await readTags(ape, "ape");
    expect(mp3Alone).toMatchObject({ title: "Title", album: "Album", durationMs: 180 });
    for (let delay = 0; delay <= 100; delay++) {
      const mp3Parse = readTags(mp3, "mp3");
      for (let i = 0; i < delay; i++) await Promise.resolve();
      const [mp3Tags, apeTags] = await Promise.all([mp3Parse, readTags(ape, "ape")]);
      expect({ delay, tags: mp3Tags }).toEqual({ delay, tags: mp3Alone });
      expect({ delay, tags: apeTags }).toEqual({ delay, tags: apeAlone });
    }
  });

  test("quirk: UTF-8 text in a WAV LIST INFO chunk", async () => {
    const path = join(GENERATED, "wav-riffinfo-ffmpeg.wav");
    const raw = await parseBuffer(readFileSync(path), { path });
    expect(raw.common.title).not.toBe(full.title);
    const t = await tagsOfFile(path);
    expect(t.title).toBe(full.title);
    expect(t.album).toBe(full.album);
  });
});

describe("technical data and normalising on constructed input", () => {
  test("a buffer that is not audio gives a short reason, not an exception", async () => {
    const t = await readTags(new TextEncoder().encode("just some text, not audio at all\n".repeat(10)), "mp3");
    expect(t.parseError).toBeTruthy();
    expect(t.parseError!.length).toBeLessThan(200);
    expect(t.title).toBeNull();
    expect(await readTags(new Uint8Array(0), "flac")).toMatchObject({ title: null });
    expect((await readTags(new Uint8Array(1), "flac")).parseError).toBeTruthy();
  });
});

corpusDescribe("the whole corpus: never throws, never hangs", () => {
  // A hang fails by the test's timeout; how long the slowest parse takes is measured by bench/scan/slowestParse.ts.
  test("every audio-extension file yields ParsedTags", async () => {
    const files = walkFiles(CORPUS).filter((p) => isAudioPath(p) && !p.startsWith(SYNTHETIC));
    expect(files.length).toBeGreaterThan(600);
    let failed = 0;
    for (const path of files) {
      let t: ParsedTags;
      try {
        t = await tagsOfFile(path);
      } catch (e) {
        throw new Error(`${path}: ${e}`);
      }
      expect(Array.isArray(t.artists)).toBe(true);
      if (t.parseError) failed++;
    }
    // Many corpus files are deliberately broken; most are still fine.
    expect(failed).toBeGreaterThan(10);
    expect(failed).toBeLessThan(files.length / 2);
  }, 120_000);
});
