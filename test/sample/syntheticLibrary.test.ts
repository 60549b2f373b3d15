import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateLibrary, MANIFEST_NAME, type GenerateResult, type ManifestEntry } from "../../src/sample/syntheticLibrary.ts";
import { makeAudioBank } from "../../src/sample/syntheticAudio.ts";
import { ALBUMS_PER_BUCKET, planAlbum, planShape, type PlannedFile } from "../../src/sample/syntheticPlan.ts";
import { expectedProbeTags, manifestFields, probeTags, readWithMusicMetadata } from "./manifestCheck.ts";
import { decodeToPcm, ffprobe, flacTest, hasFfmpeg, hasFlacTool, inParallel, rms, run, SLOW_TEST_MS } from "./tools.ts";

let root = "";
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "musicfs-synth-"));
}, SLOW_TEST_MS);
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function readManifest(dir: string): Promise<ManifestEntry[]> {
  const text = await Bun.file(join(dir, MANIFEST_NAME)).text();
  return text.trimEnd().split("\n").map((line) => JSON.parse(line));
}

/** Every file under dir except the manifest, as sorted relative paths. */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && !(e.parentPath === dir && e.name === MANIFEST_NAME))
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

/** path → SHA-256 of the content, for comparing two generated trees. */
async function fingerprint(dir: string): Promise<string[]> {
  const paths = await listFiles(dir);
  return Promise.all(paths.map(async (p) => `${p} ${new Bun.CryptoHasher("sha256").update(await Bun.file(join(dir, p)).bytes()).digest("hex")}`));
}

describe("the plan of a 30,000-file library", () => {
  const files = 30_000;
  const shape = planShape(7, files);
  const bank = makeAudioBank(true);
  const planned: PlannedFile[] = [];
  for (let album = 0; album < shape.albumFileCounts.length; album++) {
    planned.push(...planAlbum(shape, album, { formats: ["mp3", "flac"], audioVariants: bank.variants, durationOf: bank.durationOf, coverShare: 0.3 }));
  }
  const entries = planned.map((p) => p.entry);
  const share = (predicate: (e: ManifestEntry) => boolean) => entries.filter(predicate).length / entries.length;

  test("has exactly the files asked for, at distinct paths", () => {
    expect(entries.length).toBe(files);
    expect(new Set(entries.map((e) => e.path)).size).toBe(files);
  });

  test("albums have 8–14 tracks per disc, some have 2–3 discs", () => {
    const tagged = entries.filter((e) => e.tracktotal !== null && !e.duplicateOf);
    expect(Math.min(...tagged.map((e) => e.tracktotal!))).toBe(8);
    expect(Math.max(...tagged.map((e) => e.tracktotal!))).toBe(14);
    const discTotals = new Set(tagged.map((e) => e.disctotal));
    expect([...discTotals].sort()).toEqual([1, 2, 3]);
    expect(share((e) => (e.disctotal ?? 1) > 1)).toBeGreaterThan(0.1);
  });

  test("~5% of albums are Various Artists compilations with per-track artists", () => {
    const albums = new Map<string, ManifestEntry>();
    for (const e of entries) if (e.album) albums.set(e.path.slice(0, e.path.lastIndexOf("/")), e);
    const compilations = [...albums.values()].filter((e) => e.compilation);
    expect(compilations.length / albums.size).toBeGreaterThan(0.03);
    expect(compilations.length / albums.size).toBeLessThan(0.08);
    expect(compilations.every((e) => e.albumartist === "Various Artists" || e.albumartist === null)).toBe(true);
    expect(compilations.some((e) => e.artists.length > 0 && e.artists[0] !== "Various Artists")).toBe(true);
  });

  test("~3% of files miss tags: no tags at all, no album, no artist", () => {
    const untagged = share((e) => e.title === null && e.artists.length === 0 && e.album === null && e.track === null);
    const noAlbum = share((e) => e.title !== null && e.album === null);
    const noArtist = share((e) => e.title !== null && e.artists.length === 0 && e.albumartist === null);
    for (const s of [untagged, noAlbum, noArtist]) {
      expect(s).toBeGreaterThan(0.005);
      expect(s).toBeLessThan(0.02);
    }
  });

  test("~1% are duplicates carrying the same tags as another file", () => {
    const byPath = new Map(entries.map((e) => [e.path, e]));
    const duplicates = entries.filter((e) => e.duplicateOf);
    expect(duplicates.length / files).toBeGreaterThan(0.005);
    expect(duplicates.length / files).toBeLessThan(0.02);
    for (const d of duplicates) {
      const original = byPath.get(d.duplicateOf!)!;
      expect({ ...manifestFields(d), durationSeconds: 0 }).toEqual({ ...manifestFields(original), durationSeconds: 0 });
      expect(d.path).not.toBe(original.path);
    }
  });

  test("names use many scripts and awkward characters", () => {
    const names = entries.flatMap((e) => [e.title ?? "", e.album ?? "", ...e.artists]);
    for (const needle of ["é", "ø", "ß", "東京", "Любовь", "?", ":", "🎵"]) expect(names.some((n) => n.includes(needle))).toBe(true);
    expect(entries.some((e) => e.artists.some((a) => a.includes("/")))).toBe(true); // AC/DC-like
    // "/" never reaches a path component.
    expect(entries.every((e) => e.path.split("/").length === 4)).toBe(true);
  });

  test("no directory holds more than ~1k entries", () => {
    const children = new Map<string, Set<string>>();
    for (const e of entries) {
      const parts = e.path.split("/");
      for (let depth = 0; depth < parts.length; depth++) {
        const parent = parts.slice(0, depth).join("/");
        if (!children.has(parent)) children.set(parent, new Set());
        children.get(parent)!.add(parts[depth]);
      }
    }
    const largest = Math.max(...[...children.values()].map((s) => s.size));
    expect(largest).toBeLessThanOrEqual(ALBUMS_PER_BUCKET + 1);
  });

  test("MP3s are a mix of ID3v2.3 and v2.4; slash names only ever in v2.4", () => {
    const mp3 = entries.filter((e) => e.kind !== "flac");
    expect(mp3.some((e) => e.kind === "mp3-id3v2.3")).toBe(true);
    expect(mp3.some((e) => e.kind === "mp3-id3v2.4")).toBe(true);
    const v23 = mp3.filter((e) => e.kind === "mp3-id3v2.3");
    expect(v23.every((e) => ![...e.artists, e.albumartist ?? "", e.composer ?? ""].some((n) => n.includes("/")))).toBe(true);
  });
});

describe("a generated tiny library", () => {
  const files = 300;
  let dir = "";
  let result: GenerateResult;
  let manifest: ManifestEntry[] = [];
  const progress: number[] = [];

  beforeAll(async () => {
    dir = join(root, "tiny");
    result = await generateLibrary({ dir, files, seed: 20240601, tiny: true, onProgress: (written) => progress.push(written) });
    manifest = await readManifest(dir);
  }, SLOW_TEST_MS);

  test("writes one manifest line per file, and exactly those files", async () => {
    expect(result.files).toBe(files);
    expect(manifest.length).toBe(files);
    expect(await listFiles(dir)).toEqual(manifest.map((e) => e.path).sort());
    expect(progress.at(-1)).toBe(files);
  }, SLOW_TEST_MS);

  test("tiny files fit in one 4 KiB block", async () => {
    const sizes = await Promise.all(manifest.map(async (e) => (await stat(join(dir, e.path))).size));
    expect(Math.max(...sizes)).toBeLessThanOrEqual(4096);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(result.bytes);
  }, SLOW_TEST_MS);

  test("music-metadata reads back every manifest field of every file", async () => {
    for (const entry of manifest) {
      const read = await readWithMusicMetadata(join(dir, entry.path));
      expect({ path: entry.path, ...read, durationSeconds: Math.round(read.durationSeconds! * 1e6) }).toEqual({
        path: entry.path,
        ...manifestFields(entry),
        durationSeconds: Math.round(entry.durationSeconds * 1e6),
      });
    }
  }, SLOW_TEST_MS);

  test.skipIf(!hasFlacTool)("flac -t accepts every FLAC file", async () => {
    const flacs = manifest.filter((e) => e.kind === "flac").map((e) => join(dir, e.path));
    expect(flacs.length).toBeGreaterThan(50);
    const check = await run(["flac", "-t", "-s", "-w", ...flacs]);
    expect(check.stderr).toBe("");
    expect(check.exitCode).toBe(0);
  }, SLOW_TEST_MS);

  test.skipIf(!hasFfmpeg)("ffprobe reads a sample of files without errors, with the manifest's tags and duration", async () => {
    const sample = manifest.filter((e, i) => i % 10 === 0 || e.duplicateOf || e.title === null || e.album === null || e.artists.length === 0);
    expect(sample.some((e) => e.kind === "flac") && sample.some((e) => e.kind !== "flac")).toBe(true);
    const probes = await inParallel(sample, (entry) => ffprobe(join(dir, entry.path)));
    for (const [i, entry] of sample.entries()) {
      const probe = probes[i]!;
      expect({ path: entry.path, errors: probe.errors }).toEqual({ path: entry.path, errors: "" });
      const expected = expectedProbeTags(entry);
      expect({ path: entry.path, ...probeTags(probe, Object.keys(expected)) }).toEqual({ path: entry.path, ...expected });
      expect(Math.abs(Number(probe.format.duration) - entry.durationSeconds)).toBeLessThan(0.002);
    }
  }, SLOW_TEST_MS);

  test("the same seed gives byte-identical files; another seed does not", async () => {
    const again = join(root, "tiny-again");
    const other = join(root, "tiny-other");
    await generateLibrary({ dir: again, files, seed: 20240601, tiny: true });
    await generateLibrary({ dir: other, files, seed: 20240602, tiny: true });
    const first = await fingerprint(dir);
    expect(await fingerprint(again)).toEqual(first);
    expect(await Bun.file(join(again, MANIFEST_NAME)).text()).toBe(await Bun.file(join(dir, MANIFEST_NAME)).text());
    expect(await fingerprint(other)).not.toEqual(first);
  }, SLOW_TEST_MS);
});

describe("format choice and normal (audible) mode", () => {
  test("regenerating into the same folder with fewer files rewrites the manifest", async () => {
    const dir = join(root, "shrink");
    await generateLibrary({ dir, files: 60, seed: 8, tiny: true });
    await generateLibrary({ dir, files: 20, seed: 8, tiny: true });
    expect((await readManifest(dir)).length).toBe(20);
  }, SLOW_TEST_MS);

  test("worker threads write the same library as the calling thread", async () => {
    const inline = join(root, "inline");
    const parallel = join(root, "parallel");
    await generateLibrary({ dir: inline, files: 500, seed: 11, tiny: true });
    const progress: number[] = [];
    const result = await generateLibrary({ dir: parallel, files: 500, seed: 11, tiny: true, workers: 2, onProgress: (n) => progress.push(n) });
    expect(result.files).toBe(500);
    expect(progress.at(-1)).toBe(500);
    expect(await fingerprint(parallel)).toEqual(await fingerprint(inline));
    expect(await Bun.file(join(parallel, MANIFEST_NAME)).text()).toBe(await Bun.file(join(inline, MANIFEST_NAME)).text());
  }, SLOW_TEST_MS);

  test("formats: ['mp3'] writes only MP3s", async () => {
    const dir = join(root, "mp3-only");
    await generateLibrary({ dir, files: 40, seed: 3, formats: ["mp3"], tiny: true });
    const manifest = await readManifest(dir);
    expect(manifest.every((e) => e.path.endsWith(".mp3") && e.kind.startsWith("mp3-"))).toBe(true);
  }, SLOW_TEST_MS);

  test.skipIf(!hasFfmpeg)("normal mode FLAC files carry audible melodies", async () => {
    const dir = join(root, "normal");
    const result = await generateLibrary({ dir, files: 12, seed: 5, formats: ["flac"] });
    const manifest = await readManifest(dir);
    expect(result.bytes / result.files).toBeGreaterThan(30_000);
    for (const entry of manifest.slice(0, 3)) {
      const { samples, errors } = await decodeToPcm(join(dir, entry.path));
      expect(errors).toBe("");
      expect(samples.length / 2 / 44100).toBeCloseTo(entry.durationSeconds, 3);
      expect(rms(samples)).toBeGreaterThan(1000);
    }
    if (hasFlacTool) expect((await flacTest(join(dir, manifest[0].path))).exitCode).toBe(0);
  }, SLOW_TEST_MS);

  test("rejects nonsense options", async () => {
    await expect(generateLibrary({ dir: join(root, "x"), files: 1.5, seed: 1 })).rejects.toThrow();
    await expect(generateLibrary({ dir: join(root, "x"), files: 1, seed: 1, formats: [] })).rejects.toThrow();
  }, SLOW_TEST_MS);
});
