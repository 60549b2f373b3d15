import { createOpenModes } from "../../src/fs/cachedContent.ts";
import { asOriginId } from "../../src/core/ids.ts";
/**
 * MusicFs at the dispatcher level, without a mount: a real library (the embedded sample library, scanned by the
 * CLI into a real metadata.db) served through the RequestDispatcher with requests built as the kernel builds them.
 * What the e2e tests see through a mount, checked here rule by rule and fast.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { fstatSync, readdirSync, readFileSync } from "node:fs";
import { join, posix } from "node:path";
import { S_IFDIR, S_IFLNK, S_IFREG } from "../../src/fuse/filesystem.ts";
import { RequestDispatcher } from "../../src/fuse/dispatcher.ts";
import { createNameRegistryBuffer, NameRegistry } from "../../src/fs/nameRegistry.ts";
import { MusicFs } from "../../src/fs/musicFs.ts";
import { OriginBackedReads } from "../../src/fs/originBackedReads.ts";
import type { MusicFsWorkerConfig } from "../../src/fs/workerConfig.ts";
import { CollectionStore } from "../../src/search/collectionStore.ts";
import type { WorkerMessage } from "../../src/fuse/messages.ts";
import { cleanupAll } from "../support/cleanup.ts";
import { isCoverFile } from "../support/process.ts";
import { WireClient, type WireAttr, type WireDirent } from "../support/fuseWire.ts";
import { scannedSampleLibrary } from "../support/scannedLibrary.ts";
import { libraryFacts, READ_ONLY_RULES } from "../support/readOnlyRules.ts";
import { wireFs } from "../support/wireFs.ts";

const ROOT = 1;
let origin: string;
let client: WireClient;
let fs: MusicFs;

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function originFiles(dir: string, prefix = ""): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? originFiles(dir, join(prefix, e.name)) : [join(prefix, e.name)],
  );
}

/** Every regular file below `ino` as (path, entry), walking with LOOKUP-free READDIRPLUS as `find` does. */
function walk(ino: number, path = ""): { path: string; ent: WireDirent }[] {
  return client.list(ino).flatMap((e) => {
    const p = path ? `${path}/${e.name}` : e.name;
    return e.type === S_IFDIR >> 12 ? walk(e.ino, p) : [{ path: p, ent: e }];
  });
}

/** The inode at a path, resolved with LOOKUPs from the root. */
function resolvePath(path: string): number {
  let ino = ROOT;
  for (const name of path.split("/").filter(Boolean)) {
    const a = client.lookup(ino, name);
    if (typeof a === "number") return a;
    ino = a.ino;
  }
  return ino;
}

function readWhole(ino: number, size: number): Uint8Array {
  const fh = client.open(ino);
  expect(fh).toBeGreaterThanOrEqual(0);
  const parts: Uint8Array[] = [];
  for (let off = 0; off < size; off += 128 * 1024) {
    const got = client.read(ino, fh, off, 128 * 1024);
    if (!(got instanceof Uint8Array)) throw new Error(`READ at ${off} failed: ${got}`);
    parts.push(got);
  }
  client.release(ino, fh);
  return Buffer.concat(parts);
}

beforeAll(async () => {
  const lib = await scannedSampleLibrary();
  origin = lib.origin;
  const { paths, originId } = lib;
  CollectionStore.open(paths.collectionsDb).close();
  const config: MusicFsWorkerConfig = {
    dbPath: paths.metadataDb, chunksDir: paths.chunksDir, dataDir: paths.dataDir, cachedOpenModes: createOpenModes(), origins: [{ id: asOriginId(originId), root: origin, cache: "off" }],
    uid: 1000, gid: 100, entryTtlMs: 1000, attrTtlMs: 1000, negativeTtlMs: 1000, mountPoint: join(paths.cacheDir, "mnt"),
    collectionsDb: paths.collectionsDb, nameRegistry: createNameRegistryBuffer(), specialDirs: "hidden", startedAtMs: Date.now(),
  };
  fs = new MusicFs(config);
  const posted: WorkerMessage[] = [];
  client = new WireClient(new RequestDispatcher({ fs, post: (m) => posted.push(m), owner: { uid: 1000, gid: 100 } }));
}, 180_000);

afterAll(cleanupAll);

describe("MusicFs through the dispatcher", () => {
  test("every origin file is served once, with its size and its exact bytes", () => {
    const files = walk(ROOT).filter((f) => !isCoverFile(f.path));
    const wanted = originFiles(origin).filter((f) => /\.(flac|mp3)$/i.test(f));
    expect(wanted.length).toBeGreaterThan(10);
    expect(files.length).toBe(wanted.length);
    const originByHash = new Map(wanted.map((f) => [sha(readFileSync(join(origin, f))), f]));
    const served = new Set<string>();
    for (const f of files) {
      const attr = client.getattr(f.ent.ino);
      if (typeof attr === "number") throw new Error(`GETATTR ${f.path}: ${attr}`);
      expect(attr.mode & 0o170000).toBe(S_IFREG);
      const bytes = readWhole(f.ent.ino, attr.size);
      expect(bytes.length).toBe(attr.size);
      const from = originByHash.get(sha(bytes));
      expect(from).toBeDefined();
      served.add(from!);
    }
    expect(served.size).toBe(wanted.length);
  });

  test("album covers: a cover file in the folders of albums with art, whose bytes are the picture of one of its tracks", () => {
    const covers = walk(ROOT).filter((f) => isCoverFile(f.path));
    expect(covers.length).toBeGreaterThan(0); // the sample library has albums with embedded covers
    for (const cover of covers) {
      const attr = client.getattr(cover.ent.ino);
      if (typeof attr === "number") throw new Error(`GETATTR ${cover.path}: ${attr}`);
      const bytes = readWhole(cover.ent.ino, attr.size);
      expect(bytes.length).toBe(attr.size);
      const type = cover.path.endsWith(".png") ? [0x89, 0x50, 0x4e, 0x47] : [0xff, 0xd8, 0xff];
      expect([...bytes.subarray(0, type.length)]).toEqual(type); // the extension is the bytes' real type
      const folder = posix.dirname(cover.path);
      const tracks = walk(resolvePath(folder), folder).filter((f) => !isCoverFile(f.path));
      const inTrack = tracks.some((t) => Buffer.from(readWhole(t.ent.ino, (client.getattr(t.ent.ino) as WireAttr).size)).includes(bytes));
      expect(inTrack).toBe(true);
    }
  });

  test("listings page correctly with small reply buffers (no entry lost or repeated)", () => {
    const big = client.list(ROOT, 1 << 20).map((e) => e.name);
    const small = client.list(ROOT, 256).map((e) => e.name);
    expect(small).toEqual(big);
    expect(new Set(small).size).toBe(small.length);
  });

  test("a /.search/<query> folder holds symlinks whose targets are tree files", () => {
    const first = walk(ROOT)[0]!;
    const word = posix.basename(first.path).replace(/\.[^.]+$/, "").split(/[^\p{L}\p{N}]+/u).filter((w) => w.length > 2).pop()!;
    const search = client.lookup(ROOT, ".search") as { ino: number };
    const dir = client.lookup(search.ino, word);
    if (typeof dir === "number") throw new Error(`LOOKUP .search/${word}: ${dir}`);
    const links = client.list(dir.ino);
    expect(links.length).toBeGreaterThan(0);
    for (const link of links) {
      expect(link.type).toBe(S_IFLNK >> 12);
      const target = client.readlink(link.ino);
      expect(typeof target).toBe("string");
      const treePath = posix.normalize(posix.join(".search", word, target as string));
      expect(resolvePath(treePath)).toBeGreaterThan(1);
    }
  });

  test("two queries sharing a /.search inode number get different generations, so a cached one is looked up again", () => {
    const first = walk(ROOT)[0]!;
    const word = posix.basename(first.path).replace(/\.[^.]+$/, "").split(/[^\p{L}\p{N}]+/u).filter((w) => w.length > 2).pop()!;
    // A query that lands in the same registry slot (the inode number is derived from it) and matches nothing.
    let other = "";
    for (let i = 0; !other; i++) if (NameRegistry.slotOf(`search:zq${i}`) === NameRegistry.slotOf(`search:${word}`)) other = `zq${i}`;
    const search = client.lookup(ROOT, ".search") as { ino: number };
    const a = client.lookup(search.ino, word) as WireAttr;
    expect(client.list(a.ino).length).toBeGreaterThan(0);
    const b = client.lookup(search.ino, other) as WireAttr;
    expect(b.ino).toBe(a.ino);
    expect(b.generation).not.toBe(a.generation); // the kernel drops the inode it cached for `word`
    expect(client.list(b.ino)).toEqual([]);
    const again = client.lookup(search.ino, word) as WireAttr;
    expect(again.generation).not.toBe(b.generation);
    expect(client.list(again.ino).length).toBeGreaterThan(0);
  });
});

// The read-only rules every program relies on (ENOENT, ENOTDIR, EROFS for every write, listings and lookups that
// agree, hidden special folders, stable inodes…): the same list runs through a real mount in
// test/e2e/specialDirs.test.ts.
describe("read-only rules through the dispatcher", () => {
  for (const rule of READ_ONLY_RULES) test(rule.name, () => rule.check(wireFs(client), libraryFacts(origin)));
});

describe("a local origin with cache = full: a file not cached yet is read from the origin file (originBackedReads.ts)", () => {
  test("its RELEASE is posted to the main thread before its fd is closed, so a next open given that fd number is never taken for it", async () => {
    const lib = await scannedSampleLibrary();
    const { paths, originId } = lib;
    const config: MusicFsWorkerConfig = {
      dbPath: paths.metadataDb, chunksDir: paths.chunksDir, dataDir: paths.dataDir, cachedOpenModes: createOpenModes(),
      origins: [{ id: asOriginId(originId), root: lib.origin, cache: "full" }],
      uid: 1000, gid: 100, entryTtlMs: 1000, attrTtlMs: 1000, negativeTtlMs: 1000, mountPoint: join(paths.cacheDir, "mnt"),
      collectionsDb: paths.collectionsDb, nameRegistry: createNameRegistryBuffer(), specialDirs: "hidden", startedAtMs: Date.now(),
    };
    const cachedFs = new MusicFs(config);
    // The main thread keys an open by its owner, which for these opens is made of the fd: were the fd closed first,
    // another worker could open the next file on that number and post its "open" before this "release" arrives,
    // which would then end that other open (its copy into the cache stopped, its pin let go).
    const fdOpenAtPost: boolean[] = [];
    let fdOfOpen = -1;
    const posted: WorkerMessage[] = [];
    const cachedClient = new WireClient(new RequestDispatcher({
      fs: cachedFs,
      post: (m) => {
        posted.push(m);
        const message = (m as { type: string; message?: { type: string } }).message;
        if (message?.type === "release") fdOpenAtPost.push(fdIsOpen(fdOfOpen));
      },
      owner: { uid: 1000, gid: 100 },
    }));
    const file = walk(ROOT).find((f) => /\.flac$/i.test(f.path))!;
    const attr = cachedClient.getattr(file.ent.ino);
    if (typeof attr === "number") throw new Error(`GETATTR: ${attr}`);
    const fh = cachedClient.open(file.ent.ino);
    expect(OriginBackedReads.owns(fh)).toBe(true);
    fdOfOpen = OriginBackedReads.fdOf(fh);
    const head = cachedClient.read(file.ent.ino, fh, 0, 4096);
    if (!(head instanceof Uint8Array)) throw new Error(`READ: ${head}`);
    expect(sha(head)).toBe(sha(readWhole(file.ent.ino, attr.size).subarray(0, 4096))); // the origin's bytes (test 1)
    cachedClient.release(file.ent.ino, fh);
    expect(fdOpenAtPost).toEqual([true]);
    expect(fdIsOpen(fdOfOpen)).toBe(false);
  });
});

function fdIsOpen(fd: number): boolean {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}
