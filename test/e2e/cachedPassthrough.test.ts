/**
 * Issue 17 item 1: a file of a cached origin that became complete while the mount runs is served by the kernel from
 * its data file from the next open on (FUSE passthrough: not one READ reaches musicfs), also when a player held it
 * open through the fetch: the kernel keeps an inode in one io mode, so while that open (made before the file was
 * complete) is held, new opens are read by a worker from the data file; once it is released, passthrough again.
 * Byte-exact either way. The READ count is the mount's own (`--metrics`).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { Database as Sqlite } from "bun:sqlite";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeFlac } from "../../src/sample/flacWriter.ts";
import { silence } from "../../src/sample/tone.ts";
import { freePort } from "../support/cephRgw.ts";
import { eventually } from "../support/eventually.ts";
import { holdOpen } from "../support/holder.ts";
import { dropPagesOf } from "../support/pageCache.ts";
import { hasFusePassthrough } from "../support/system.ts";
import { cleanupAll, startMount, tempDir } from "./harness.ts";

afterAll(cleanupAll);

const sha = (b: Uint8Array) => new Bun.CryptoHasher("sha256").update(b).digest("hex");

/** A FLAC of 40 s of stereo noise (~7 MB): past the 4 MiB a sequential reader needs to be fetched whole. */
function noiseFlac(): Uint8Array {
  const pcm = silence(40, 44100, 2);
  let x = 4242;
  for (const ch of pcm.channels) for (let i = 0; i < ch.length; i++) ch[i] = ((x = (x * 1103515245 + 12345) >>> 0) >>> 16) - 32768;
  return writeFlac({ artists: ["Kernel"], album: "Passthrough", year: 2026, title: "Noise", track: 1 }, pcm);
}

describe("a file cached while the mount runs", () => {
  test("is read by the kernel from the next open on, also after a player held it open through the fetch", async () => {
    const origin = tempDir();
    const bytes = noiseFlac();
    writeFileSync(join(origin, "noise.flac"), bytes);
    const cache = tempDir();
    const mnt = join(tempDir(), "mnt");
    const port = freePort();
    await startMount(mnt, ["--origin", origin, "--cache-mode", "full", "--cache-dir", cache, "--metrics", `127.0.0.1:${port}`]);
    const reads = async () => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return Number(/^musicfs_fuse_requests_total\{op="READ"\} (\d+)/m.exec(text)?.[1] ?? 0);
    };
    const db = new Sqlite(join(cache, "metadata.db"), { readonly: true });
    const row = db.query("SELECT id, virtual_path FROM files").get() as { id: number; virtual_path: string };
    db.close();
    const file = join(mnt, row.virtual_path);
    const dataDir = join(cache, "data", (row.id % 256).toString(16).padStart(2, "0"));
    const complete = () => {
      try {
        return readdirSync(dataDir).some((n) => n.startsWith(`${row.id}-`));
      } catch {
        return false; // no data file written yet
      }
    };

    // A player opens the track before anything is cached, and holds it.
    const player = await holdOpen(file);
    try {
      // A first reader reads it whole: fetched, checked, named complete.
      expect(sha(readFileSync(file))).toBe(sha(bytes));
      await eventually(complete, (done) => done, 60_000);
      // Read again while the player's open still holds the inode's first io mode: byte-exact (a worker's pread).
      expect(sha(readFileSync(file))).toBe(sha(bytes));
    } finally {
      await player.stop();
    }

    // Once the player's RELEASE is through, an open is served by passthrough: the whole file without one READ. The
    // file's cached pages are dropped first, the mount's and its data file's (not the machine's: other shards count
    // what the kernel's caches answer): pages kept from the reads above would answer without a READ whoever served
    // them.
    const dataFile = () => join(dataDir, readdirSync(dataDir).find((n) => n.startsWith(`${row.id}-`))!);
    const readsDuringARead = async () => {
      if (hasFusePassthrough) await dropPagesOf(file, dataFile());
      const before = await reads();
      const got = readFileSync(file);
      return { exact: sha(got) === sha(bytes), reads: (await reads()) - before };
    };
    if (hasFusePassthrough) {
      const last = await eventually(readsDuringARead, (r) => !r.exact || r.reads === 0, 30_000);
      expect(last).toEqual({ exact: true, reads: 0 });
    } else {
      expect((await readsDuringARead()).exact).toBe(true);
    }
  }, 120_000);
});
