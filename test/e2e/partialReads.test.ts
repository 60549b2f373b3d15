/**
 * Issue 11 item 6 on real mounts: with cache = "full", reading a file's head or tail (a tag reader, MPD's scan) does
 * not download the file. On a local origin such reads of a file not cached yet are answered from the origin file by
 * the FUSE workers (src/fs/originBackedReads.ts) and copy nothing into the cache (a remote origin's are fetched in
 * range blocks, kept across restarts: test/cas/fetch/rangeBlocks.test.ts). Bytes the cache took from the origin are
 * counted by the mount itself (status.json, written at shutdown).
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Database as Sqlite } from "bun:sqlite";
import { writeFlac } from "../../src/sample/flacWriter.ts";
import { writeMp3 } from "../../src/sample/mp3Writer.ts";
import { silence } from "../../src/sample/tone.ts";
import { pseudoRandomBytes } from "../cas/testData.ts";
import { hasMpd, startMpd } from "../support/mpd.ts";
import { cleanupAll, run, startMount, tempDir } from "./harness.ts";

afterEach(cleanupAll);
afterAll(cleanupAll);

const MB = 1_000_000;

/** A FLAC with real tags (and a cover) followed by incompressible bytes up to `size`: what a tag reader sees of a track. */
function flacOf(i: number, size: number): Uint8Array {
  const cover = { mime: "image/png", data: pseudoRandomBytes(30_000, 1000 + i) };
  const head = writeFlac(
    { title: `Song ${i}`, artists: [`Artist ${i % 3}`], album: `Album ${i % 5}`, track: 1 + i, year: 2001, cover } as never,
    silence(0.01),
  );
  const out = new Uint8Array(size);
  out.set(head);
  out.set(pseudoRandomBytes(size - head.length, i), head.length);
  return out;
}

function config(origin: string): string {
  const path = join(tempDir(), "config.toml");
  writeFileSync(path, `[[origins]]\nid = "lib"\npath = "${origin}"\ncache = "full"\n`);
  return path;
}

function virtualPath(cache: string, real: string): string {
  const db = new Sqlite(join(cache, "metadata.db"), { readonly: true });
  const row = db.query("SELECT virtual_path FROM files WHERE real_path = ?").get(real) as { virtual_path: string } | null;
  db.close();
  if (!row) throw new Error(`${real} is not in the library`);
  return row.virtual_path;
}

/** Bytes the mount fetched from its origin, as it reported at shutdown. */
function originBytes(cache: string): number {
  const status = JSON.parse(readFileSync(join(cache, "status.json"), "utf8"));
  expect(status.state).toBe("stopped");
  return status.cache.originBytes as number;
}

describe("cache = full: reads that are not playback", () => {
  test("head -c 4096 of a 5 MB file copies nothing into the cache, before and after a restart", async () => {
    const origin = tempDir();
    mkdirSync(join(origin, "a"));
    const bytes = flacOf(1, 5 * MB);
    writeFileSync(join(origin, "a", "song.flac"), bytes);
    const cache = tempDir();
    const mnt = join(tempDir(), "mnt");
    const cfg = config(origin);

    let server = await startMount(mnt, ["--config", cfg, "--cache-dir", cache]);
    const file = join(mnt, virtualPath(cache, "a/song.flac"));
    const head = async () => {
      const r = await run(["head", "-c", "4096", file]);
      expect(r.code).toBe(0);
      return r.stdout;
    };
    expect(await head()).toBe(Buffer.from(bytes.subarray(0, 4096)).toString());
    expect(await server.stop()).toBe(0);
    expect(originBytes(cache)).toBe(0);

    server = await startMount(mnt, ["--config", cfg, "--cache-dir", cache]);
    expect(await head()).toBe(Buffer.from(bytes.subarray(0, 4096)).toString());
    expect(await server.stop()).toBe(0);
    expect(originBytes(cache)).toBe(0);
  }, 60_000);

  test.skipIf(!hasMpd)("an MPD scan of the mount fetches at most 10 % of the library's bytes, and finds every song", async () => {
    const origin = tempDir();
    let total = 0;
    // Sizes of a real library: FLAC tracks of ~20 MB, MP3s at 320 kbit/s of ~9 MB (3:50).
    const songs = 8;
    for (let i = 0; i < songs; i++) {
      const dir = join(origin, `Artist ${i % 3}`, `Album ${i % 5}`);
      mkdirSync(dir, { recursive: true });
      const data =
        i % 2 === 0
          ? flacOf(i, 20 * MB + i * 100_000)
          : writeMp3({ title: `Song ${i}`, artists: [`Artist ${i % 3}`], album: `Album ${i % 5}`, track: 1 + i }, { seconds: 230 + i, bitrateKbps: 320 });
      writeFileSync(join(dir, `${i}.${i % 2 === 0 ? "flac" : "mp3"}`), data);
      total += data.length;
    }
    const cache = tempDir();
    const mnt = join(tempDir(), "mnt");
    const server = await startMount(mnt, ["--config", config(origin), "--cache-dir", cache]);
    const mpd = await startMpd({ musicDir: mnt });
    try {
      await mpd.update();
      expect(await mpd.songCount()).toBe(songs);
    } finally {
      await mpd.stop();
    }
    expect(await server.stop()).toBe(0);
    const fetched = originBytes(cache);
    console.log(`MPD scan: ${fetched} of ${total} library bytes fetched (${((100 * fetched) / total).toFixed(1)} %)`);
    expect(fetched).toBeLessThanOrEqual(total / 10);
  }, 120_000);
});
