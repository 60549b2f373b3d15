import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { extensionOf, isAudioPath } from "../../src/library/audioFormats.ts";
import { ByteSource } from "../../src/library/byteSource.ts";
import { HEAD_BYTES, id3v2TagLength, openFileBytes, plannedHeadLength, type ReadPlan } from "../../src/library/headTailReader.ts";
import { readTags } from "../../src/library/tagReader.ts";
import type { ParsedTags } from "../../src/core/types.ts";
import { CORPUS, corpusDescribe, GENERATED, loadManifest, SYNTHETIC, walkFiles } from "./corpus.ts";

async function viaReader(path: string, plan?: ReadPlan) {
  const ext = extensionOf(path);
  const file = openFileBytes(path, ext, plan);
  try {
    const tags = await readTags(file.source, ext);
    return { tags, stats: { ...file.source.stats } };
  } finally {
    file.close();
  }
}

async function viaWholeFile(path: string): Promise<ParsedTags> {
  return readTags(new Uint8Array(readFileSync(path)), extensionOf(path));
}

/** What a parse sees with only the head and no way to read more: what a naive head-only buffer would give. */
async function viaHeadOnly(path: string, headBytes = HEAD_BYTES): Promise<ParsedTags> {
  const bytes = new Uint8Array(readFileSync(path));
  return readTags(new ByteSource(bytes.length, [{ offset: 0, bytes: bytes.subarray(0, headBytes) }]), extensionOf(path));
}

const u32be = (n: number) => new Uint8Array([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};
const MB = 1024 * 1024;

corpusDescribe("large files: same tags as a whole-file parse, reading little", () => {
  let dir: string;
  const made: Record<string, string> = {};
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "musicfs-headtail-"));
    const save = (name: string, bytes: Uint8Array) => {
      made[name] = join(dir, name);
      writeFileSync(made[name], bytes);
    };
    // MP3 with only an ID3v1 tag, 3 MB of frames before it: the tags are in the last 128 bytes.
    const v1 = new Uint8Array(readFileSync(join(GENERATED, "mp3-id3v1-only.mp3")));
    const frames = v1.subarray(0, v1.length - 128);
    save("id3v1-only.mp3", concat(...Array.from({ length: Math.ceil((3 * MB) / frames.length) }, () => frames), v1.subarray(v1.length - 128)));

    // MP4 with `moov` after a 3 MB `mdat` (as ffmpeg writes without +faststart).
    const m4a = new Uint8Array(readFileSync(join(GENERATED, "m4a-aac-ffmpeg.m4a")));
    const view = new DataView(m4a.buffer, m4a.byteOffset);
    let off = 0;
    const boxes: { type: string; bytes: Uint8Array }[] = [];
    while (off < m4a.length) {
      const size = view.getUint32(off);
      boxes.push({ type: new TextDecoder().decode(m4a.subarray(off + 4, off + 8)), bytes: m4a.subarray(off, off + size) });
      off += size;
    }
    expect(boxes.map((b) => b.type)).toEqual(["ftyp", "free", "mdat", "moov"]);
    const mdat = boxes[2].bytes;
    const bigMdat = concat(u32be(mdat.length + 3 * MB), mdat.subarray(4), new Uint8Array(3 * MB));
    save("moov-at-end.m4a", concat(boxes[0].bytes, boxes[1].bytes, bigMdat, boxes[3].bytes));

    // FLAC with a 2 MB PICTURE block between the Vorbis comment and the padding.
    const flac = new Uint8Array(readFileSync(join(GENERATED, "flac-vorbiscomment.flac")));
    let p = 4;
    let lastBlockStart = 4;
    for (;;) {
      const isLast = (flac[p] & 0x80) !== 0;
      const len = (flac[p + 1] << 16) | (flac[p + 2] << 8) | flac[p + 3];
      if (isLast) {
        lastBlockStart = p;
        break;
      }
      p += 4 + len;
    }
    const mime = new TextEncoder().encode("image/jpeg");
    const pictureData = new Uint8Array(2 * MB).fill(0xab);
    const pictureBody = concat(u32be(3), u32be(mime.length), mime, u32be(0), u32be(500), u32be(500), u32be(24), u32be(0), u32be(pictureData.length), pictureData);
    const pictureHeader = new Uint8Array([6, (pictureBody.length >> 16) & 255, (pictureBody.length >> 8) & 255, pictureBody.length & 255]);
    save("big-picture.flac", concat(flac.subarray(0, lastBlockStart), pictureHeader, pictureBody, flac.subarray(lastBlockStart)));

    // MP3 whose ID3v2 tag is 2 MB (a big cover, here padding): the head must grow to hold it.
    const mp3 = new Uint8Array(readFileSync(join(GENERATED, "mp3-id3v24-ffmpeg.mp3")));
    const tagLength = id3v2TagLength(mp3)!;
    const newBody = tagLength - 10 + 2 * MB;
    const header = mp3.slice(0, 10);
    header.set([(newBody >> 21) & 127, (newBody >> 14) & 127, (newBody >> 7) & 127, newBody & 127], 6);
    save("big-id3v2.mp3", concat(header, mp3.subarray(10, tagLength), new Uint8Array(2 * MB), mp3.subarray(tagLength)));

    // WAV with its ID3 chunk after 3 MB of samples (kid3 appends it there).
    const wav = new Uint8Array(readFileSync(join(GENERATED, "wav-id3-kid3.wav")));
    const wv = new DataView(wav.buffer, wav.byteOffset);
    const dataSize = wv.getUint32(40, true);
    expect(new TextDecoder().decode(wav.subarray(36, 40))).toBe("data");
    const grown = concat(wav.subarray(0, 44 + dataSize), new Uint8Array(3 * MB), wav.subarray(44 + dataSize));
    const gv = new DataView(grown.buffer);
    gv.setUint32(4, grown.length - 8, true);
    gv.setUint32(40, dataSize + 3 * MB, true);
    save("id3-after-data.wav", grown);

    // Monkey's Audio with its APEv2 tag at the end, behind 3 MB.
    const ape = new Uint8Array(readFileSync(join(GENERATED, "ape-apev2.ape")));
    const footer = ape.length - 32;
    expect(new TextDecoder().decode(ape.subarray(footer, footer + 8))).toBe("APETAGEX");
    const apeView = new DataView(ape.buffer, ape.byteOffset);
    const hasHeader = (apeView.getUint32(footer + 20, true) & 0x80000000) !== 0;
    const tagStart = ape.length - apeView.getUint32(footer + 12, true) - (hasHeader ? 32 : 0);
    // Grow the audio: 3 MB more frame data (descriptor field at offset 24), inserted before the tag.
    const grownApe = concat(ape.subarray(0, tagStart), new Uint8Array(3 * MB), ape.subarray(tagStart));
    const grownView = new DataView(grownApe.buffer);
    grownView.setUint32(24, grownView.getUint32(24, true) + 3 * MB, true);
    save("tag-at-end.ape", grownApe);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("ID3v1-only MP3: the tail is read up front; head-only would miss every tag", async () => {
    const { tags, stats } = await viaReader(made["id3v1-only.mp3"]);
    expect(tags).toEqual(await viaWholeFile(made["id3v1-only.mp3"]));
    expect(tags.title).toBe("Title");
    expect(tags.durationMs).toBeGreaterThan(50_000); // CBR duration from the real file size
    expect(stats.fetches).toBe(0);
    expect((await viaHeadOnly(made["id3v1-only.mp3"])).title).toBeNull();
  });

  test("MP4 with moov at the end: read on demand, a few KiB", async () => {
    const { tags, stats } = await viaReader(made["moov-at-end.m4a"]);
    expect(tags).toEqual(await viaWholeFile(made["moov-at-end.m4a"]));
    expect(tags.title).toBe("Title é ✓ 東京");
    expect(stats.fetches).toBeGreaterThan(0);
    expect(stats.fetchedBytes).toBeLessThan(64 * 1024);
    expect((await viaHeadOnly(made["moov-at-end.m4a"])).title).toBeNull();
  });

  test("FLAC with a 2 MB picture: the picture is skipped, not read", async () => {
    const { tags, stats } = await viaReader(made["big-picture.flac"]);
    expect(tags).toEqual(await viaWholeFile(made["big-picture.flac"]));
    expect(tags.title).toBe("Title é ✓ 東京");
    expect(stats.fetchedBytes).toBeLessThan(64 * 1024);
  });

  test("MP3 with a 2 MB ID3v2 tag: the head grows to hold it in one read", async () => {
    const bytes = new Uint8Array(readFileSync(made["big-id3v2.mp3"]));
    expect(plannedHeadLength(bytes.subarray(0, HEAD_BYTES), bytes.length)).toBeGreaterThan(2 * MB);
    const { tags, stats } = await viaReader(made["big-id3v2.mp3"]);
    expect(tags).toEqual(await viaWholeFile(made["big-id3v2.mp3"]));
    expect(tags.title).toBe("Title é ✓ 東京");
    expect(stats.fetches).toBe(0);
  });

  test("WAV with the ID3 chunk after the samples: one small read", async () => {
    const { tags, stats } = await viaReader(made["id3-after-data.wav"]);
    expect(tags).toEqual(await viaWholeFile(made["id3-after-data.wav"]));
    expect(tags.title).toBe("Title é ✓ 東京");
    expect(stats.fetchedBytes).toBeLessThan(64 * 1024);
    expect((await viaHeadOnly(made["id3-after-data.wav"])).title).toBeNull();
  });

  test("APE with the APEv2 tag at the end: in the prefetched tail", async () => {
    const { tags, stats } = await viaReader(made["tag-at-end.ape"]);
    expect(tags).toEqual(await viaWholeFile(made["tag-at-end.ape"]));
    expect(tags.albumArtist).toBe("Various Artists");
    expect(stats.fetches).toBe(0);
  });
});

corpusDescribe("the whole corpus through a tiny head: on-demand reads give whole-file results", () => {
  // A 4 KiB head and 1 KiB tail push nearly every corpus file through the on-demand path.
  const tiny: ReadPlan = { headBytes: 4096, tailBytes: 1024 };

  test("every audio file outside synthetic-2600, and 10 per kind inside it", async () => {
    const perKind = new Map<string, number>();
    const synthetic = loadManifest()
      .filter((r) => {
        const n = perKind.get(r.kind) ?? 0;
        perKind.set(r.kind, n + 1);
        return n < 10;
      })
      .map((r) => join(SYNTHETIC, r.path));
    const files = [...walkFiles(CORPUS).filter((p) => isAudioPath(p) && !p.startsWith(SYNTHETIC)), ...synthetic];
    const differences: string[] = [];
    let fetched = 0;
    for (const path of files) {
      const whole = await viaWholeFile(path);
      const { tags, stats } = await viaReader(path, tiny);
      if (stats.fetches > 0) fetched++;
      if (JSON.stringify(tags) !== JSON.stringify(whole)) {
        differences.push(`${path.slice(CORPUS.length)}: ${JSON.stringify(tags).slice(0, 120)} vs ${JSON.stringify(whole).slice(0, 120)}`);
      }
    }
    expect(fetched).toBeGreaterThan(files.length / 3);
    expect(differences).toEqual([]);
  }, 180_000);
});
