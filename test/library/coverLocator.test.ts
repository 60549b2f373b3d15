import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { locateEmbeddedPicture, sniffImageType, id3Pictures, type PeekBytes } from "../../src/library/coverLocator.ts";
import { chooseCover, folderImageRank, isFolderImagePath } from "../../src/library/coverChoice.ts";
import { corpusTest, GENERATED, HAVE_CORPUS } from "./corpus.ts";
import { gradientPng, tinyJpeg } from "../../src/sample/tinyImages.ts";
import { writeFlac } from "../../src/sample/flacWriter.ts";
import { writeMp3 } from "../../src/sample/mp3Writer.ts";
import type { TrackTags } from "../../src/sample/tags.ts";
import { asFileId as file, asFolderImageId as image } from "../../src/core/ids.ts";

const PCM = { sampleRate: 8000, bitsPerSample: 16 as const, channels: [new Int32Array(800)] };
const flacWith = (tags: TrackTags) => writeFlac(tags, PCM);
const mp3With = (tags: TrackTags, version: 3 | 4) => writeMp3(tags, { seconds: 0.2 }, { version });

const peekOf = (bytes: Uint8Array): PeekBytes => (o, n) => (o < 0 || o > bytes.length ? null : bytes.subarray(o, Math.min(bytes.length, o + n)));
const pictureBytes = (file: Uint8Array) => {
  const p = locateEmbeddedPicture(peekOf(file), file.length);
  return p ? { ...p, bytes: file.subarray(p.offset, p.offset + p.length) } : null;
};

describe("embedded picture locator on real tagger output (bytes compared with the cover the files were tagged with)", () => {
  const cover = HAVE_CORPUS ? readFileSync(join(GENERATED, "cover.jpg")) : new Uint8Array();
  for (const name of ["flac-vorbiscomment.flac", "mp3-id3v23-eyed3.mp3", "mp3-id3v24-ffmpeg.mp3", "mp3-id3v24-mid3v2.mp3", "m4a-aac-atomicparsley.m4a", "m4a-aac-ffmpeg.m4a", "m4a-alac-ffmpeg.m4a", "wav-id3-kid3.wav", "aiff-id3.aiff", "ape-apev2.ape", "wavpack-apev2.wv"]) {
    corpusTest(`${name}: the located byte range is exactly cover.jpg`, () => {
      const found = pictureBytes(readFileSync(join(GENERATED, name)));
      expect(found?.type).toBe("jpeg");
      expect(Buffer.from(found!.bytes).equals(cover)).toBe(true);
    });
  }
  for (const name of ["ogg-vorbis.ogg", "opus.opus", "mp3-id3v1-only.mp3", "wav-riffinfo-ffmpeg.wav", "wma-asf.wma"]) {
    corpusTest(`${name}: no contiguous picture, none reported`, () => {
      expect(pictureBytes(readFileSync(join(GENERATED, name)))).toBeNull();
    });
  }
});

describe("embedded picture locator on files our writers make", () => {
  test("FLAC PICTURE block with a PNG front cover", () => {
    const png = gradientPng(0x336699);
    const flac = flacWith({ title: "t", cover: png });
    const found = pictureBytes(flac)!;
    expect(found).toMatchObject({ type: "png", front: true, length: png.data.length });
    expect(Buffer.from(found.bytes).equals(Buffer.from(png.data))).toBe(true);
  });

  test("ID3v2.3 and v2.4 APIC frames with a JPEG", () => {
    for (const id3Version of [3, 4] as const) {
      const mp3 = mp3With({ title: "t", cover: tinyJpeg() }, id3Version);
      const found = pictureBytes(mp3)!;
      expect(found.type).toBe("jpeg");
      expect(Buffer.from(found.bytes).equals(Buffer.from(tinyJpeg().data))).toBe(true);
    }
  });

  test("an unsynchronised ID3v2.3 tag is skipped: its bytes in the file are not the picture's", () => {
    const mp3 = new Uint8Array(mp3With({ title: "t", cover: tinyJpeg() }, 3));
    mp3[5] |= 0x80; // unsynchronisation flag
    expect(id3Pictures(peekOf(mp3), 0).pictures).toEqual([]);
  });

  test("a picture whose bytes are not JPEG, PNG or WebP is not a cover", () => {
    const flac = flacWith({ cover: { mime: "image/png", data: new TextEncoder().encode("GIF89a not really"), width: 1, height: 1, depth: 24 } });
    expect(pictureBytes(flac)).toBeNull();
  });

  test("a truncated file yields no picture instead of a wrong range", () => {
    const flac = flacWith({ cover: gradientPng(0x112233, 32) });
    const cut = flac.subarray(0, 200);
    expect(locateEmbeddedPicture(peekOf(cut), cut.length)).toBeNull();
  });
});

describe("image type sniffing (magic bytes, not names)", () => {
  test("JPEG, PNG, WebP; GIF and text are none", () => {
    expect(sniffImageType(tinyJpeg().data)).toBe("jpeg");
    expect(sniffImageType(gradientPng(1).data)).toBe("png");
    expect(sniffImageType(new TextEncoder().encode("RIFF\x10\0\0\0WEBPVP8 "))).toBe("webp");
    expect(sniffImageType(new TextEncoder().encode("GIF89a......"))).toBeNull();
    expect(sniffImageType(new TextEncoder().encode("hello"))).toBeNull();
  });
});

describe("folder image names", () => {
  test("priority: cover before folder before front before albumart; jpg before png; any case", () => {
    const ranks = ["cover.jpg", "Cover.PNG", "folder.jpg", "FRONT.webp", "AlbumArt.jpeg", "albumartsmall.jpg"].map(folderImageRank);
    expect(ranks.every((r) => r !== null)).toBe(true);
    expect([...ranks].sort((a, b) => a! - b!)).toEqual(ranks);
  });

  test("other names and extensions are not folder images", () => {
    for (const name of ["back.jpg", "cover.gif", "cover", ".jpg", "scan-cover.jpg", "cover.jpg.txt"]) expect(folderImageRank(name)).toBeNull();
    expect(isFolderImagePath("Artist/Album/Folder.JPG")).toBe(true);
    expect(isFolderImagePath("Artist/Album/booklet.jpg")).toBe(false);
  });

  test("choice: a folder image beats embedded art; the best name wins; an unsniffable image is passed over", () => {
    const pictures = [{ fileId: file(7), realPath: "A/01.flac", type: "png" as const, front: true }];
    expect(chooseCover([{ id: image(1), realPath: "A/folder.jpg", type: "jpeg" }, { id: image(2), realPath: "A/cover.png", type: "png" }], pictures)).toEqual({ kind: "folder", imageId: image(2), type: "png" });
    expect(chooseCover([{ id: image(2), realPath: "A/cover.jpg", type: null }], pictures)).toEqual({ kind: "embedded", fileId: file(7), type: "png" });
    expect(chooseCover([], [])).toBeNull();
  });

  test("choice among tracks: a front cover before any other picture, then path order", () => {
    const pictures = [
      { fileId: file(1), realPath: "A/01.mp3", type: "jpeg" as const, front: false },
      { fileId: file(3), realPath: "A/03.mp3", type: "jpeg" as const, front: true },
      { fileId: file(2), realPath: "A/02.mp3", type: "png" as const, front: true },
    ];
    expect(chooseCover([], pictures)).toEqual({ kind: "embedded", fileId: file(2), type: "png" });
    expect(chooseCover([], [pictures[0]])).toEqual({ kind: "embedded", fileId: file(1), type: "jpeg" });
  });
});
