import { afterEach, expect, test } from "bun:test";
import { checkVersion, fetchExactly } from "../../../src/cas/fetch/originReads.ts";
import { FetchError } from "../../../src/cas/fetch/fetchError.ts";
import { SharedHeads } from "../../../src/cas/fetch/sharedHeads.ts";
import { fileRef, makeOrigin, removeDir, tempDir } from "../helpers.ts";
import { pseudoRandomBytes } from "../testData.ts";
import { utimesSync } from "node:fs";
import { join } from "node:path";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});
function origin(bytes: Uint8Array) {
  const root = tempDir();
  dirs.push(root);
  const o = makeOrigin(root, { "a.flac": bytes });
  return { o, root, file: fileRef(o, root, "a.flac", 1) };
}

test("short answers are completed: exact bytes at any offset", async () => {
  const data = pseudoRandomBytes(300_000, 3);
  const { o, file } = origin(data);
  o.setMode({ kind: "partial", maxBytes: 7_000 });
  expect(await fetchExactly(file, 12_345, 200_000, 10_000, undefined)).toEqual(data.subarray(12_345, 212_345));
});

test("a file shorter on the origin than recorded fails as changed; a hung origin as timeout", async () => {
  const { o, file } = origin(pseudoRandomBytes(1000, 4));
  const err = await fetchExactly({ ...file, size: 2000 }, 900, 200, 10_000, undefined).catch((e) => e);
  expect((err as FetchError).reason).toBe("changed");
  o.setMode({ kind: "offline", behaviour: "hang" });
  const hung = await fetchExactly(file, 0, 10, 30, undefined).catch((e) => e);
  expect((hung as FetchError).reason).toBe("timeout");
  o.setMode({ kind: "healthy" });
});

test("the version check runs once per file, refuses another size or mtime, and is retried after a failure", async () => {
  const { o, root, file } = origin(pseudoRandomBytes(1000, 5));
  const state = { file, versionCheck: null as Promise<void> | null };
  await checkVersion(state, 10_000);
  await checkVersion(state, 10_000);
  expect(o.counts.stat).toBe(1);
  utimesSync(join(root, "a.flac"), new Date(), new Date(Date.now() + 60_000));
  const stale = { file, versionCheck: null as Promise<void> | null };
  expect(((await checkVersion(stale, 10_000).catch((e) => e)) as FetchError).reason).toBe("changed");
  expect(stale.versionCheck).toBeNull(); // forgotten: a later read asks the origin again
});

test("the version check takes a HEAD just made for the file, but asks again when that answer is older than the record", async () => {
  const { o, root, file } = origin(pseudoRandomBytes(1000, 6));
  const heads = new SharedHeads();
  await heads.stat(file, () => o.stat(file.realPath)); // the HEAD of the OPEN
  await checkVersion({ file, versionCheck: null }, 10_000, heads);
  expect(o.counts.stat).toBe(1); // shared: no second HEAD
  // The file changed and the library synced it since that HEAD: the record is newer than the shared answer.
  utimesSync(join(root, "a.flac"), new Date(), new Date(Date.now() + 60_000));
  const now = await o.stat(file.realPath); // what the sync saw
  await checkVersion({ file: { ...file, mtimeMs: now.mtimeMs }, versionCheck: null }, 10_000, heads); // not refused
  // ...and a reader with the old record now gets the new answer: changed, never the old bytes.
  const stale = await checkVersion({ file, versionCheck: null }, 10_000, heads).catch((e) => e);
  expect((stale as FetchError).reason).toBe("changed");
});
