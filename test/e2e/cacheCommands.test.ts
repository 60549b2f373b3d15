/**
 * Issue 9 item 13 (CLI parts): `cache verify` reports a cached file whose data is gone (data file and chunks); cache commands on a
 * cache dir that does not exist say so instead of creating it; `musicfs status` does not call a library "mounted"
 * once its mount was removed while the server was stopped.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { Database as Sqlite } from "bun:sqlite";
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dataFilePath, parseDataFileName, parsePartialName } from "../../src/cas/dataFilePaths.ts";
import { decodeManifest, manifestChunkHexes } from "../../src/cas/manifestCodec.ts";
import { writeSampleLibraryCopy } from "../support/sampleLibraryCopy.ts";
import { scannedSampleLibrary } from "../support/scannedLibrary.ts";
import { CLI, cleanupAll, findFiles, run, startMount, tempDir } from "./harness.ts";
import { eventually } from "../support/eventually.ts";
import { asContentId } from "../../src/core/ids.ts";

const stopped: number[] = [];
afterAll(async () => {
  for (const pid of stopped) {
    try {
      process.kill(pid, "SIGCONT");
    } catch {
      /* already gone */
    }
  }
  await cleanupAll();
});

const sha = (b: Uint8Array) => new Bun.CryptoHasher("sha256").update(b).digest("hex");

function manifests(cache: string): { id: number; real: string; manifest: Uint8Array }[] {
  const db = new Sqlite(join(cache, "metadata.db"), { readonly: true });
  const rows = db.query("SELECT id, real_path, chunk_manifest FROM files WHERE chunk_manifest IS NOT NULL").values() as [number, string, Uint8Array][];
  db.close();
  return rows.map(([id, real, manifest]) => ({ id, real, manifest }));
}

describe("musicfs cache verify", () => {
  test("a data file deleted behind musicfs' back is reported (its chunks missing) and fetched again from the origin", async () => {
    const origin = tempDir();
    await writeSampleLibraryCopy(origin);
    const cache = tempDir();
    const cfg = join(tempDir(), "config.toml");
    writeFileSync(cfg, `[[origins]]\nid = "lib"\npath = "${origin}"\ncache = "full"\n`);
    const mnt = join(tempDir(), "mnt");
    const server = await startMount(mnt, ["--config", cfg, "--cache-dir", cache]);
    expect((await run(["sh", "-c", `find "${mnt}" -type f -name '*.flac' -exec cat {} + > /dev/null`])).code).toBe(0);
    await eventually(() => manifests(cache).length, (n) => n > 0);
    expect(await server.stop()).toBe(0);

    const target = manifests(cache)[0];
    expect(target).toBeDefined();
    const m = decodeManifest(target.manifest);
    // A complete file is one data file (its chunks were deleted once it was written and checked).
    const dataFile = dataFilePath(join(cache, "data"), asContentId(target.id), m.originSize, m.originMtimeMs);
    const good = readFileSync(dataFile);
    rmSync(dataFile);

    const verify = await run(["bun", CLI, "cache", "verify", "--json", "--config", cfg, "--cache-dir", cache]);
    expect(verify.code).toBe(0);
    const report = JSON.parse(verify.stdout);
    expect(report.chunksMissing).toBe(m.chunkCount);
    expect(report.corruptRemoved).toBe(0);
    expect(report.filesDamaged).toBe(1);
    expect(report.filesRepaired).toBe(1);
    expect(sha(readFileSync(dataFile))).toBe(sha(good));

    rmSync(dataFile);
    const text = await run(["bun", CLI, "cache", "verify", "--config", cfg, "--cache-dir", cache]);
    expect(text.stderr).toContain(`${m.chunkCount} chunks named by cached files were missing`);
  }, 120_000);
});

describe("musicfs cache stats", () => {
  /** Complete data files, partial ones and chunk files on disk: what the figures must say. */
  function onDisk(cache: string) {
    const count = { dataFiles: 0, dataFileBytes: 0, partialFiles: 0, partialBytes: 0, storedChunks: 0, chunkBytes: 0 };
    for (const name of readdirSync(join(cache, "data"), { recursive: true }) as string[]) {
      const base = name.split("/").at(-1)!;
      const size = statSync(join(cache, "data", name)).size;
      if (parseDataFileName(base)) (count.dataFiles++, (count.dataFileBytes += size));
      if (parsePartialName(base)) (count.partialFiles++, (count.partialBytes += size));
    }
    if (existsSync(join(cache, "chunks")))
      for (const name of readdirSync(join(cache, "chunks"), { recursive: true }) as string[])
        if (/(^|\/)[0-9a-f]{64}$/.test(name)) (count.storedChunks++, (count.chunkBytes += statSync(join(cache, "chunks", name)).size));
    return count;
  }

  test("says what the cache dir holds in its layout: data files, partial files, chunk files left, pinned files; no dedup figure, offline or in a running mount's status", async () => {
    const origin = tempDir();
    await writeSampleLibraryCopy(origin);
    const cache = tempDir();
    const cfg = join(tempDir(), "config.toml");
    writeFileSync(cfg, `[[origins]]\nid = "lib"\npath = "${origin}"\ncache = "full"\n`);
    const args = ["--config", cfg, "--cache-dir", cache];
    const mnt = join(tempDir(), "mnt");
    const server = await startMount(mnt, args);
    const tracks = (await findFiles(mnt)).filter((f) => f.endsWith(".flac")).sort();
    const pinned = await run(["bun", CLI, "pin", join(mnt, tracks[0]!), "--wait", ...args]);
    expect(pinned.stderr).toContain("Everything pinned is cached");
    readFileSync(join(mnt, tracks[1]!));
    await eventually(() => manifests(cache).length, (n) => n >= 2);
    // The running mount's live figures (`musicfs status`, through its control socket) show no dedup figure either.
    const live = await run(["bun", CLI, "status", "--json", "--cache-dir", cache]);
    const liveCache = JSON.parse(live.stdout).cache;
    expect(typeof liveCache.storedBytes).toBe("number");
    expect(typeof liveCache.hits).toBe("number");
    expect(Object.keys(liveCache).filter((k) => /dedup/i.test(k))).toEqual([]);
    const liveText = await run(["bun", CLI, "status", "--cache-dir", cache]);
    expect(liveText.stdout).toMatch(/^cache +storedBytes \d+/m);
    expect(liveText.stdout).not.toMatch(/dedup/i);
    expect(await server.stop()).toBe(0);

    const json = await run(["bun", CLI, "cache", "stats", "--json", ...args]);
    expect(json.code).toBe(0);
    const s = JSON.parse(json.stdout);
    const disk = onDisk(cache);
    expect(s).toMatchObject(disk);
    expect(disk.dataFiles).toBeGreaterThanOrEqual(2);
    expect(s.storedBytes).toBe(disk.dataFileBytes + disk.partialBytes + disk.chunkBytes);
    expect(s.cachedFiles).toBe(manifests(cache).length);
    const db = new Sqlite(join(cache, "metadata.db"), { readonly: true });
    const size = Number(db.query("SELECT size FROM files WHERE virtual_path = ?").values(tracks[0]!.replace(/^\/+/, ""))[0]![0]);
    db.close();
    expect({ pinnedFiles: s.pinnedFiles, pinnedCachedFiles: s.pinnedCachedFiles, pinnedBytes: s.pinnedBytes }).toEqual({ pinnedFiles: 1, pinnedCachedFiles: 1, pinnedBytes: size });
    expect(s).not.toHaveProperty("dedupRatio");

    const text = await run(["bun", CLI, "cache", "stats", ...args]);
    expect(text.stdout).not.toMatch(/dedup/i);
    expect(text.stdout).toMatch(new RegExp(`^data files +${disk.dataFiles}, `, "m"));
    expect(text.stdout).toMatch(new RegExp(`^partial files +${disk.partialFiles}, `, "m"));
    expect(text.stdout).toMatch(new RegExp(`^chunk files +${disk.storedChunks}, `, "m"));
    expect(text.stdout).toMatch(/^pinned +1 file, 1 cached whole, /m);
  }, 120_000);
});

describe("cache commands on a cache dir that does not exist", () => {
  for (const sub of ["stats", "verify", "clear"]) {
    test(`musicfs cache ${sub} says so and creates nothing`, async () => {
      const cache = join(tempDir(), "no-such-cache");
      const r = await run(["bun", CLI, "cache", sub, "--cache-dir", cache], { env: { NO_COLOR: "1" } });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`The cache dir ${cache} does not exist.`);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(existsSync(cache)).toBe(false);
    });
  }
});

describe("musicfs status", () => {
  test("after `musicfs unmount` of a stopped server it does not say mounted", async () => {
    const { origin, paths } = await scannedSampleLibrary(); // scanned already: this mount needs no first scan
    const cache = paths.cacheDir;
    const mnt = join(tempDir(), "mnt");
    const server = await startMount(mnt, ["--origin", origin, "--cache-dir", cache]);
    const status = async () => JSON.parse((await run(["bun", CLI, "status", "--json", "--cache-dir", cache])).stdout);
    expect((await status()).mounted.mountPoint).toBe(mnt);

    process.kill(server.proc.pid, "SIGSTOP"); // a hung or stopped server: it cannot clean up after itself
    stopped.push(server.proc.pid);
    expect((await run(["bun", CLI, "unmount", mnt])).code).toBe(0);
    const after = await status();
    expect(after.mounted).toBeNull();
    expect(after.daemonWithoutMount.pid).toBe(server.proc.pid);
    const text = await run(["bun", CLI, "status", "--cache-dir", cache]);
    expect(text.stdout).toMatch(/^mounted {5}no \(musicfs PID \d+ still holds the cache dir; its mount at .* is gone\)$/m);

    process.kill(server.proc.pid, "SIGCONT");
    expect(await server.stop()).toBe(0); // once running again it shuts down in order
  }, 120_000);
});
