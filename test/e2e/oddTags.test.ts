/**
 * Issue 9, item 13 on a real mount and the real CLI: dates that are not years make no decade, and counts of one say
 * "1 track".
 */
import { afterAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { CLI, cleanupAll, run, startMount, tempDir } from "./harness.ts";

const hasFfmpeg = Bun.which("ffmpeg") !== null;
afterAll(cleanupAll);

/** A short FLAC with a DATE tag written by ffmpeg, as a tagger would. */
async function flacWithDate(dir: string, name: string, date: string, title: string): Promise<void> {
  const r = await run([
    "ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "anullsrc=r=22050:cl=mono", "-t", "0.1",
    "-metadata", `date=${date}`, "-metadata", `title=${title}`, "-metadata", "artist=Odd", "-metadata", "album=Dates",
    join(dir, name),
  ]);
  if (r.code !== 0) throw new Error(`ffmpeg failed: ${r.stderr}`);
}

describe.skipIf(!hasFfmpeg)("odd dates (needs ffmpeg)", () => {
  test("1e3, 99999 and 64276-03-08 give no year: /.collections has no 0s/9990s/6420s decade, and a one-track decade says '1 track'", async () => {
    const origin = tempDir();
    await flacWithDate(origin, "a.flac", "1e3", "Exponent");
    await flacWithDate(origin, "b.flac", "99999", "Five Nines");
    await flacWithDate(origin, "c.flac", "64276-03-08", "Far Future");
    await flacWithDate(origin, "d.flac", "1986-05-02", "Real");
    const cache = tempDir();
    const mnt = join(tempDir(), "mnt");
    const server = await startMount(mnt, ["--origin", origin, "--cache-dir", cache]);
    const collections = readdirSync(join(mnt, ".collections")).sort();
    expect(collections).toEqual(["1980s", "1980s.m3u8", "Recently Added", "Recently Added.m3u8"]); // each with its playlist file
    // The tree shows no invented year either: the undated tracks fall back as templates.md promises.
    expect(readdirSync(join(mnt, "Odd")).some((d) => /9999|6427|\(1\)/.test(d))).toBe(false);
    expect(await server.stop()).toBe(0);

    const list = await run(["bun", CLI, "collection", "list", "--cache-dir", cache]);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain("1980s\tdecade\t1 track\t");
    expect(list.stdout).toContain("Recently Added\trecent\t4 tracks");
  }, 60_000);
});
