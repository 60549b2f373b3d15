import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseBuffer } from "music-metadata";
import { buildId3v2Tag, syncsafe } from "../../src/sample/id3v2.ts";
import { mp3DurationSeconds, mp3FrameCount, SAMPLES_PER_FRAME, writeMp3, type Mp3AudioSpec } from "../../src/sample/mp3Writer.ts";
import type { TrackTags } from "../../src/sample/tags.ts";
import { gradientPng, tinyJpeg } from "../../src/sample/tinyImages.ts";
import { decodeToPcm, ffprobe, hasFfmpeg, tag, SLOW_TEST_MS } from "./tools.ts";

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
