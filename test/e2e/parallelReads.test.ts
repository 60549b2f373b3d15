/**
 * The kernel spreads the requests of one open file over both FUSE workers. Many readers at once must each get
 * their own file's bytes, whichever worker answers — for local origins without passthrough (how normal users
 * read) and for cached origins.
 */
import { afterAll, afterEach, expect } from "bun:test";
import { Database as Sqlite } from "bun:sqlite";
import { cpSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CORPUS, cleanupAll, run, startMount, tempDir } from "./harness.ts";
import { corpusTest } from "../support/needsCorpus.ts";

afterEach(cleanupAll);
afterAll(cleanupAll);

async function parallelCompare(mnt: string, cache: string, origin: string): Promise<void> {
  const db = new Sqlite(join(cache, "metadata.db"), { readonly: true });
  const rows = db.query("SELECT real_path, virtual_path FROM files").values() as [string, string][];
  db.close();
  const list = join(tempDir(), "pairs");
  // Each pair twice, shuffled: 16 cmp processes at a time.
  const pairs = [...rows, ...rows].sort(() => Math.random() - 0.5).map(([r, v]) => `${join(mnt, v)}\n${join(origin, r)}`);
  writeFileSync(list, pairs.join("\n") + "\n");
  const r = await run(["sh", "-c", `xargs -d '\\n' -n 2 -P 16 cmp < "${list}"`], { timeoutMs: 120_000 });
  expect(r.stdout + r.stderr).toBe("");
  expect(r.code).toBe(0);
}

function library(): string {
  const dir = tempDir();
  for (const a of ["Artist 1", "Artist 101", "Artist 102", "Artist 103"]) cpSync(join(CORPUS, "synthetic-2600", a), join(dir, a), { recursive: true });
  cpSync(join(CORPUS, "flac-test-files", "subset"), join(dir, "subset"), { recursive: true });
  return dir;
}

corpusTest("local origin, no passthrough: 16 parallel readers get byte-exact files", async () => {
  const origin = library();
  const cache = tempDir();
  const mnt = join(tempDir(), "mnt");
  await startMount(mnt, ["--origin", origin, "--cache-dir", cache], { env: { MUSICFS_NO_PASSTHROUGH: "1" } });
  await parallelCompare(mnt, cache, origin);
}, 120_000);

corpusTest("cached origin: 16 parallel readers get byte-exact files, cold and then from the cache", async () => {
  const origin = library();
  const cache = tempDir();
  const mnt = join(tempDir(), "mnt");
  const server = await startMount(mnt, ["--origin", origin, "--cache-dir", cache, "--cache-mode", "full"]);
  await parallelCompare(mnt, cache, origin);
  expect(await server.stop()).toBe(0);
  await startMount(mnt, ["--origin", origin, "--cache-dir", cache, "--cache-mode", "full"]);
  await parallelCompare(mnt, cache, origin);
}, 120_000);
