/**
 * A file that leaves the library and a new one that comes later must never share cached content. Data files are
 * named by file id and version (size, mtime): if the new file got the id of the removed one (SQLite hands out
 * max(rowid) + 1, so the id of a deleted last row comes back) with the same size and mtime, the old file's data file
 * would be served for it. Real mounts and real `musicfs scan` runs (offline, where no content cache is open).
 */
import { afterAll, afterEach, expect, test } from "bun:test";
import { Database as Sqlite } from "bun:sqlite";
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dataFilePath } from "../../src/cas/dataFilePaths.ts";
import { asContentId } from "../../src/core/ids.ts";
import { CLI, CORPUS, cleanupAll, run, startMount, tempDir } from "./harness.ts";
import { corpusDescribe } from "../support/needsCorpus.ts";
import { eventually } from "../support/eventually.ts";

afterEach(cleanupAll);
afterAll(cleanupAll);

const sha = (b: Uint8Array) => new Bun.CryptoHasher("sha256").update(b).digest("hex");
const SUBSET = join(CORPUS, "flac-test-files", "subset");
const MTIME = new Date(1_700_000_000_000); // whole seconds: the copy below gets exactly the same mtime

function row(cache: string, realPath: string): { id: number; virtual: string; manifest: boolean } | undefined {
  const db = new Sqlite(join(cache, "metadata.db"), { readonly: true });
  try {
    const r = db.query("SELECT id, virtual_path, chunk_manifest IS NOT NULL FROM files WHERE real_path = ?").values(realPath)[0];
    return r ? { id: Number(r[0]), virtual: String(r[1]), manifest: r[2] === 1 } : undefined;
  } finally {
    db.close();
  }
}

async function scan(cfg: string, cache: string): Promise<void> {
  const r = await run(["bun", CLI, "scan", "--config", cfg, "--cache-dir", cache]);
  if (r.code !== 0) throw new Error(`musicfs scan failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
}

/**
 * Back to schema 9, as a musicfs before this fix left the cache dir: no record of deleted ids or of the content to
 * forget (the removal just made is lost with it, as an older scan lost it).
 */
function toSchema9(cache: string): void {
  const db = new Sqlite(join(cache, "metadata.db"));
  db.exec("DROP TRIGGER files_deleted; DROP TRIGGER folder_images_deleted; DROP TABLE id_high_water; DROP TABLE forgotten_content");
  db.exec("PRAGMA user_version = 9");
  db.close();
}

corpusDescribe("file ids and cached content", () => {
  test.each([
    ["", false],
    [" (the id was handed out twice by a version before the fix: the upgrade drops what it left)", true],
  ])("a new file after a removed one reads its own bytes, even with the same size and mtime%s", async (_, legacy) => {
    const origin = tempDir();
    const cache = tempDir();
    const mnt = join(tempDir(), "mnt");
    const cfg = join(tempDir(), "config.toml");
    writeFileSync(cfg, `[[origins]]\nid = "lib"\npath = "${origin}"\ncache = "full"\n`);
    mkdirSync(join(origin, "keep"));
    copyFileSync(join(SUBSET, "56 - JPG PICTURE.flac"), join(origin, "keep", "one.flac"));
    await scan(cfg, cache);
    // The second file gets the highest id.
    mkdirSync(join(origin, "old"));
    const oldPath = join(origin, "old", "two.flac");
    copyFileSync(join(SUBSET, "57 - PNG PICTURE.flac"), oldPath);
    utimesSync(oldPath, MTIME, MTIME);
    await scan(cfg, cache);
    const old = row(cache, "old/two.flac")!;
    const oldBytes = readFileSync(oldPath);

    // Cached whole through a mount: its data file is written.
    let server = await startMount(mnt, ["--config", cfg, "--cache-dir", cache]);
    expect(sha(readFileSync(join(mnt, old.virtual)))).toBe(sha(oldBytes));
    await eventually(() => row(cache, "old/two.flac")?.manifest, (m) => m === true);
    expect(existsSync(dataFilePath(join(cache, "data"), asContentId(old.id), oldBytes.length, MTIME.getTime()))).toBe(true);
    expect(await server.stop()).toBe(0);

    // Offline, the file leaves the library; later a different file of the same size and mtime comes.
    renameSync(join(origin, "old"), join(tempDir(), "gone"));
    await scan(cfg, cache);
    expect(row(cache, "old/two.flac")).toBeUndefined();
    if (legacy) {
      toSchema9(cache);
      // What a reused id may also have left, recorded for a version its new file has: range blocks (tag reads,
      // seeks) and the prefix of a whole-file fetch. They cannot be told from the file's own (it has no manifest
      // either): here under the id of the file that stays, which has no data file for them to go with.
      const keep = row(cache, "keep/one.flac")!;
      const st = statSync(join(origin, "keep", "one.flac"));
      const access = new Sqlite(join(cache, "chunks", "access.db"));
      access.query("INSERT INTO ranges VALUES (?, 0, 32768, ?, ?, ?, 100)").run(keep.id, st.size, st.mtimeMs, "ab".repeat(32));
      access.query("INSERT INTO fetch_progress VALUES (?, 0, ?, ?, 100, ?, '1')").run(keep.id, st.size, st.mtimeMs, "cd".repeat(32));
      access.close();
    }
    mkdirSync(join(origin, "new"));
    const newPath = join(origin, "new", "three.flac");
    const newBytes = Buffer.from(oldBytes);
    for (let i = newBytes.length - 200_000; i < newBytes.length; i++) newBytes[i] ^= 0x5a; // other audio, same tags
    writeFileSync(newPath, newBytes);
    utimesSync(newPath, MTIME, MTIME);
    await scan(cfg, cache);
    const fresh = row(cache, "new/three.flac")!;
    expect(fresh).toBeDefined();

    server = await startMount(mnt, ["--config", cfg, "--cache-dir", cache]);
    const read = readFileSync(join(mnt, fresh.virtual));
    expect(read.length).toBe(newBytes.length);
    expect(sha(read)).toBe(sha(newBytes)); // not the removed file's bytes
    if (legacy) {
      expect(fresh.id).toBe(old.id); // upgraded after the id was free again: the old rule's max(id) + 1 had it
      expect(server.output()).toMatch(/1 data file of removed files or reused ids, 0 partial data files, the range blocks and fetch progress of 1 file/);
      const access = new Sqlite(join(cache, "chunks", "access.db"), { readonly: true });
      // (The new file's own rows, written while it is read, have other chunk ids.)
      const left = (t: string, chunk: string) => Number(access.query(`SELECT count(*) FROM ${t} WHERE id = ?`).values(chunk)[0]![0]);
      expect({ ranges: left("ranges", "ab".repeat(32)), progress: left("fetch_progress", "cd".repeat(32)) }).toEqual({ ranges: 0, progress: 0 });
      access.close();
    } else {
      // The removed file's data file did not outlive it (the scan recorded the removal; the mount carried it out).
      expect(fresh.id).not.toBe(old.id);
      expect(existsSync(dataFilePath(join(cache, "data"), asContentId(old.id), oldBytes.length, MTIME.getTime()))).toBe(false);
    }
    expect(await server.stop()).toBe(0);
  }, 180_000);
});
