/**
 * Issue 18 item 1 on a local origin with cache = "full": pinning more than the cap allows is refused with the sizes
 * and what to do; a pinned track follows a retag (its tree path changes, the pin stays and is fetched again); pins
 * survive kill -9 of the mount.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { Database as Sqlite } from "bun:sqlite";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { writeSampleLibraryCopy } from "../support/sampleLibraryCopy.ts";
import { eventually } from "../support/eventually.ts";
import { CLI, cleanupAll, run, startMount, tempDir } from "./harness.ts";

afterAll(cleanupAll);

interface PinsJson {
  pins: { label: string; kind: string; files: number; cachedFiles: number }[];
  progress: { files: number; cachedFiles: number };
}

function virtualPathOf(cache: string, realPath: string): string {
  const db = new Sqlite(join(cache, "metadata.db"), { readonly: true });
  const row = db.query("SELECT virtual_path FROM files WHERE real_path = ?").get(realPath) as { virtual_path: string };
  db.close();
  return row.virtual_path;
}

describe("pins on a local origin with cache = \"full\"", () => {
  test("over the cap: refused with the sizes; a retagged track stays pinned; pins survive kill -9", async () => {
    const origin = tempDir();
    await writeSampleLibraryCopy(origin);
    const cache = tempDir();
    const cfg = join(tempDir(), "config.toml");
    // 1 MiB cap: pins may take 80 % of it (838,860 bytes); the Sólveig Ørn album is 850,664 bytes.
    writeFileSync(cfg, `[[origins]]\nid = "lib"\npath = "${origin}"\ncache = "full"\n[cache]\nmax_size = "1MiB"\n`);
    const args = ["--config", cfg, "--cache-dir", cache];
    const mnt = join(tempDir(), "mnt");
    let m = await startMount(mnt, args);
    const db = new Sqlite(join(cache, "metadata.db"), { readonly: true });
    const reals = (db.query("SELECT real_path FROM files ORDER BY real_path").values() as [string][]).map(([r]) => r);
    db.close();
    const albumReal = reals.find((f) => f.startsWith("Sólveig Ørn/")) ?? "";
    expect(albumReal).not.toBe("");
    const album = virtualPathOf(cache, albumReal).split("/").slice(0, 2).join("/");

    const refused = await run(["bun", CLI, "pin", join(mnt, album), ...args]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`Pinning "/${album}" needs`);
    expect(refused.stderr).toMatch(/0\.0 MiB pinned \+ 0\.8 MiB is over the 0\.8 MiB pins may take \(80 % of the 1\.0 MiB cache cap/);
    expect(refused.stderr).toContain("musicfs unpin");

    // One track of that album fits: pinned, then retagged on the origin.
    const trackReal = reals.filter((f) => f.startsWith("Sólveig Ørn/") && f.endsWith(".flac"))[0]!;
    const before = virtualPathOf(cache, trackReal);
    const pinned = await run(["bun", CLI, "pin", join(mnt, before), "--wait", ...args]);
    expect(pinned.stderr).toContain("Everything pinned is cached");
    // The pin set as a playlist beside the collections' (issue 18 item 4).
    const playlist = readFileSync(join(mnt, ".collections", "Pinned.m3u8"), "utf8");
    expect(playlist.split("\n").filter((l) => l && !l.startsWith("#"))).toEqual([`../${before}`]);
    expect(existsSync(resolve(join(mnt, ".collections"), `../${before}`))).toBe(true);
    const retagged = join(tempDir(), "retagged.flac");
    expect((await run(["ffmpeg", "-v", "error", "-i", join(origin, trackReal), "-map", "0", "-c", "copy", "-metadata", "title=Renamed By Retag", retagged])).code).toBe(0);
    renameSync(retagged, join(origin, trackReal));
    expect((await run(["bun", CLI, "sync", ...args])).code).toBe(0);
    const after = virtualPathOf(cache, trackReal);
    expect(after).not.toBe(before);
    expect(after).toContain("Renamed By Retag");
    // Still pinned (by its origin path), and fetched again whole (its bytes changed).
    const pins = await eventually(
      async () => JSON.parse((await run(["bun", CLI, "pins", "--json", ...args])).stdout) as PinsJson,
      (p) => p.progress.files === 1 && p.progress.cachedFiles === 1,
    );
    expect(pins.pins.map((p) => [p.label, p.files])).toEqual([[before, 1]]);

    // kill -9, mount again: the pin is there and still cached.
    await m.stop("SIGKILL");
    await run(["umount", "-l", mnt]);
    m = await startMount(mnt, args);
    const again = await eventually(
      async () => JSON.parse((await run(["bun", CLI, "pins", "--json", ...args])).stdout) as PinsJson,
      (p) => p.progress.files === 1 && p.progress.cachedFiles === 1,
    );
    expect(again.pins.map((p) => p.label)).toEqual([before]);
    const unpin = await run(["bun", CLI, "unpin", join(mnt, before), ...args]);
    expect(unpin.code).toBe(0);
    expect((JSON.parse((await run(["bun", CLI, "pins", "--json", ...args])).stdout) as PinsJson).pins).toEqual([]);
    expect(await m.stop()).toBe(0);
  }, 180_000);
});
