import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chooseOrigins, readRememberedOrigins, rememberOrigins } from "../../../src/app/sync/rememberedOrigins.ts";
import { loadConfig } from "../../../src/config/config.ts";
import { cachePaths } from "../../../src/config/paths.ts";
import { Database } from "../../../src/db/database.ts";
import { asOriginId } from "../../../src/core/ids.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function cacheDir() {
  const d = mkdtempSync(join(tmpdir(), "musicfs-origins-"));
  dirs.push(d);
  return cachePaths(d);
}
const music = { id: asOriginId("music"), path: "/srv/music", cache: "off" as const, priority: 0 };

describe("remembered origins (origins.json)", () => {
  test("origins given are written to origins.json (0600) and come back when none are given", () => {
    const paths = cacheDir();
    const db = Database.open(paths.metadataDb);
    const config = loadConfig({ cacheDir: paths.cacheDir }, { XDG_CONFIG_HOME: paths.cacheDir }); // no config file
    const given = chooseOrigins(paths, db, { ...config, origins: [music] });
    expect(given.origins).toEqual([music]);
    expect(existsSync(paths.originsFile)).toBe(false); // not before they are applied
    rememberOrigins(paths, given);
    expect(statSync(paths.originsFile).mode & 0o777).toBe(0o600);
    db.close();
    rmSync(paths.metadataDb); // the database is gone, the origins are not
    const fresh = Database.open(paths.metadataDb);
    const choice = chooseOrigins(paths, fresh, { ...config, origins: [] });
    expect(choice.origins).toEqual([music]);
    expect(choice.previous).toEqual([music]);
    fresh.close();
  });

  test("a cache dir from before origins.json: the origins in the database are migrated to the file", () => {
    const paths = cacheDir();
    const db = Database.open(paths.metadataDb);
    db.setMeta("origins", JSON.stringify([music]));
    expect(existsSync(paths.originsFile)).toBe(false);
    expect(readRememberedOrigins(paths, db)).toEqual([music]);
    expect(JSON.parse(readFileSync(paths.originsFile, "utf8")).origins).toEqual([music]);
    db.close();
  });

  test("a damaged origins.json is not used: the origins must be given again", () => {
    const paths = cacheDir();
    writeFileSync(paths.originsFile, "{ not json");
    expect(readRememberedOrigins(paths, null)).toBeNull();
    writeFileSync(paths.originsFile, JSON.stringify({ version: 1, origins: [{ path: 3 }] }));
    expect(readRememberedOrigins(paths, null)).toBeNull();
  });
});
