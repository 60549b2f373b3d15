/**
 * What a read-only musicfs must do for any program, as ONE list of rules (like go-fuse's posixtest): each rule is a
 * name and a check of a "filesystem under test". The same list runs against the RequestDispatcher (requests built as
 * the kernel builds them: test/support/wireFs.ts, fast, in test/fs/musicFs.test.ts) and once through a real mount
 * (test/support/mountFs.ts, in test/e2e/specialDirs.test.ts), so the request level and the kernel agree.
 *
 * The rules assume the default configuration (special folders hidden) and a library with tracks in album folders.
 */
import { expect } from "bun:test";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, posix } from "node:path";
import { isCoverFile } from "./process.ts";

const ENOENT = -2;
const ENOTDIR = -20;
const EROFS = -30;
const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

export interface FsAttr {
  ino: number;
  size: number;
  /** Type and permission bits (st_mode). */
  mode: number;
}

export type EntryType = "dir" | "file" | "link";

export interface FsEntry {
  name: string;
  type: EntryType;
}

/** Every kind of change a program can ask for (each must fail with EROFS). */
export const CHANGES = ["create", "mkdir", "unlink", "rmdir", "rename", "symlink", "link", "chmod", "chown", "truncate", "utimes"] as const;
export type Change = (typeof CHANGES)[number];

/**
 * A filesystem under test, by paths relative to its root ("" is the root). Each call returns its result or a
 * negative errno, as a program would see it.
 */
export interface FsUnderTest {
  /** lstat: attributes of the entry itself (a link is not followed). */
  stat(path: string): Promise<FsAttr | number>;
  /** The entries of a directory, "." and ".." left out. */
  list(path: string): Promise<FsEntry[] | number>;
  /** Up to `size` bytes at `offset` of a file (fewer at the end). */
  readAt(path: string, offset: number, size: number): Promise<Uint8Array | number>;
  readlink(path: string): Promise<string | number>;
  /** Opens a file with these open(2) flags (and closes it again): 0, or the negative errno. */
  open(path: string, flags: number): Promise<number>;
  /**
   * Asks for a change: `path` is the file or directory it applies to (for create, mkdir, symlink: the directory
   * the new entry would go into; rename and link make a new name beside `path`). 0, or the negative errno.
   */
  change(kind: Change, path: string): Promise<number>;
}

/** What the library under test holds, from its origin folder (not through the filesystem under test). */
export interface LibraryFacts {
  /** SHA-256 (hex) of every audio file of the origin. */
  trackHashes: string[];
}

export function libraryFacts(originDir: string): LibraryFacts {
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
  return { trackHashes: files(originDir).filter((f) => /\.(flac|mp3|m4a|ogg|opus|wav)$/i.test(f)).map((f) => sha(readFileSync(f))) };
}

export interface Rule {
  name: string;
  check(fs: FsUnderTest, lib: LibraryFacts): Promise<void>;
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const typeOf = (mode: number): EntryType => ((mode & S_IFMT) === S_IFDIR ? "dir" : (mode & S_IFMT) === S_IFLNK ? "link" : "file");

function ok<T>(what: string, v: T | number): T {
  if (typeof v === "number") throw new Error(`${what}: errno ${v}`);
  return v;
}

async function attr(fs: FsUnderTest, path: string): Promise<FsAttr> {
  return ok(`stat ${JSON.stringify(path)}`, await fs.stat(path));
}

async function list(fs: FsUnderTest, path: string): Promise<FsEntry[]> {
  return ok(`list ${JSON.stringify(path)}`, await fs.list(path));
}

/** Every entry below `path` (the tree: special folders are not listed, so not walked), with its path. */
async function walk(fs: FsUnderTest, path = ""): Promise<(FsEntry & { path: string })[]> {
  const out: (FsEntry & { path: string })[] = [];
  for (const e of await list(fs, path)) {
    const p = path ? `${path}/${e.name}` : e.name;
    out.push({ ...e, path: p });
    if (e.type === "dir") out.push(...(await walk(fs, p)));
  }
  return out;
}

async function tracks(fs: FsUnderTest): Promise<string[]> {
  return (await walk(fs)).filter((e) => e.type === "file" && !isCoverFile(e.path)).map((e) => e.path);
}

async function readWhole(fs: FsUnderTest, path: string): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (let off = 0; ; ) {
    const got = ok(`read ${path} at ${off}`, await fs.readAt(path, off, 128 * 1024));
    if (got.length === 0) break;
    parts.push(got);
    off += got.length;
  }
  return Buffer.concat(parts);
}

/** A word of a track's title, to ask /.search for. */
function searchWord(track: string): string {
  return posix.basename(track).replace(/\.[^.]+$/, "").split(/[^\p{L}\p{N}]+/u).filter((w) => w.length > 2).pop()!;
}

/** The links of a special folder resolve to tree files (relative to the link's folder). */
async function expectLinksToTreeFiles(fs: FsUnderTest, dir: string, atMost = 10): Promise<void> {
  const links = await list(fs, dir);
  expect(links.length).toBeGreaterThan(0);
  for (const link of links.slice(0, atMost)) {
    expect([link.name, link.type]).toEqual([link.name, "link"]);
    const target = ok(`readlink ${dir}/${link.name}`, await fs.readlink(`${dir}/${link.name}`));
    const treePath = posix.normalize(posix.join(dir, target));
    expect(treePath.startsWith(".")).toBe(false); // into the tree, not another special folder
    expect(typeOf((await attr(fs, treePath)).mode)).toBe("file");
  }
}

export const READ_ONLY_RULES: Rule[] = [
  {
    name: "the root is a directory; every entry a listing shows is found by name, with the type it was listed as",
    async check(fs) {
      expect((await attr(fs, "")).mode & S_IFMT).toBe(S_IFDIR);
      const entries = await walk(fs);
      expect(entries.length).toBeGreaterThan(0);
      for (const e of entries) expect([e.path, typeOf((await attr(fs, e.path)).mode)]).toEqual([e.path, e.type]);
    },
  },
  {
    name: "a name that is not there is ENOENT; a name below a file is ENOTDIR",
    async check(fs) {
      expect(await fs.stat("No Such Artist")).toBe(ENOENT);
      expect(await fs.list("No Such Artist")).toBe(ENOENT);
      const [track] = await tracks(fs);
      expect(await fs.stat(`${track}/x`)).toBe(ENOTDIR);
    },
  },
  {
    name: "every track reads back as the bytes of one origin file, each origin file once, as long as stat says",
    async check(fs, lib) {
      const paths = await tracks(fs);
      expect(paths.length).toBe(lib.trackHashes.length);
      const served: string[] = [];
      for (const p of paths) {
        const bytes = await readWhole(fs, p);
        expect([p, bytes.length]).toEqual([p, (await attr(fs, p)).size]);
        expect((await attr(fs, p)).mode & S_IFMT).toBe(S_IFREG);
        served.push(sha(bytes));
      }
      expect(served.sort()).toEqual([...lib.trackHashes].sort());
    },
  },
  {
    name: "a read at any offset gives the bytes at that offset; at or past the end, none",
    async check(fs) {
      const paths = await tracks(fs);
      const sizes = await Promise.all(paths.map(async (p) => (await attr(fs, p)).size));
      const biggest = paths[sizes.indexOf(Math.max(...sizes))]!;
      const whole = await readWhole(fs, biggest);
      for (const at of [1, 4095, 4096, Math.floor(whole.length / 2), whole.length - 7]) {
        const got = ok(`read at ${at}`, await fs.readAt(biggest, at, 5000));
        expect(Buffer.from(got).equals(Buffer.from(whole.subarray(at, at + 5000)))).toBe(true);
      }
      expect(ok("read at the end", await fs.readAt(biggest, whole.length, 100)).length).toBe(0);
      expect(ok("read past the end", await fs.readAt(biggest, whole.length + 4096, 100)).length).toBe(0);
    },
  },
  {
    name: "/.search and /.collections are not listed in the root, yet answer by name as directories",
    async check(fs) {
      const names = (await list(fs, "")).map((e) => e.name);
      expect(names).not.toContain(".search");
      expect(names).not.toContain(".collections");
      for (const special of [".search", ".collections"]) expect([special, typeOf((await attr(fs, special)).mode)]).toEqual([special, "dir"]);
    },
  },
  {
    name: "the links of a /.search/<word> folder and of the collections point at tree files",
    async check(fs) {
      const [track] = await tracks(fs);
      await expectLinksToTreeFiles(fs, `.search/${searchWord(track!)}`);
      const listed = await list(fs, ".collections");
      const names = listed.map((c) => c.name);
      expect(names).toContain("Recently Added");
      // Each collection's folder comes with its playlist file, `<name>.m3u8` (a regular file).
      const collections = listed.filter((c) => !c.name.endsWith(".m3u8"));
      for (const c of collections) expect(names).toContain(`${c.name}.m3u8`);
      for (const c of collections) if (((await fs.list(`.collections/${c.name}`)) as FsEntry[]).length) await expectLinksToTreeFiles(fs, `.collections/${c.name}`, 3);
    },
  },
  {
    name: "opening a file for writing is EROFS, however it is asked (O_WRONLY, O_RDWR, O_APPEND, O_TRUNC)",
    async check(fs) {
      const [track] = await tracks(fs);
      const O_WRONLY = 0o1, O_RDWR = 0o2, O_TRUNC = 0o1000, O_APPEND = 0o2000;
      for (const flags of [O_WRONLY, O_RDWR, O_WRONLY | O_APPEND, O_WRONLY | O_TRUNC, O_RDWR | O_TRUNC])
        expect([flags, await fs.open(track!, flags)]).toEqual([flags, EROFS]);
      expect(await fs.open(track!, 0)).toBe(0); // reading is fine
    },
  },
  {
    name: "every change (create, mkdir, unlink, rmdir, rename, symlink, link, chmod, chown, truncate, utimes) is EROFS and changes nothing",
    async check(fs) {
      const before = await walk(fs);
      const track = before.find((e) => e.type === "file" && !isCoverFile(e.path))!.path;
      const album = posix.dirname(track);
      const target: Record<Change, string> = {
        create: album, mkdir: album, symlink: album, unlink: track, rmdir: album, rename: track, link: track,
        chmod: track, chown: track, truncate: track, utimes: track,
      };
      for (const kind of CHANGES) expect([kind, await fs.change(kind, target[kind])]).toEqual([kind, EROFS]);
      expect(await walk(fs)).toEqual(before);
    },
  },
  {
    name: "inodes are stable: a path found twice has the same inode, and a directory lists the same names twice",
    async check(fs) {
      const entries = await walk(fs);
      for (const e of entries.slice(0, 50)) expect((await attr(fs, e.path)).ino).toBe((await attr(fs, e.path)).ino);
      expect(await walk(fs)).toEqual(entries);
      const inos = await Promise.all(entries.map(async (e) => (await attr(fs, e.path)).ino));
      expect(new Set(inos).size).toBe(inos.length); // no two entries of the tree share an inode
    },
  },
];
