import { expect } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseBuffer } from "music-metadata";
import { cachedTagMapCount, installMusicMetadataSpeedup } from "../../src/library/musicMetadataSpeedup.ts";
import { run } from "../support/process.ts";
import { corpusTest, GENERATED } from "./corpus.ts";

const FILES = ["mp3-id3v24-ffmpeg.mp3", "mp3-id3v23-eyed3.mp3", "m4a-aac-ffmpeg.m4a", "ape-apev2.ape", "wavpack-apev2.wv"];

/** The `common` tags of each file as plain music-metadata returns them, parsed in a process without the speedup. */
async function commonTagsWithoutSpeedup(): Promise<unknown[]> {
  const script = `
    const { parseBuffer } = await import("music-metadata");
    const { readFileSync } = await import("node:fs");
    const out = [];
    for (const f of JSON.parse(process.argv[1])) out.push((await parseBuffer(readFileSync(f), { path: f })).common);
    console.log(JSON.stringify(out));`;
  const r = await run(["bun", "-e", script, JSON.stringify(FILES.map((f) => join(GENERATED, f)))], { timeoutMs: 60_000 });
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

corpusTest("the tag-map cache upper-cases each map once and returns exactly what music-metadata returns without it", async () => {
  const plain = await commonTagsWithoutSpeedup();
  expect(installMusicMetadataSpeedup()).toBe(true);
  const countsPerRound: number[] = [];
  for (let round = 0; round < 3; round++) {
    const common: unknown[] = [];
    for (const name of FILES) common.push((await parseBuffer(readFileSync(join(GENERATED, name)), { path: name })).common);
    // Same tags, field for field, as the unpatched library in another process (paths differ only in `path`).
    expect(JSON.parse(JSON.stringify(common))).toEqual(plain);
    countsPerRound.push(cachedTagMapCount());
  }
  // The first round fills the cache (the mappers now construct through it); later rounds add nothing.
  expect(countsPerRound[0]).toBeGreaterThan(0);
  expect(countsPerRound[0]).toBeLessThanOrEqual(5);
  expect(countsPerRound[2]).toBe(countsPerRound[0]);
});
