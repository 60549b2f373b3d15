import { afterEach, expect, test } from "bun:test";
import { Database as RawSqlite } from "bun:sqlite";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PinStore } from "../../src/db/pinStore.ts";
import { cleanupAll, tempDir } from "../support/cleanup.ts";

afterEach(cleanupAll);

test("pinnedFilesIfKnown (a mount on a full disk, before anything opens): read without writing; null when it cannot tell", () => {
  const dir = tempDir();
  const path = join(dir, "pins.db");
  expect(PinStore.pinnedFilesIfKnown(path)).toEqual([]); // no pins.db: nothing pinned
  expect(existsSync(path)).toBe(false);

  const store = PinStore.open(path);
  store.put({ kind: "files", label: "A/B", key: null, files: [] });
  store.setPinnedFiles([7, 3]);
  store.close();
  const before = readdirSync(dir).sort();
  expect(PinStore.pinnedFilesIfKnown(path) as number[]).toEqual([7, 3]);
  expect(readdirSync(dir).sort()).toEqual(before); // no -shm created (a full disk would refuse it)

  // A pins.db from before pinned_files, with pins: which files they name is not known here.
  const raw = new RawSqlite(path);
  raw.exec("DROP TABLE pinned_files");
  raw.close();
  expect(PinStore.pinnedFilesIfKnown(path)).toBeNull();

  writeFileSync(path, "not a database");
  expect(PinStore.pinnedFilesIfKnown(path)).toBeNull();
});
