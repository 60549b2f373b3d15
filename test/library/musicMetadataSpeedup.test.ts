import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseBuffer } from "music-metadata";
import { cachedTagMapCount, installMusicMetadataSpeedup } from "../../src/library/musicMetadataSpeedup.ts";
import { GENERATED, HAVE_CORPUS } from "./corpus.ts";

test.skipIf(!HAVE_CORPUS)("the tag-map cache is in effect and changes nothing", async () => {
  const files = ["mp3-id3v24-ffmpeg.mp3", "mp3-id3v23-eyed3.mp3", "m4a-aac-ffmpeg.m4a", "ape-apev2.ape", "wavpack-apev2.wv"];
  expect(installMusicMetadataSpeedup()).toBe(true);
  const before = cachedTagMapCount();
  for (let round = 0; round < 3; round++) {
    for (const name of files) {
      const m = await parseBuffer(readFileSync(join(GENERATED, name)), { path: name });
      // Mapped through the cached upper-case maps, case-insensitively, as before.
      expect(m.common.title).toBe("Title é ✓ 東京");
      expect(m.common.album).toBe("Album Ä");
    }
  }
  // However many files are parsed, each of the five maps is upper-cased at most once.
  expect(cachedTagMapCount()).toBeLessThanOrEqual(5);
  expect(cachedTagMapCount()).toBeGreaterThanOrEqual(Math.min(before, 5));
  expect(cachedTagMapCount()).toBeGreaterThan(0);
});
