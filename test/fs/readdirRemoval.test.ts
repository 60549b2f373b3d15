import { createOpenModes } from "../../src/fs/cachedContent.ts";
import { asIno, asOriginId } from "../../src/core/ids.ts";
/**
 * Issue 9 item 13: READDIR pages by the name of the node its cookie names. When a live sync removed that node
 * between two READDIRs (a listing in progress while files vanish from the origin), the next page used to be empty:
 * the listing ended early. Through the dispatcher, with the removal made by the writer as a sync makes it.
 */
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { Database } from "../../src/db/database.ts";
import { NodeReader } from "../../src/db/nodeReader.ts";
import { TreeStore } from "../../src/db/treeStore.ts";
import { RequestDispatcher } from "../../src/fuse/dispatcher.ts";
import { MusicFs } from "../../src/fs/musicFs.ts";
import { createNameRegistryBuffer } from "../../src/fs/nameRegistry.ts";
import { cleanupAll } from "../support/cleanup.ts";
import { WireClient } from "../support/fuseWire.ts";
import { scannedSampleLibrary } from "../support/scannedLibrary.ts";

afterAll(cleanupAll);

test("a listing continues past the entry its cookie names when a live sync removed it between two READDIRs", async () => {
  const { origin, originId, paths } = await scannedSampleLibrary();
  const fs = new MusicFs({
    dbPath: paths.metadataDb, chunksDir: paths.chunksDir, dataDir: paths.dataDir, cachedOpenModes: createOpenModes(), origins: [{ id: asOriginId(originId), root: origin, cache: "off" }],
    uid: 0, gid: 0, entryTtlMs: 1000, attrTtlMs: 1000, negativeTtlMs: 1000, mountPoint: join(paths.cacheDir, "mnt"),
    collectionsDb: paths.collectionsDb, nameRegistry: createNameRegistryBuffer(), specialDirs: "hidden", startedAtMs: Date.now(),
  });
  const client = new WireClient(new RequestDispatcher({ fs, post: () => {} }));
  // The album with the most tracks.
  const reader = new NodeReader(paths.metadataDb);
  const albums = client.list(1).flatMap((artist) => client.list(artist.ino));
  const album = albums.map((a) => ({ a, n: client.list(a.ino).length })).sort((x, y) => y.n - x.n)[0]!.a;
  const whole = client.list(album.ino);
  expect(whole.length).toBeGreaterThanOrEqual(4);

  // First page: ".", ".." and the first two tracks (each READDIRPLUS record is ~150 bytes + its name).
  let first = client.page(album.ino, 0, 4096).entries.slice(0, 4);
  const bytes = first.reduce((sum, e) => sum + Math.ceil((152 + Buffer.byteLength(e.name)) / 8) * 8, 0);
  first = client.page(album.ino, 0, bytes).entries;
  expect(first.map((e) => e.name)).toEqual([".", "..", whole[0]!.name, whole[1]!.name]);

  // The sync removes the page's last entry (the one the next cookie names).
  const db = Database.open(paths.metadataDb);
  const tree = new TreeStore(db);
  const gone = reader.node(asIno(whole[1]!.ino))!.fileId!;
  db.transaction(() => tree.removeFileNode(gone, Date.now()));
  db.close();

  const rest = client.list(album.ino).length; // sanity: the directory itself still lists the others
  expect(rest).toBe(whole.length - 1);
  const next: string[] = [];
  let offset = first.at(-1)!.off;
  for (;;) {
    const page = client.page(album.ino, offset, 4096).entries;
    if (page.length === 0) break;
    next.push(...page.map((e) => e.name));
    offset = page.at(-1)!.off;
  }
  expect(next).toEqual(whole.slice(2).map((e) => e.name));
  reader.close();
}, 180_000);
