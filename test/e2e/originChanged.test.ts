/**
 * Issue 9 item 5: origin files changed behind a mount without --watch. The tree still claimed the old size: `cat` of
 * a truncated file returned fewer bytes than `stat` said with exit 0, `cp` made a short copy silently, and a longer
 * replacement returned more bytes than `stat` said (passthrough). Now an OPEN that finds the origin file's size or
 * mtime changed refreshes the file (row, tags, the kernel's attributes) first: readers get the new file whole, with
 * the new size, or an error — never a silently short or long read.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, truncateSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildFlacFile, encodeFlacAudio } from "../../src/sample/flacWriter.ts";
import type { TrackTags } from "../../src/sample/tags.ts";
import { renderMelody } from "../../src/sample/tone.ts";
import { runBytes } from "../support/process.ts";
import { isRoot } from "../support/system.ts";
import { cleanupAll, run, startMount, tempDir } from "./harness.ts";

afterEach(cleanupAll);
afterAll(cleanupAll);

const audio = encodeFlacAudio(renderMelody({ seed: 5, seconds: 2, sampleRate: 22050, channelCount: 1 }));
const album = { artists: ["Drift"], album: "Behind", year: 2021 };

/** What a user sees of a file on the mount: `cat`'s bytes and exit code, then its size by `stat`. */
async function look(file: string) {
  const cat = await runBytes(["cat", file]);
  const stat = await run(["stat", "-c", "%s", file]);
  return { statSize: Number(stat.stdout.trim()), cat };
}

/** Either the origin's current bytes, whole, with `stat` agreeing — or a failure. Never a quiet partial read. */
function expectWholeOrError(seen: Awaited<ReturnType<typeof look>>, origin: Uint8Array): void {
  if (seen.cat.code !== 0) return; // an error the reader notices is acceptable
  expect(seen.cat.stdout.length).toBe(origin.length);
  expect(Buffer.from(seen.cat.stdout).equals(Buffer.from(origin))).toBe(true);
  expect(seen.statSize).toBe(origin.length);
}

for (const passthrough of [true, false]) {
  describe(passthrough ? "passthrough (root)" : "normal reads", () => {
    test.skipIf(passthrough && !isRoot)("a truncated, then longer origin file reads whole with its new size, without --watch", async () => {
      const origin = tempDir();
      const trackPath = join(origin, "1.flac");
      writeFileSync(trackPath, buildFlacFile({ ...album, title: "One", track: 1 }, audio));
      const mnt = join(tempDir(), "mnt");
      const server = await startMount(mnt, ["--origin", origin, "--cache-dir", tempDir()], {
        env: passthrough ? {} : { MUSICFS_NO_PASSTHROUGH: "1" },
      });
      await server.waitFor(/Delta sync complete/);
      const file = join(mnt, "Drift", "Behind (2021) [FLAC]", "01 - One.flac");
      const before = await look(file); // the kernel now caches the old size
      expect(before.statSize).toBe(readFileSync(trackPath).length);

      // Truncated (a copy cut short, a sync tool mid-write): cat and cp.
      truncateSync(trackPath, 10_000);
      const truncated = readFileSync(trackPath);
      const afterTruncate = await look(file);
      expectWholeOrError(afterTruncate, truncated);
      expect(afterTruncate.cat.code).toBe(0); // musicfs refreshes the file: the reader gets it
      const copy = join(tempDir(), "copy.flac");
      const cp = await run(["cp", file, copy]);
      if (cp.code === 0) expect(readFileSync(copy).equals(truncated)).toBe(true);

      // Replaced by a longer file (same tags, more bytes), with an mtime a second later.
      const longer = Buffer.concat([readFileSync(trackPath), new Uint8Array(70_000).fill(7)]);
      writeFileSync(trackPath, longer);
      const later = new Date(Date.now() + 1000);
      utimesSync(trackPath, later, later);
      const afterGrow = await look(file);
      expectWholeOrError(afterGrow, longer);
      expect(afterGrow.cat.code).toBe(0);
      expect(server.output()).toMatch(/1\.flac changed on its origin since the last sync \(10000 → 80000 bytes\)/);
    }, 90_000);
  });
}

test("a file retagged behind the mount: the open gets the new file whole, and the listing shows its new name", async () => {
  const origin = tempDir();
  const trackPath = join(origin, "1.flac");
  const tags: TrackTags = { ...album, title: "One", track: 1 };
  writeFileSync(trackPath, buildFlacFile(tags, audio));
  const mnt = join(tempDir(), "mnt");
  const server = await startMount(mnt, ["--origin", origin, "--cache-dir", tempDir()]);
  await server.waitFor(/Delta sync complete/);
  const albumDir = join(mnt, "Drift", "Behind (2021) [FLAC]");
  expect(readdirSync(albumDir)).toEqual(["01 - One.flac"]); // listed and cached by the kernel
  expect((await look(join(albumDir, "01 - One.flac"))).cat.code).toBe(0);

  const retagged = buildFlacFile({ ...tags, title: "Uno" }, audio, { paddingBytes: 3000 }); // another size too
  writeFileSync(trackPath, retagged);
  // The open (of the name the kernel still knows) gets the new file whole or fails; the name itself is gone after.
  const old = await look(join(albumDir, "01 - One.flac"));
  if (old.cat.code === 0) expect(Buffer.from(old.cat.stdout).equals(retagged)).toBe(true);
  expect(readdirSync(albumDir)).toEqual(["01 - Uno.flac"]);
  const renamed = await look(join(albumDir, "01 - Uno.flac"));
  expectWholeOrError(renamed, retagged);
  expect(renamed.cat.code).toBe(0);
}, 90_000);
