/**
 * The background scrub (src/cas/dataFileScrub.ts) on a real data file store: a damaged complete data file is found
 * and removed, a sound one is kept, and a partial data file (a whole-file fetch under way) is never taken for a
 * damaged one — the scrub used to pick it (it is in the same table) and delete it as "no current manifest",
 * throwing away the fetch's bytes.
 */
import { afterEach, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sha256ChunkId } from "../../src/cas/chunkHash.ts";
import { chunkLengths } from "../../src/cas/fastCdc.ts";
import { buildManifest, readChecksum, type Manifest } from "../../src/cas/manifestCodec.ts";
import { DataFileStore, type DataFileRef } from "../../src/cas/dataFileStore.ts";
import { DataFileScrub } from "../../src/cas/dataFileScrub.ts";
import { asContentId, type ContentId } from "../../src/core/ids.ts";
import { removeDir, tempDir } from "./helpers.ts";
import { pseudoRandomBytes } from "./testData.ts";

let cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup) c();
  cleanup = [];
});

function fileOf(size: number, seed: number): { data: Uint8Array<ArrayBuffer>; m: Manifest; pieces: Uint8Array[] } {
  const data = pseudoRandomBytes(size, seed);
  const pieces: Uint8Array[] = [];
  const chunks = [];
  let off = 0;
  for (const len of chunkLengths(data)) {
    const bytes = data.subarray(off, off + len);
    pieces.push(bytes);
    chunks.push({ id: sha256ChunkId(bytes), length: len, checksum: readChecksum(bytes) });
    off += len;
  }
  return { data, m: buildManifest(chunks, size, 1000), pieces };
}

const ref = (fileId: number, size: number): DataFileRef => ({ fileId: asContentId(fileId), size, mtimeMs: 1000 });

function setUp() {
  const dir = tempDir();
  let clock = 1_000_000;
  const store = new DataFileStore(join(dir, "data"), join(dir, "access.db"), { now: () => clock++ });
  cleanup.push(() => (store.close(), removeDir(dir)));
  const manifests = new Map<ContentId, Manifest>();
  const damaged: ContentId[] = [];
  const scrub = new DataFileScrub({ store, manifestOf: (id) => manifests.get(id) ?? null, bytesPerSec: 1 << 30, onDamaged: (id) => damaged.push(id) });
  // Started (a running scrub acts on what it finds), with its own first step an hour away: the test takes the steps.
  scrub.start(3_600_000);
  cleanup.unshift(() => void scrub.stop());
  return { store, manifests, damaged, scrub };
}

test("a partial data file is left to its fetch; the complete ones are checked, the damaged one removed", async () => {
  const { store, manifests, damaged, scrub } = setUp();
  // A fetch under way: its partial data file is created first, so it is the oldest row of the table.
  const fetching = fileOf(600_000, 1);
  await store.writePartial(ref(1, fetching.data.length), 0, fetching.data.subarray(0, 200_000));
  const sound = fileOf(500_000, 2);
  const broken = fileOf(500_000, 3);
  expect(await store.materialize(ref(2, sound.data.length), sound.m, async (i) => sound.pieces[i])).toBe("written");
  expect(await store.materialize(ref(3, broken.data.length), broken.m, async (i) => broken.pieces[i])).toBe("written");
  manifests.set(asContentId(2), sound.m);
  manifests.set(asContentId(3), broken.m);
  const brokenPath = store.pathOf(ref(3, broken.data.length));
  const bytes = readFileSync(brokenPath);
  bytes[250_000] ^= 0xff;
  writeFileSync(brokenPath, bytes);

  await scrub.step();
  await scrub.step();
  expect(damaged).toEqual([asContentId(3)]);
  expect(existsSync(brokenPath)).toBe(false);
  expect(existsSync(store.pathOf(ref(2, sound.data.length)))).toBe(true);
  // The fetch goes on where it was: its bytes so far are still there, and it completes into a sound data file.
  const partial = store.partialPathOf(ref(1, fetching.data.length));
  expect(readFileSync(partial).subarray(0, 200_000)).toEqual(Buffer.from(fetching.data.subarray(0, 200_000)));
  await store.writePartial(ref(1, fetching.data.length), 200_000, fetching.data.subarray(200_000));
  expect((await store.completePartial(ref(1, fetching.data.length), fetching.m)).ok).toBe(true);
  expect(readFileSync(store.pathOf(ref(1, fetching.data.length)))).toEqual(Buffer.from(fetching.data));
  expect(scrub.checked).toBe(2);
});

test("with only a partial data file there is nothing to check: the scrub removes nothing", async () => {
  const { store, damaged, scrub } = setUp();
  const fetching = fileOf(300_000, 4);
  await store.writePartial(ref(1, fetching.data.length), 0, fetching.data.subarray(0, 100_000));
  await scrub.step();
  expect(damaged).toEqual([]);
  expect(scrub.checked).toBe(0);
  expect(existsSync(store.partialPathOf(ref(1, fetching.data.length)))).toBe(true);
});
