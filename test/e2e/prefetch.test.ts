/**
 * Issue 6: listening patterns are learned from what is played through the mount, survive a restart, and make a
 * cached origin prefetch the likely next track before it is asked for.
 */
import { afterAll, afterEach, expect } from "bun:test";
import { Database as Sqlite } from "bun:sqlite";
import { cpSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CLI, CORPUS, cleanupAll, run, startMount, tempDir } from "./harness.ts";
import { corpusTest } from "../support/needsCorpus.ts";
import { eventually } from "../support/eventually.ts";

afterEach(cleanupAll);
afterAll(cleanupAll);

function manifestOf(cache: string, virtual: string): boolean {
  const db = new Sqlite(join(cache, "metadata.db"), { readonly: true });
  const row = db.query("SELECT chunk_manifest IS NOT NULL FROM files WHERE virtual_path = ?").values(virtual)[0];
  db.close();
  return Number(row?.[0]) === 1;
}

corpusTest("A then B played twice: after a restart with an empty cache, playing A prefetches B", async () => {
  const origin = tempDir();
  cpSync(join(CORPUS, "synthetic-2600", "Artist 1"), join(origin, "Artist 1"), { recursive: true });
  const cache = tempDir();
  const mnt = join(tempDir(), "mnt");
  const args = ["--origin", origin, "--cache-dir", cache, "--cache-mode", "full"];
  const env = { MUSICFS_PLAY_GAP_MS: "150" };
  let server = await startMount(mnt, args, { env });
  const db = new Sqlite(join(cache, "metadata.db"), { readonly: true });
  const [a, b] = (db.query("SELECT virtual_path FROM files ORDER BY virtual_path LIMIT 2").values() as [string][]).map((r) => r[0]);
  db.close();
  for (let i = 0; i < 2; i++) {
    for (const f of [a, b]) {
      readFileSync(join(mnt, f));
      // Not a wait for a result but a lower bound: plays are told apart by silence, so more than the play gap
      // (150 ms) must pass before a file is opened again. Each access is stamped at its OPEN (in the worker), and a
      // transition A → B counts when B's play starts within 30 minutes of A's: a loaded machine only makes the
      // silences longer, which changes neither the plays nor the transitions counted.
      await Bun.sleep(300);
    }
  }
  expect(await server.stop()).toBe(0);
  const cleared = await run(["bun", CLI, "cache", "clear", "--cache-dir", cache]);
  expect(cleared.code).toBe(0);
  expect(manifestOf(cache, b)).toBe(false);

  server = await startMount(mnt, args, { env });
  readFileSync(join(mnt, a)); // play A only
  await eventually(() => manifestOf(cache, b), (cached) => cached);
  expect(manifestOf(cache, b)).toBe(true); // B is in the cache without having been read

  const status = JSON.parse((await run(["bun", CLI, "status", "--json", "--cache-dir", cache])).stdout);
  expect(status.patterns.plays).toBeGreaterThanOrEqual(5);
  expect(status.patterns.transitions).toBeGreaterThanOrEqual(1);
}, 90_000);
