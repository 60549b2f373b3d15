import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { asOriginId } from "../../src/core/ids.ts";
import { RequestDispatcher } from "../../src/fuse/dispatcher.ts";
import type { WorkerMessage } from "../../src/fuse/messages.ts";
import { createOpenModes } from "../../src/fs/cachedContent.ts";
import { MusicFs } from "../../src/fs/musicFs.ts";
import { createNameRegistryBuffer } from "../../src/fs/nameRegistry.ts";
import { OriginBackedReads } from "../../src/fs/originBackedReads.ts";
import { createOriginStalls, OriginStalls, STALL_MS } from "../../src/fs/originStalls.ts";
import type { MusicFsWorkerConfig } from "../../src/fs/workerConfig.ts";
import { CollectionStore } from "../../src/search/collectionStore.ts";
import { cleanupAll } from "../support/cleanup.ts";
import { WireClient } from "../support/fuseWire.ts";
import { scannedSampleLibrary } from "../support/scannedLibrary.ts";

afterAll(cleanupAll);

test("an origin call running longer than STALL_MS marks its origin stalled for every worker, until it returns", () => {
  let now = 1_000_000;
  const clock = () => now;
  const shared = createOriginStalls(2);
  const a = new OriginStalls(shared, clock); // two workers on one table
  const b = new OriginStalls(shared, clock);
  expect(a.stalled(0) || a.stalled(1) || b.stalled(0)).toBe(false);
  let seenDuring: boolean[] = [];
  const result = a.during(1, () => {
    now += STALL_MS - 1;
    seenDuring.push(b.stalled(1)); // a slow call, not a stall yet
    now += 2;
    seenDuring.push(b.stalled(1), b.stalled(0), a.stalled(1)); // now it is: origin 1 only, seen by both
    return 42;
  });
  expect(result).toBe(42);
  expect(seenDuring).toEqual([false, true, false, true]);
  expect(b.stalled(1)).toBe(false); // it returned
  // A call that throws is no longer running either.
  expect(() => b.during(0, () => {
    now += 10 * STALL_MS;
    throw new Error("EIO");
  })).toThrow("EIO");
  expect(a.stalled(0)).toBe(false);
  // An origin the table does not know is never stalled, and its calls run untracked.
  expect(a.during(7, () => "ran")).toBe("ran");
  expect(a.stalled(7)).toBe(false);
});

test("workers beyond the table's rows run their calls untracked", () => {
  let now = 0;
  const shared = createOriginStalls(1);
  const workers = Array.from({ length: 9 }, () => new OriginStalls(shared, () => now));
  const late = workers[8];
  late.during(0, () => {
    now += 10 * STALL_MS;
    expect(workers[0].stalled(0)).toBe(false);
  });
  workers[0].during(0, () => {
    now += 10 * STALL_MS;
    expect(late.stalled(0)).toBe(true);
  });
});

describe("a local cache = full origin whose calls stall", () => {
  test("new opens and reads of its files go through the cache's path instead of blocking another worker on it", async () => {
    const lib = await scannedSampleLibrary();
    const { paths, originId } = lib;
    CollectionStore.open(paths.collectionsDb).close();
    const stalls = createOriginStalls(1);
    const config: MusicFsWorkerConfig = {
      dbPath: paths.metadataDb, chunksDir: paths.chunksDir, dataDir: paths.dataDir, cachedOpenModes: createOpenModes(),
      origins: [{ id: asOriginId(originId), root: lib.origin, cache: "full" }], originStalls: stalls,
      uid: 1000, gid: 100, entryTtlMs: 1000, attrTtlMs: 1000, negativeTtlMs: 1000, mountPoint: join(paths.cacheDir, "mnt"),
      collectionsDb: paths.collectionsDb, nameRegistry: createNameRegistryBuffer(), specialDirs: "hidden", startedAtMs: Date.now(),
    };
    const posted: WorkerMessage[] = [];
    const client = new WireClient(new RequestDispatcher({ fs: new MusicFs(config), post: (m) => posted.push(m), owner: { uid: 1000, gid: 100 } }));
    const db = new Database(paths.metadataDb, { readonly: true });
    const [a, b] = db.query("SELECT n.ino AS ino, f.real_path AS path FROM nodes n JOIN files f ON f.id = n.file_id WHERE n.kind = 2 ORDER BY n.ino LIMIT 2").all() as { ino: number; path: string }[];
    db.close();
    const head = (path: string) => new Uint8Array(readFileSync(join(lib.origin, path)).subarray(0, 4096));

    // Healthy: a file not cached is read from the origin file by the worker, and the read is reported.
    const fa = client.open(a.ino);
    expect(OriginBackedReads.owns(fa)).toBe(true);
    expect(client.read(a.ino, fa, 0, 4096)).toEqual(head(a.path));
    expect(posted.some((m) => m.type === "post" && (m.message as { type: string }).type === "originRead")).toBe(true);

    // Another worker's call on the origin began 10 s ago and has not returned: the origin is stalled.
    new OriginStalls(stalls, () => Date.now() - 10_000).during(0, () => {
      const fb = client.open(b.ino);
      expect(fb).toBeGreaterThan(0);
      expect(OriginBackedReads.owns(fb)).toBe(false); // not opened on the origin
      expect(client.read(b.ino, fb, 0, 4096)).toBeNull(); // deferred to the main thread's fetcher
      expect(client.read(a.ino, fa, 0, 4096)).toBeNull(); // an origin-backed open's READ too
    });
    // The call returned: the origin-backed open reads from the origin again.
    expect(client.read(a.ino, fa, 4096, 4096)).toEqual(new Uint8Array(readFileSync(join(lib.origin, a.path)).subarray(4096, 8192)));
  }, 180_000);
});
