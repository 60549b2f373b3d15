/**
 * Issue 9, items 3 and 13: which origins a cache dir holds. Origins removed from the configuration leave no ghosts,
 * a changed id is a rename, a bad id is refused, and the same folder given twice is one origin.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { Database as Sqlite } from "bun:sqlite";
import { cpSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeFlac } from "../../src/sample/flacWriter.ts";
import { renderMelody } from "../../src/sample/tone.ts";
import { CLI, cleanupAll, findFiles, run, startMount, tempDir } from "./harness.ts";
import { eventually } from "../support/eventually.ts";

afterEach(cleanupAll);
afterAll(cleanupAll);

/** Two tracks of one album. */
function origin(): string {
  const dir = tempDir();
  for (const [i, title] of [[1, "One"], [2, "Two"]] as const)
    writeFileSync(join(dir, `${i}.flac`), writeFlac({ artists: ["Moss"], album: "Green", year: 2011, title, track: i }, renderMelody({ seed: i, seconds: 0.3, sampleRate: 22050, channelCount: 1 })));
  return dir;
}

function rows(cache: string): { id: number; origin: string; virtual: string }[] {
  const db = new Sqlite(join(cache, "metadata.db"), { readonly: true });
  try {
    return (db.query("SELECT id, origin_id, virtual_path FROM files ORDER BY id").values() as [number, string, string][]).map(([id, origin, virtual]) => ({ id, origin, virtual }));
  } finally {
    db.close();
  }
}

const musicfs = (...args: string[]) => run(["bun", CLI, ...args], { env: { NO_COLOR: "1", MUSICFS_LOG_LEVEL: "info" } });
const album = "Moss/Green (2011) [FLAC]";

describe("origins removed from the configuration", () => {
  test("leave the tree at the next mount (one line says how many): no ghosts listed or found, no (2) on the real files", async () => {
    const old = origin();
    const replacement = tempDir();
    cpSync(old, replacement, { recursive: true }); // the same tracks, wanting the same names
    const cache = tempDir();
    const mnt = join(tempDir(), "mnt");
    const first = await startMount(mnt, ["--origin", old, "--cache-dir", cache]);
    expect(await findFiles(mnt)).toEqual([`${album}/01 - One.flac`, `${album}/02 - Two.flac`]);
    expect(await first.stop()).toBe(0);

    const second = await startMount(mnt, ["--origin", replacement, "--cache-dir", cache]);
    expect(second.output()).toMatch(/Origin "[^"]+" \([^)]+\) is no longer configured: 2 files of it removed from the library/);
    await second.waitFor(/Delta sync complete: 2 added/);
    const listed = await findFiles(mnt);
    expect(listed).toEqual([`${album}/01 - One.flac`, `${album}/02 - Two.flac`]);
    for (const [i, f] of listed.entries()) expect((await run(["cmp", join(mnt, f), join(replacement, `${i + 1}.flac`)])).code).toBe(0);
    expect(readdirSync(join(mnt, ".search", "Two"))).toEqual(["001. Moss - Two.flac"]);
    const found = await musicfs("search", "Green", "--cache-dir", cache);
    expect(found.stdout.trim().split("\n")).toEqual([`${album}/01 - One.flac`, `${album}/02 - Two.flac`]);
    expect(new Set(rows(cache).map((r) => r.origin)).size).toBe(1);
  }, 120_000);
});

describe("a removed cached origin", () => {
  test("its cached files no longer count in the live cache figures (their chunks only wait for eviction)", async () => {
    const old = origin();
    const replacement = origin();
    const cache = tempDir();
    const mnt = join(tempDir(), "mnt");
    const configFile = join(tempDir(), "config.toml");
    writeFileSync(configFile, `[[origins]]\nid = "old"\npath = "${old}"\ncache = "full"\n`);
    const first = await startMount(mnt, ["--config", configFile, "--cache-dir", cache]);
    for (const f of await findFiles(mnt)) expect((await run(["cat", join(mnt, f)])).code).toBe(0);
    const liveCache = async () => {
      const r = await musicfs("status", "--json", "--cache-dir", cache);
      return (JSON.parse(r.stdout) as { cache?: { logicalBytes: number } | null }).cache ?? null;
    };
    const cachedBytes = statSync(join(old, "1.flac")).size + statSync(join(old, "2.flac")).size;
    await eventually(liveCache, (c) => (c?.logicalBytes ?? 0) >= cachedBytes);
    expect((await liveCache())?.logicalBytes).toBe(cachedBytes);
    expect(await first.stop()).toBe(0);

    writeFileSync(configFile, `[[origins]]\nid = "new"\npath = "${replacement}"\ncache = "full"\n`);
    const second = await startMount(mnt, ["--config", configFile, "--cache-dir", cache]);
    expect(second.output()).toContain(`Origin "old" (${old}) is no longer configured: 2 files of it removed`);
    const live = await eventually(liveCache, (c) => c !== null);
    expect(live?.logicalBytes).toBe(0); // nothing of the new origin is cached yet; the old files are forgotten
  }, 120_000);
});

describe("an origin's id", () => {
  test("changed in the config for the same folder is a rename: the same rows, inodes and names, no duplicates", async () => {
    const music = origin();
    const cache = tempDir();
    const mnt = join(tempDir(), "mnt");
    const configFile = join(tempDir(), "config.toml");
    writeFileSync(configFile, `[[origins]]\nid = "music"\npath = "${music}"\n`);
    const first = await startMount(mnt, ["--config", configFile, "--cache-dir", cache]);
    const inode = statSync(join(mnt, album, "01 - One.flac")).ino;
    expect(await first.stop()).toBe(0);
    const before = rows(cache);

    writeFileSync(configFile, `[[origins]]\nid = "library"\npath = "${music}/"\n`); // and spelled with a slash
    const second = await startMount(mnt, ["--config", configFile, "--cache-dir", cache]);
    expect(second.output()).toContain(`Origin "music" is now "library" (same folder ${music}): its 2 files kept.`);
    await second.waitFor(/Delta sync complete: 0 added, 0 modified, 0 removed, 2 unchanged/);
    expect(await findFiles(mnt)).toEqual([`${album}/01 - One.flac`, `${album}/02 - Two.flac`]);
    expect(statSync(join(mnt, album, "01 - One.flac")).ino).toBe(inode);
    expect(rows(cache)).toEqual(before.map((r) => ({ ...r, origin: "library" })));
  }, 120_000);

  test('".." and other unsafe ids are refused in one line naming the key', async () => {
    const configFile = join(tempDir(), "config.toml");
    writeFileSync(configFile, `[[origins]]\nid = ".."\npath = "${origin()}"\n`);
    const r = await musicfs("scan", "--config", configFile, "--cache-dir", tempDir());
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("origins[0].id");
    expect(r.stderr).not.toContain("    at "); // no stack trace
  }, 30_000);
});

describe("the same origin given twice", () => {
  test("(as a trailing-slash spelling and through a symlink) is scanned once: 2 files parsed, not 6", async () => {
    const music = origin();
    const link = join(tempDir(), "link");
    symlinkSync(music, link);
    const cache = tempDir();
    const r = await musicfs("scan", "--origin", music, "--origin", `${music}/`, "--origin", link, "--cache-dir", cache);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`The origin ${link} is the same folder as ${music}: it is used once`);
    expect(r.stderr).toContain("Scan complete: 2 files parsed");
    expect(rows(cache).length).toBe(2);
  }, 30_000);
});
