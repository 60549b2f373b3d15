import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseFile } from "music-metadata";
import { sampleLibraryPlan, writeSampleLibrary, type SampleLibraryResult } from "../../src/sample/sampleLibrary.ts";
import { decodeToPcm, ffprobe, flacTest, hasFfmpeg, hasFlacTool, inParallel, rms, tag, SLOW_TEST_MS } from "./tools.ts";

const plan = sampleLibraryPlan();
let dir = "";
let first: SampleLibraryResult;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "musicfs-demo-"));
  first = await writeSampleLibrary(dir);
}, SLOW_TEST_MS);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("the demo library's content", () => {
  test("~20 tracks, 3+ artists, 4 albums, both formats", () => {
    expect(first.files).toBe(plan.length);
    expect(first.written).toBe(plan.length);
    expect(plan.length).toBeGreaterThanOrEqual(18);
    expect(new Set(plan.map((f) => f.tags.album)).size).toBe(4);
    expect(new Set(plan.flatMap((f) => f.tags.artists ?? [])).size).toBeGreaterThanOrEqual(3);
    expect(plan.filter((f) => f.format === "flac").length).toBeGreaterThan(5);
    expect(plan.filter((f) => f.format === "mp3").length).toBeGreaterThan(5);
  });

  test("has a Various Artists compilation, a two-disc album, a two-artist track, unicode names, covers", () => {
    const compilation = plan.filter((f) => f.tags.compilation);
    expect(compilation.length).toBeGreaterThan(2);
    expect(compilation.every((f) => f.tags.albumArtist === "Various Artists")).toBe(true);
    expect(new Set(compilation.map((f) => f.format)).size).toBe(2);
    expect(plan.some((f) => f.tags.discTotal === 2 && f.tags.disc === 2)).toBe(true);
    expect(plan.some((f) => (f.tags.artists?.length ?? 0) > 1)).toBe(true);
    expect(plan.some((f) => /[^\x00-\x7f]/.test(f.path))).toBe(true);
    expect(plan.every((f) => f.tags.cover !== undefined)).toBe(true);
  });

  test("a second run writes nothing; a changed file is rewritten", async () => {
    expect((await writeSampleLibrary(dir)).written).toBe(0);
    await writeFile(join(dir, plan[0].path), "scribbled over");
    const again = await writeSampleLibrary(dir);
    expect(again.written).toBe(1);
    expect(again.bytes).toBe(first.bytes);
  }, SLOW_TEST_MS);
});

describe("every demo file is valid", () => {
  test("music-metadata reads the planned tags and length", async () => {
    for (const file of plan) {
      const { common, format } = await parseFile(join(dir, file.path));
      expect({ path: file.path, title: common.title, artists: common.artists, album: common.album, albumartist: common.albumartist }).toEqual({
        path: file.path,
        title: file.tags.title,
        artists: file.tags.artists,
        album: file.tags.album,
        albumartist: file.tags.albumArtist,
      });
      expect(common.track).toEqual({ no: file.tags.track!, of: file.tags.trackTotal! });
      expect(common.disk).toEqual({ no: file.tags.disc!, of: file.tags.discTotal! });
      expect(common.year).toBe(file.tags.year);
      expect(common.compilation ?? false).toBe(file.tags.compilation ?? false);
      expect(common.picture?.length).toBe(1);
      expect(format.duration! - file.seconds).toBeGreaterThanOrEqual(0);
      expect(format.duration! - file.seconds).toBeLessThan(0.03);
    }
  }, SLOW_TEST_MS);

  test.skipIf(!hasFfmpeg)("ffprobe: no errors, right tags and duration", async () => {
    const probes = await inParallel(plan, (file) => ffprobe(join(dir, file.path)));
    for (const [i, file] of plan.entries()) {
      const probe = probes[i]!;
      expect({ path: file.path, errors: probe.errors }).toEqual({ path: file.path, errors: "" });
      expect(tag(probe, "title")).toBe(file.tags.title);
      expect(tag(probe, "album")).toBe(file.tags.album);
      expect(tag(probe, "album_artist")).toBe(file.tags.albumArtist);
      expect(tag(probe, "genre")).toBe(file.tags.genre);
      expect(tag(probe, "date")).toBe(String(file.tags.year));
      expect(Math.abs(Number(probe.format.duration) - file.seconds)).toBeLessThan(0.03);
    }
  }, SLOW_TEST_MS);

  test.skipIf(!hasFlacTool)("flac -t passes on every FLAC", async () => {
    const flacs = plan.filter((f) => f.format === "flac");
    const checks = await inParallel(flacs, (file) => flacTest(join(dir, file.path)));
    for (const [i, file] of flacs.entries()) {
      const check = checks[i]!;
      expect({ path: file.path, exitCode: check.exitCode, stderr: check.stderr }).toEqual({ path: file.path, exitCode: 0, stderr: "" });
    }
  }, SLOW_TEST_MS);

  test.skipIf(!hasFfmpeg)("every track is audible and each sounds different", async () => {
    const fingerprints = new Set<string>();
    const decoded = await inParallel(plan, (file) => decodeToPcm(join(dir, file.path)));
    for (const { samples, errors } of decoded) {
      expect(errors).toBe("");
      expect(rms(samples)).toBeGreaterThan(1000);
      fingerprints.add(new Bun.CryptoHasher("sha1").update(samples.subarray(0, 44100 * 2)).digest("hex"));
    }
    expect(fingerprints.size).toBe(plan.length);
  }, SLOW_TEST_MS);
});
