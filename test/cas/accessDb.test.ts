import { afterEach, describe, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { join } from "node:path";
import { ACCESS_DB_WAL_BOUND_BYTES, accessDbGrowthBytes, openAccessDb } from "../../src/cas/accessDb.ts";
import { removeDir, tempDir } from "./helpers.ts";

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) removeDir(d);
  dirs = [];
});

describe("access.db", () => {
  // Its WAL is on the cache's disk and grows with every commit without asking the evictor: the free-space reserve
  // can only be kept if that growth has a bound the evictor can count (a 1 MiB cache disk once had 820 KiB of WAL).
  test("its WAL stays within its bound through many commits, and the room it may still take is the rest of the bound", () => {
    const d = tempDir();
    dirs.push(d);
    const path = join(d, "access.db");
    expect(accessDbGrowthBytes(path)).toBe(ACCESS_DB_WAL_BOUND_BYTES);
    const db = openAccessDb(path);
    db.exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)");
    const insert = db.query("INSERT OR REPLACE INTO t (k, v) VALUES (?, ?)");
    let largest = 0;
    // 2000 commits of a row each (as the fetch progress and data file rows are written), over ~3 MiB of rows.
    for (let i = 0; i < 2000; i++) {
      insert.run(i % 700, new Uint8Array(1500));
      largest = Math.max(largest, statSync(`${path}-wal`).size);
    }
    expect(largest).toBeGreaterThan(0);
    expect(largest).toBeLessThanOrEqual(ACCESS_DB_WAL_BOUND_BYTES);
    expect(accessDbGrowthBytes(path)).toBe(ACCESS_DB_WAL_BOUND_BYTES - statSync(`${path}-wal`).size);
    db.close();
  });
});
