/**
 * Issue 17 on a local origin with cache = "full" (a NAS folder that keeps playing what was read when it is offline):
 * a file not cached yet is read by the FUSE workers from the origin file itself (src/fs/originBackedReads.ts) and
 * copied into the cache beside the reads when they look like playback. A tag reader's few KiB copy nothing; a file
 * read through copies whole into a complete data file, which plays byte-exact with the origin folder moved away.
 * (Served from then on by passthrough with no READ: cachedPassthrough.test.ts. A file rewritten during its copy:
 * test/cas/fetch/sequentialFetch.test.ts.)
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { Database as Sqlite } from "bun:sqlite";
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeFlac } from "../../src/sample/flacWriter.ts";
import { silence } from "../../src/sample/tone.ts";
import { eventually } from "../support/eventually.ts";
import { runBytes } from "../support/process.ts";
import { cleanupAll, startMount, tempDir } from "./harness.ts";

afterEach(cleanupAll);
afterAll(cleanupAll);

const sha = (b: Uint8Array) => new Bun.CryptoHasher("sha256").update(b).digest("hex");

/** A FLAC of `seconds` of stereo noise (~175 KB a second): past the 4 MiB a player's reads need to be copied whole. */
function noiseFlac(title: string, seconds: number, seed: number): Uint8Array {
  const pcm = silence(seconds, 44100, 2);
  let x = seed;
  for (const ch of pcm.channels) for (let i = 0; i < ch.length; i++) ch[i] = ((x = (x * 1103515245 + 12345) >>> 0) >>> 16) - 32768;
  return writeFlac({ artists: ["Nas"], album: title, year: 2026, title, track: 1 }, pcm);
}

/** The files of the library by origin path: id and path in the mount. */
function files(cache: string): Map<string, { id: number; virtual: string }> {
  const db = new Sqlite(join(cache, "metadata.db"), { readonly: true });
  const rows = db.query("SELECT id, real_path, virtual_path FROM files").all() as { id: number; real_path: string; virtual_path: string }[];
  db.close();
  return new Map(rows.map((r) => [r.real_path, { id: r.id, virtual: r.virtual_path }]));
}

/** Names in the cache's data dir of this file: its complete data file (`<id>-…`) or a partial one (`.<id>-….partial`). */
function dataFilesOf(cache: string, id: number): { complete: string[]; partial: string[] } {
  let names: string[] = [];
  try {
    names = readdirSync(join(cache, "data", (id % 256).toString(16).padStart(2, "0")));
  } catch {
    /* nothing written into that shard yet */
  }
  return { complete: names.filter((n) => n.startsWith(`${id}-`)), partial: names.filter((n) => n.startsWith(`.${id}-`)) };
}

describe("local origin, cache = full", () => {
  test("a tag reader's head read copies nothing; a file read through is cached whole and plays with the origin folder moved away", async () => {
    const origin = tempDir();
    // Two albums: the next track of a played one may be copied ahead (gapless starts), so the scanned one is elsewhere.
    mkdirSync(join(origin, "Played"));
    mkdirSync(join(origin, "Scanned"));
    const played = noiseFlac("Played", 40, 4242);
    const scanned = noiseFlac("Scanned", 40, 777);
    writeFileSync(join(origin, "Played", "a.flac"), played);
    writeFileSync(join(origin, "Scanned", "b.flac"), scanned);
    const cache = tempDir();
    const mnt = join(tempDir(), "mnt");
    const server = await startMount(mnt, ["--origin", origin, "--cache-mode", "full", "--cache-dir", cache]);
    const lib = files(cache);
    const a = lib.get("Played/a.flac")!;
    const b = lib.get("Scanned/b.flac")!;

    // A tag reader: the head of the file, byte-exact, and not one byte of it copied into the cache.
    const head = await runBytes(["head", "-c", "8192", join(mnt, b.virtual)]);
    expect(head.code).toBe(0);
    expect(sha(head.stdout)).toBe(sha(scanned.subarray(0, 8192)));

    // A player reads the other file through: byte-exact, and it becomes a complete data file.
    expect(sha(readFileSync(join(mnt, a.virtual)))).toBe(sha(played));
    await eventually(() => dataFilesOf(cache, a.id).complete.length, (n) => n === 1, 60_000);
    expect(dataFilesOf(cache, b.id)).toEqual({ complete: [], partial: [] });

    // The NAS goes offline (its folder is gone): the cached file plays on, byte-exact.
    renameSync(origin, `${origin}.away`);
    try {
      expect(sha(readFileSync(join(mnt, a.virtual)))).toBe(sha(played));
    } finally {
      renameSync(`${origin}.away`, origin);
    }
    expect(await server.stop()).toBe(0);
    // The copy is counted as bytes the cache took from the origin; the tag reader's read is not among them.
    const status = JSON.parse(readFileSync(join(cache, "status.json"), "utf8"));
    expect(status.cache.originBytes).toBeGreaterThanOrEqual(played.length);
    expect(status.cache.originBytes).toBeLessThan(played.length + 8192);
  }, 120_000);
});
