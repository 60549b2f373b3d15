import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseBuffer } from "music-metadata";
import { codedNumber, encodeFlacAudio } from "../../src/sample/flacFrames.ts";
import { buildFlacFile, writeFlac } from "../../src/sample/flacWriter.ts";
import type { TrackTags } from "../../src/sample/tags.ts";
import { gradientPng, tinyJpeg } from "../../src/sample/tinyImages.ts";
import { renderMelody, silence, type PcmAudio } from "../../src/sample/tone.ts";
import { decodeToPcm, ffprobe, flacTest, hasFfmpeg, hasFlacTool, rms, tag, SLOW_TEST_MS } from "./tools.ts";

const fullTags: TrackTags = {
  title: "Nocturne für Ølja 東京",
  artists: ["Ásgeir Frost", "AC/DC-ish Band"],
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
  cover: gradientPng(0x3366cc),
};

let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "musicfs-flac-"));
}, SLOW_TEST_MS);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function save(name: string, bytes: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await Bun.write(path, bytes);
  return path;
}

function interleave(pcm: PcmAudio): Int16Array {
  const frames = pcm.channels[0].length;
  const out = new Int16Array(frames * pcm.channels.length);
  for (let i = 0; i < frames; i++) for (let c = 0; c < pcm.channels.length; c++) out[i * pcm.channels.length + c] = pcm.channels[c][i];
  return out;
}

describe("codedNumber (RFC 9639 §9.1.5)", () => {
  test("matches UTF-8 for the code points it shares with it", () => {
    for (const n of [0, 0x7f, 0x80, 0x7ff, 0x800, 0xffff, 0x10000, 0x10ffff]) {
      expect(Array.from(codedNumber(n))).toEqual(Array.from(new TextEncoder().encode(String.fromCodePoint(n))));
    }
  });
});

describe("STREAMINFO", () => {
  test("describes the frames it heads", () => {
    const audio = encodeFlacAudio(renderMelody({ seed: 4, seconds: 1 }));
    expect(audio.totalSamples).toBe(44100);
    expect(audio.minBlockSize).toBe(4096);
    expect(audio.maxBlockSize).toBe(4096);
    expect(audio.minFrameSize).toBeGreaterThan(0);
    expect(audio.maxFrameSize).toBeGreaterThanOrEqual(audio.minFrameSize);
    const file = buildFlacFile({}, audio, { paddingBytes: 0 });
    expect(new TextDecoder().decode(file.subarray(0, 4))).toBe("fLaC");
    expect(file[4]).toBe(0x80); // STREAMINFO, and the last block: no tags, no padding
    expect(file.length).toBe(4 + 4 + 34 + audio.frames.length);
  });
});

describe.skipIf(!hasFfmpeg)("FLAC files decode losslessly and carry their tags", () => {
  const cases: { name: string; pcm: PcmAudio; tags: TrackTags; blockSize?: number }[] = [
    { name: "stereo-melody", pcm: renderMelody({ seed: 1, seconds: 2.5 }), tags: fullTags },
    { name: "mono-22k", pcm: renderMelody({ seed: 2, seconds: 1.3, sampleRate: 22050, channelCount: 1 }), tags: { ...fullTags, cover: tinyJpeg() } },
    { name: "silence", pcm: silence(0.25), tags: { title: "Quiet" } },
    // 192-sample blocks give > 128 frames, so frame numbers need multi-byte codes; 48 kHz uses another rate code.
    { name: "many-frames", pcm: renderMelody({ seed: 3, seconds: 0.7, sampleRate: 48000 }), tags: { artists: ["Solo"] }, blockSize: 192 },
    // 1000 samples: a single frame whose odd block size is stored after the frame number (16-bit form).
    { name: "odd-block", pcm: renderMelody({ seed: 5, seconds: 1000 / 44100 }), tags: {} },
  ];

  for (const c of cases) {
    test(c.name, async () => {
      const path = await save(`${c.name}.flac`, buildFlacFile(c.tags, encodeFlacAudio(c.pcm, c.blockSize)));
      const probe = await ffprobe(path);
      expect(probe.errors).toBe("");
      const audioStream = probe.streams.find((s) => s.codec_type === "audio")!;
      expect(audioStream.codec_name).toBe("flac");
      expect(Number(audioStream.sample_rate)).toBe(c.pcm.sampleRate);
      expect(audioStream.channels).toBe(c.pcm.channels.length);
      expect(Number(probe.format.duration)).toBeCloseTo(c.pcm.channels[0].length / c.pcm.sampleRate, 3);

      const decoded = await decodeToPcm(path);
      expect(decoded.errors).toBe("");
      expect(decoded.samples).toEqual(interleave(c.pcm)); // FLAC is lossless: every sample must come back

      if (hasFlacTool) {
        const check = await flacTest(path);
        expect(check.stderr).toBe("");
        expect(check.exitCode).toBe(0);
      }
      expect(tag(probe, "title")).toBe(c.tags.title);
      expect(tag(probe, "album")).toBe(c.tags.album);
    }, SLOW_TEST_MS);
  }

  test("ffprobe reads every tag and the cover", async () => {
    const path = await save("tags.flac", writeFlac(fullTags, renderMelody({ seed: 9, seconds: 0.5 })));
    const probe = await ffprobe(path);
    expect(probe.errors).toBe("");
    expect(tag(probe, "title")).toBe(fullTags.title);
    expect(tag(probe, "artist")).toBe("Ásgeir Frost;AC/DC-ish Band"); // ffmpeg joins repeated fields with ";"
    expect(tag(probe, "album")).toBe(fullTags.album);
    expect(tag(probe, "album_artist")).toBe("Various Artists");
    expect(tag(probe, "track")).toBe("3");
    expect(tag(probe, "tracktotal")).toBe("12");
    expect(tag(probe, "disc")).toBe("1");
    expect(tag(probe, "disctotal")).toBe("2");
    expect(tag(probe, "date")).toBe("2001");
    expect(tag(probe, "genre")).toBe("Ambient");
    expect(tag(probe, "composer")).toBe("Léa Composer");
    expect(tag(probe, "compilation")).toBe("1");
    const cover = probe.streams.find((s) => s.codec_type === "video");
    expect(cover?.codec_name).toBe("png");
    expect(cover?.disposition?.attached_pic).toBe(1);
  }, SLOW_TEST_MS);

  test("the melody is audible", async () => {
    const path = await save("loud.flac", writeFlac({}, renderMelody({ seed: 11, seconds: 1 })));
    expect(rms((await decodeToPcm(path)).samples)).toBeGreaterThan(1000);
  }, SLOW_TEST_MS);
});

describe("music-metadata reads what we wrote", () => {
  test("all tags, several artists, cover, duration", async () => {
    const bytes = writeFlac(fullTags, renderMelody({ seed: 1, seconds: 1.5 }));
    const { common, format } = await parseBuffer(bytes, { mimeType: "audio/flac" });
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
    expect(common.picture?.[0].format).toBe("image/png");
    expect(Array.from(common.picture![0].data)).toEqual(Array.from(fullTags.cover!.data));
    expect(format.duration).toBeCloseTo(1.5, 3);
    expect(format.sampleRate).toBe(44100);
    expect(format.bitsPerSample).toBe(16);
  }, SLOW_TEST_MS);

  test("a file without tags has no Vorbis comment block", async () => {
    const { common } = await parseBuffer(writeFlac({}, silence(0.1)), { mimeType: "audio/flac" });
    expect(common.title).toBeUndefined();
    expect(common.artists).toBeUndefined();
  }, SLOW_TEST_MS);
});
