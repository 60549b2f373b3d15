import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseBuffer } from "music-metadata";
import { buildId3v2Tag, syncsafe } from "../../src/sample/id3v2.ts";
import { mp3DurationSeconds, mp3FrameCount, SAMPLES_PER_FRAME, writeMp3, type Mp3AudioSpec } from "../../src/sample/mp3Writer.ts";
import { granulesPerNote, lineFrequency, melodyGranules, SAMPLES_PER_GRANULE } from "../../src/sample/mp3Melody.ts";
import type { TrackTags } from "../../src/sample/tags.ts";
import { gradientPng, tinyJpeg } from "../../src/sample/tinyImages.ts";
import { decodeToPcm, ffprobe, hasFfmpeg, rms, tag, SLOW_TEST_MS } from "./tools.ts";

const fullTags: TrackTags = {
  title: "Nocturne für Ølja 東京 🎵",
  artists: ["Ásgeir Frost", "Mørk Brødre"],
  album: "Straße: Who? Vol. 1",
  albumArtist: "Various Artists",
  track: 3,
  trackTotal: 12,
  disc: 1,
  discTotal: 2,
  year: 2001,
  genre: "Ambient",
  composer: "Léa Composer",
  compilation: true,
  cover: tinyJpeg(),
};

let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "musicfs-mp3-"));
}, SLOW_TEST_MS);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("ID3v2 header", () => {
  test("syncsafe sizes never set a byte's top bit", () => {
    expect(Array.from(syncsafe(0x0fffffff))).toEqual([0x7f, 0x7f, 0x7f, 0x7f]);
    expect(Array.from(syncsafe(200))).toEqual([0, 0, 1, 72]);
  });

  test("no tags means no tag at all", () => {
    expect(buildId3v2Tag({}).length).toBe(0);
  });

  test("size field covers frames and padding", () => {
    const bytes = buildId3v2Tag({ title: "x" }, { version: 4, paddingBytes: 100 });
    expect(new TextDecoder().decode(bytes.subarray(0, 3))).toBe("ID3");
    expect(bytes[3]).toBe(4);
    const size = (bytes[6] << 21) | (bytes[7] << 14) | (bytes[8] << 7) | bytes[9];
    expect(size).toBe(bytes.length - 10);
  });
});

describe("MPEG stream", () => {
  test("duration is whole frames of 1152 samples", () => {
    expect(mp3FrameCount({ seconds: 1 })).toBe(Math.ceil(44100 / 1152));
    expect(mp3DurationSeconds({ seconds: 1, sampleRate: 48000 })).toBe((42 * SAMPLES_PER_FRAME) / 48000);
  });

  test("44.1 kHz frames are padded to average 144*bitrate/rate bytes", () => {
    const stream = writeMp3({}, { seconds: 10, bitrateKbps: 128 });
    const frames = mp3FrameCount({ seconds: 10 }) + 1;
    expect(stream.length).toBe(Math.floor((frames * 144000 * 128) / 44100));
  });
});

describe.skipIf(!hasFfmpeg)("ffprobe and ffmpeg accept the files", () => {
  const cases: { name: string; audio: Mp3AudioSpec; version: 3 | 4; tags: TrackTags }[] = [
    { name: "v24-stereo-128", audio: { seconds: 2 }, version: 4, tags: fullTags },
    { name: "v23-mono-32", audio: { seconds: 0.3, bitrateKbps: 32, channels: 1 }, version: 3, tags: { ...fullTags, cover: gradientPng(0xaa2200) } },
    { name: "v24-48k-320", audio: { seconds: 1.1, sampleRate: 48000, bitrateKbps: 320 }, version: 4, tags: { title: "Only a title" } },
    { name: "32k-untagged", audio: { seconds: 0.5, sampleRate: 32000, bitrateKbps: 64 }, version: 4, tags: {} },
  ];

  for (const c of cases) {
    test(c.name, async () => {
      const path = join(dir, `${c.name}.mp3`);
      await Bun.write(path, writeMp3(c.tags, c.audio, { version: c.version, paddingBytes: 64 }));
      const probe = await ffprobe(path);
      expect(probe.errors).toBe("");
      const audioStream = probe.streams.find((s) => s.codec_type === "audio")!;
      expect(audioStream.codec_name).toBe("mp3");
      expect(Number(audioStream.sample_rate)).toBe(c.audio.sampleRate ?? 44100);
      expect(audioStream.channels).toBe(c.audio.channels ?? 2);
      const expectedSeconds = mp3DurationSeconds(c.audio);
      expect(Math.abs(Number(probe.format.duration) - expectedSeconds)).toBeLessThan(0.001);
      expect(expectedSeconds - c.audio.seconds).toBeLessThan(SAMPLES_PER_FRAME / (c.audio.sampleRate ?? 44100));

      const decoded = await decodeToPcm(path);
      expect(decoded.errors).toBe("");
      // The Info frame is not audio: exactly the counted frames come out, all silent.
      expect(decoded.samples.length).toBe(mp3FrameCount(c.audio) * SAMPLES_PER_FRAME * (c.audio.channels ?? 2));
      expect(decoded.samples.every((s) => s === 0)).toBe(true);

      expect(tag(probe, "title")).toBe(c.tags.title);
      expect(tag(probe, "album")).toBe(c.tags.album);
      expect(tag(probe, "album_artist")).toBe(c.tags.albumArtist);
      if (c.tags === fullTags) {
        expect(tag(probe, "artist")).toBe("Ásgeir Frost"); // ffmpeg shows the first of v2.4's NUL-separated values
        expect(tag(probe, "track")).toBe("3/12");
        expect(tag(probe, "disc")).toBe("1/2");
        expect(tag(probe, "date")).toBe("2001");
        expect(tag(probe, "genre")).toBe("Ambient");
        expect(tag(probe, "composer")).toBe("Léa Composer");
        expect(tag(probe, "compilation")).toBe("1");
        expect(probe.streams.find((s) => s.codec_type === "video")?.codec_name).toBe("mjpeg");
      }
      if (Object.keys(c.tags).length === 0) expect(probe.format.tags).toBeUndefined();
    }, SLOW_TEST_MS);
  }
});

describe("music-metadata reads what we wrote", () => {
  for (const version of [3, 4] as const) {
    test(`ID3v2.${version}: all tags, several artists, cover, exact duration`, async () => {
      const audio = { seconds: 1.5 };
      const bytes = writeMp3(fullTags, audio, { version });
      const { common, format, quality } = await parseBuffer(bytes, { mimeType: "audio/mpeg" });
      expect(quality.warnings).toEqual([]);
      expect(common.title).toBe(fullTags.title);
      expect(common.artists).toEqual(fullTags.artists);
      expect(common.album).toBe(fullTags.album);
      expect(common.albumartist).toBe("Various Artists");
      expect(common.track).toEqual({ no: 3, of: 12 });
      expect(common.disk).toEqual({ no: 1, of: 2 });
      expect(common.year).toBe(2001);
      expect(common.genre).toEqual(["Ambient"]);
      expect(common.composer).toEqual(["Léa Composer"]);
      expect(common.compilation).toBe(true);
      expect(common.picture?.[0].format).toBe("image/jpeg");
      expect(Array.from(common.picture![0].data)).toEqual(Array.from(fullTags.cover!.data));
      expect(format.tagTypes).toContain(`ID3v2.${version}`);
      expect(format.codec).toBe("MPEG 1 Layer 3");
      expect(format.duration).toBeCloseTo(mp3DurationSeconds(audio), 6);
    }, SLOW_TEST_MS);
  }

  test("ID3v2.4 keeps a slash inside one artist's name", async () => {
    const { common } = await parseBuffer(writeMp3({ artists: ["AC/DC-ish", "Other"] }, { seconds: 0.1 }), { mimeType: "audio/mpeg" });
    expect(common.artists).toEqual(["AC/DC-ish", "Other"]);
  }, SLOW_TEST_MS);
});

/** Share of a signal's energy at one frequency (Goertzel-style single DFT bin, Hann-windowed): 1 for a pure tone. */
function toneShare(samples: Float64Array, hz: number, sampleRate: number): number {
  let re = 0;
  let im = 0;
  let energy = 0;
  const n = samples.length;
  for (let i = 0; i < n; i++) {
    const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n);
    const x = samples[i] * w;
    re += x * Math.cos((2 * Math.PI * hz * i) / sampleRate);
    im -= x * Math.sin((2 * Math.PI * hz * i) / sampleRate);
    energy += x * x;
  }
  // A Hann-windowed sine of amplitude A: |X|^2 = (A·Σw/2)^2 and Σ(x·w)^2 = A^2·Σw^2/2, with Σw = n/2 and
  // Σw^2 = 3n/8, so |X|^2 / energy = n/3 for a pure tone.
  return (re * re + im * im) / ((energy * n) / 3);
}

describe.skipIf(!hasFfmpeg)("MP3 melodies", () => {
  test("decode without errors to audible tones at the planned pitches", async () => {
    const seed = 5;
    const path = join(dir, "melody.mp3");
    const audio: Mp3AudioSpec = { seconds: 3, melodySeed: seed };
    await Bun.write(path, writeMp3({ title: "Tune" }, audio));
    const probe = await ffprobe(path);
    expect(probe.errors).toBe("");
    expect(Math.abs(Number(probe.format.duration) - mp3DurationSeconds(audio))).toBeLessThan(0.001);
    const { samples, errors } = await decodeToPcm(path);
    expect(errors).toBe("");
    expect(rms(samples)).toBeGreaterThan(1000);

    // Look at the middle of each of the first notes (left channel): most energy sits at the note's pitch.
    const granules = melodyGranules(seed, mp3FrameCount(audio) * 2, 44100);
    const perNote = granulesPerNote(seed, 44100);
    const pitches = new Set<number>();
    for (let note = 0; note < 3; note++) {
      const first = note * perNote;
      const window = new Float64Array(4 * SAMPLES_PER_GRANULE);
      const start = (first + 2) * SAMPLES_PER_GRANULE;
      for (let i = 0; i < window.length; i++) window[i] = samples[2 * (start + i)];
      const hz = lineFrequency(granules[first].line, 44100);
      pitches.add(hz);
      expect(toneShare(window, hz, 44100)).toBeGreaterThan(0.6); // ~0.8 measured; a pure sine gives 1
      expect(toneShare(window, hz * 1.5, 44100)).toBeLessThan(0.1); // and not a fifth above: it is that pitch
    }
  }, SLOW_TEST_MS);

  test("different seeds, different tunes; silence without a seed", () => {
    const a = melodyGranules(1, 200, 44100).map((g) => g.line);
    const b = melodyGranules(2, 200, 44100).map((g) => g.line);
    expect(a).not.toEqual(b);
    expect(new Set(a).size).toBeGreaterThan(2);
    const silent = writeMp3({}, { seconds: 0.5 });
    const tune = writeMp3({}, { seconds: 0.5, melodySeed: 1 });
    expect(silent.length).toBe(tune.length);
    expect(silent).not.toEqual(tune);
  });
});
