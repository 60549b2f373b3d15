import { existsSync, statSync } from "node:fs";
import { Lru } from "../core/lru.ts";
import type { FileId } from "../core/ids.ts";
import { S_IFLNK, Errno, type Attr, type DirEntry, type Entry } from "../fuse/filesystem.ts";
import type { NodeReader } from "../db/nodeReader.ts";
import { CollectionCatalog } from "../search/collectionCatalog.ts";
import { CollectionStore } from "../search/collectionStore.ts";
import { PLAYLIST_SUFFIX, playlistText, SEARCH_DIR_MAX_RESULTS, searchLookupErrno, symlinkEntries, type SymlinkEntry } from "../search/searchDirEntries.ts";
import { SearchIndex } from "../search/searchIndex.ts";
import { MAX_QUERY_BYTES } from "../search/queryParser.ts";
import { dirAttr, entryOf, FILE_MODE, type Owner } from "./attributes.ts";
import { COLLECTIONS_DIR_INO, PLAYLISTS_DIR_INO, SEARCH_DIR_INO, SPECIAL_BASE } from "./inodes.ts";
import { NameRegistry, SLOTS } from "./nameRegistry.ts";
import { PinStore } from "../db/pinStore.ts";

/** The pin set's playlist in `/.collections` (a saved collection named "Pinned" takes its place). */
const PINNED = "Pinned";
const PINNED_KEY = "pins:";

/** How long the kernel and each worker keep a query's results: a search dir is a snapshot, refreshed after this. */
export const SPECIAL_TTL_MS = 60_000;
/** Result symlinks per directory; their inodes are the directory's inode + rank. */
const RANK_SPAN = 1024;
const QUERY_DIRS = SPECIAL_BASE + 2 ** 40;
const COLLECTION_DIRS = SPECIAL_BASE + 2 ** 41;
/** `/.collections/<name>.m3u8`: one inode per registry slot (rank 0 only). */
const PLAYLIST_FILES = SPECIAL_BASE + 2 ** 42;
const RESULT_CACHE_ENTRIES = 256;

type Kind = "search" | "collection";
interface Resolved {
  at: number;
  entries: SymlinkEntry[];
  /** The same tracks as an .m3u8 playlist (collections only). */
  playlist: Uint8Array | null;
}

export const SPECIAL_ROOT_ENTRIES = [
  { name: ".search", ino: SEARCH_DIR_INO },
  { name: ".collections", ino: COLLECTIONS_DIR_INO },
] as const;

/** The visible playlists folder at the root (only with `playlists_folder = true`). */
export const PLAYLISTS_ROOT_ENTRY = { name: "Playlists", ino: PLAYLISTS_DIR_INO } as const;

/**
 * `/.search/<query>/` and `/.collections/<name>/`: directories of relative symlinks to tracks in the tree, in rank
 * order. Synthesised on demand in each worker from its read-only connection; inodes map back to their query
 * through the shared NameRegistry.
 */
export class SpecialDirs {
  private readonly registry: NameRegistry;
  private readonly search: SearchIndex;
  private catalog: CollectionCatalog | null = null;
  private readonly cache = new Lru<string, Resolved>(RESULT_CACHE_ENTRIES);
  /** The pin set's playlist as last read, with the pins.db state it was read from. */
  private pinned: { at: number; version: number; bytes: Uint8Array | null } | null = null;

  constructor(
    private readonly nodes: NodeReader,
    registryBuffer: SharedArrayBuffer,
    private readonly collectionsDb: string,
    private readonly owner: Owner,
    private readonly startedAt: number,
    /** pins.db: `/.collections/Pinned.m3u8` lists every pinned file (optional: tests without pins). */
    private readonly pinsDb: string | null = null,
  ) {
    this.registry = new NameRegistry(registryBuffer);
    this.search = new SearchIndex(nodes.connection);
  }

  private collections(): CollectionCatalog | null {
    if (!this.catalog && existsSync(this.collectionsDb)) {
      this.catalog = new CollectionCatalog({
        index: this.search,
        store: CollectionStore.open(this.collectionsDb, { readonly: true }),
        recentlyAdded: (since, limit) => this.nodes.recentlyAdded(since, limit),
      });
    }
    return this.catalog;
  }

  static owns(ino: number): boolean {
    return ino >= SPECIAL_BASE;
  }

  /**
   * A query or collection directory (or one of its links) shares its inode number with every other key of the same
   * registry slot; the slot's generation tells them apart. The kernel keys its inodes by number, but a LOOKUP reply
   * with another generation makes it drop the old inode (fuse_iget: a stale inode is marked bad), so a dentry still
   * cached for the old query is looked up again instead of listing the new query's results.
   */
  private dirEntry(dir: { ino: number; generation: number }): Entry {
    return { ...entryOf(this.specialDirAttr(dir.ino), SPECIAL_TTL_MS), generation: dir.generation };
  }

  private linkEntry(ino: number, target: string, generation: number): Entry {
    return { ...entryOf(this.linkAttr(ino, target), SPECIAL_TTL_MS), generation };
  }

  /**
   * Directory times drive the kernel's cached listings (a changed mtime drops them): `.collections` changes when
   * collections.db does; a result directory is a snapshot renewed every SPECIAL_TTL_MS.
   */
  private specialDirAttr(ino: number): Attr {
    let mtime = this.startedAt;
    if (ino === COLLECTIONS_DIR_INO || ino === PLAYLISTS_DIR_INO) {
      // Collections and the pin set's playlist are listed here: either changing drops the kernel's listing.
      mtime = Math.max(mtime, dbFilesMtime(this.collectionsDb), this.pinsDb ? dbFilesMtime(this.pinsDb) : 0);
    } else if (ino !== SEARCH_DIR_INO) mtime = Math.floor(Date.now() / SPECIAL_TTL_MS) * SPECIAL_TTL_MS;
    return dirAttr(ino, mtime, this.owner);
  }

  /** How long the kernel may keep the attributes of a special inode. */
  static attrTtlMs(ino: number): number {
    return ino === COLLECTIONS_DIR_INO || ino === PLAYLISTS_DIR_INO ? 1000 : SPECIAL_TTL_MS;
  }

  private linkAttr(ino: number, target: string): Attr {
    return { ino, size: Buffer.byteLength(target), mode: S_IFLNK | 0o777, nlink: 1, mtimeMs: this.startedAt, uid: this.owner.uid, gid: this.owner.gid };
  }

  /** Inode and generation of a query/collection directory for `key`. */
  private dirIno(kind: Kind, key: string): { ino: number; generation: number } {
    const { slot, generation } = this.registry.register(`${kind}:${key}`);
    return { ino: (kind === "search" ? QUERY_DIRS : COLLECTION_DIRS) + slot * RANK_SPAN, generation };
  }

  /** Inode and generation of a collection's playlist file (the collection's own slot: one registration for both). */
  private playlistIno(name: string): { ino: number; generation: number } {
    const { slot, generation } = this.registry.register(`collection:${name}`);
    return { ino: PLAYLIST_FILES + slot * RANK_SPAN, generation };
  }

  private playlistEntry(name: string, playlist: Uint8Array): Entry {
    const f = this.playlistIno(name);
    return { ...entryOf(this.playlistAttr(f.ino, playlist), SPECIAL_TTL_MS), generation: f.generation };
  }

  private playlistAttr(ino: number, playlist: Uint8Array): Attr {
    return { ino, size: playlist.length, mode: FILE_MODE, nlink: 1, mtimeMs: Math.floor(Date.now() / SPECIAL_TTL_MS) * SPECIAL_TTL_MS, uid: this.owner.uid, gid: this.owner.gid };
  }

  /** The collection whose playlist file `ino` is (PINNED_KEY: the pin set's), as its slot holds it now. */
  private playlistOf(ino: number): string | null {
    const off = ino - PLAYLIST_FILES;
    if (off < 0 || off >= SLOTS * RANK_SPAN || off % RANK_SPAN !== 0) return null;
    const stored = this.registry.lookup(off / RANK_SPAN);
    if (stored?.key === PINNED_KEY) return PINNED_KEY;
    return stored?.key.startsWith("collection:") ? stored.key.slice("collection:".length) : null;
  }

  /** The bytes of a playlist file, or an errno. */
  private playlistBytes(ino: number): Uint8Array | number {
    const name = this.playlistOf(ino);
    if (name === null) return -Errno.ENOENT;
    if (name === PINNED_KEY) return this.pinnedPlaylist() ?? -Errno.ENOENT;
    const r = this.resolveAll("collection", name);
    return typeof r === "number" ? r : r.playlist!;
  }

  /**
   * Every pinned file as a playlist (null: nothing pinned), read again whenever pins.db changed (a pin or unpin shows
   * at once) and at least every SPECIAL_TTL_MS (tree paths change with syncs).
   */
  private pinnedPlaylist(): Uint8Array | null {
    if (!this.pinsDb) return null;
    const version = dbFilesMtime(this.pinsDb);
    const hit = this.pinned;
    const now = Date.now();
    if (hit && hit.version === version && now - hit.at < SPECIAL_TTL_MS) return hit.bytes;
    const ids = PinStore.readPinnedFiles(this.pinsDb);
    const bytes = ids.length === 0 ? null : new TextEncoder().encode(playlistText(this.nodes.tracks(ids)));
    this.pinned = { at: now, version, bytes };
    return bytes;
  }

  private pinnedEntry(bytes: Uint8Array): Entry {
    const { slot, generation } = this.registry.register(PINNED_KEY);
    const ino = PLAYLIST_FILES + slot * RANK_SPAN;
    return { ...entryOf(this.playlistAttr(ino, bytes), SPECIAL_TTL_MS), generation };
  }

  /** A playlist file is read whole from its snapshot (the same one its size came from, within SPECIAL_TTL_MS). */
  read(ino: number, offset: number, size: number, out: Uint8Array): number {
    const bytes = this.playlistBytes(ino);
    if (typeof bytes === "number") return bytes;
    const piece = bytes.subarray(Math.min(offset, bytes.length), Math.min(offset + size, bytes.length));
    out.set(piece);
    return piece.length;
  }

  /** A collection whose own name ends in .m3u8 is a folder, not a playlist. */
  private isCollectionDirName(name: string): boolean {
    return this.collections()?.get(name) != null;
  }

  /** Whether `ino` is a special regular file (a playlist) that may be opened for reading. */
  isFile(ino: number): boolean {
    return this.playlistOf(ino) !== null;
  }

  /** Which directory (and which result in it) an inode is, as its slot holds it now. */
  private decode(ino: number): { kind: Kind; key: string; dir: number; rank: number; generation: number } | null {
    for (const [kind, base] of [["search", QUERY_DIRS], ["collection", COLLECTION_DIRS]] as const) {
      const off = ino - base;
      if (off < 0 || off >= SLOTS * RANK_SPAN) continue;
      const slot = Math.floor(off / RANK_SPAN);
      const stored = this.registry.lookup(slot);
      const prefix = `${kind}:`;
      if (!stored?.key.startsWith(prefix)) return null;
      return { kind, key: stored.key.slice(prefix.length), dir: base + slot * RANK_SPAN, rank: off % RANK_SPAN, generation: stored.generation };
    }
    return null;
  }

  /** The result symlinks of a directory, or an errno (EINVAL for a bad query, ENOENT for an unknown collection). */
  private resolve(kind: Kind, key: string): SymlinkEntry[] | number {
    const r = this.resolveAll(kind, key);
    return typeof r === "number" ? r : r.entries;
  }

  private resolveAll(kind: Kind, key: string): Resolved | number {
    const cacheKey = `${kind}:${key}`;
    const hit = this.cache.get(cacheKey);
    const now = Date.now();
    if (hit && now - hit.at < SPECIAL_TTL_MS) return hit;
    let ids: FileId[];
    try {
      if (kind === "search") ids = this.search.search(key, { limit: SEARCH_DIR_MAX_RESULTS }).results.map((r) => r.fileId);
      else {
        const r = this.collections()?.resolve(key, SEARCH_DIR_MAX_RESULTS) ?? null;
        if (r === null) return -Errno.ENOENT;
        ids = r;
      }
    } catch (e) {
      const errno = searchLookupErrno(e);
      if (errno === null) throw e;
      return -Errno[errno];
    }
    const tracks = this.nodes.tracks(ids);
    const resolved = { at: now, entries: symlinkEntries(tracks), playlist: kind === "collection" ? new TextEncoder().encode(playlistText(tracks)) : null };
    this.cache.set(cacheKey, resolved);
    return resolved;
  }

  lookup(parent: number, name: string): Entry | number {
    // `/Playlists` holds the playlist files of /.collections, and nothing else.
    if (parent === PLAYLISTS_DIR_INO) return name.endsWith(PLAYLIST_SUFFIX) && !this.isCollectionDirName(name) ? this.lookup(COLLECTIONS_DIR_INO, name) : -Errno.ENOENT;
    if (parent === SEARCH_DIR_INO || parent === COLLECTIONS_DIR_INO) {
      const kind: Kind = parent === SEARCH_DIR_INO ? "search" : "collection";
      if (Buffer.byteLength(name) > MAX_QUERY_BYTES) return -Errno.ENAMETOOLONG;
      const entries = this.resolve(kind, name);
      if (entries === -Errno.ENOENT && kind === "collection" && name.endsWith(PLAYLIST_SUFFIX)) {
        const collection = name.slice(0, -PLAYLIST_SUFFIX.length);
        const r = this.resolveAll("collection", collection);
        if (r === -Errno.ENOENT && collection === PINNED) {
          const pinned = this.pinnedPlaylist();
          return pinned ? this.pinnedEntry(pinned) : -Errno.ENOENT;
        }
        return typeof r === "number" ? r : this.playlistEntry(collection, r.playlist!);
      }
      if (typeof entries === "number") return entries;
      return this.dirEntry(this.dirIno(kind, name));
    }
    const d = this.decode(parent);
    if (!d || d.rank !== 0) return -Errno.ENOENT;
    const entries = this.resolve(d.kind, d.key);
    if (typeof entries === "number") return entries;
    const i = entries.findIndex((e) => e.name === name);
    if (i < 0) return -Errno.ENOENT;
    return this.linkEntry(d.dir + i + 1, entries[i].target, d.generation);
  }

  getattr(ino: number): Attr | number {
    if (ino === SEARCH_DIR_INO || ino === COLLECTIONS_DIR_INO || ino === PLAYLISTS_DIR_INO) return this.specialDirAttr(ino);
    if (this.isFile(ino)) {
      const bytes = this.playlistBytes(ino);
      return typeof bytes === "number" ? bytes : this.playlistAttr(ino, bytes);
    }
    const d = this.decode(ino);
    if (!d) return -Errno.ENOENT;
    if (d.rank === 0) return this.specialDirAttr(ino);
    const entries = this.resolve(d.kind, d.key);
    if (typeof entries === "number") return entries;
    const e = entries[d.rank - 1];
    return e ? this.linkAttr(ino, e.target) : -Errno.ENOENT;
  }

  readdir(ino: number, afterCookie: number, maxEntries: number): DirEntry[] | number {
    if (ino === SEARCH_DIR_INO) return []; // any query can be looked up; none is listed
    if (this.isFile(ino)) return -Errno.ENOTDIR;
    if (ino === PLAYLISTS_DIR_INO) {
      // The playlist files of /.collections (its even cookies, and the pin set's last), under the same cookies.
      const all = this.readdir(COLLECTIONS_DIR_INO, afterCookie, Number.MAX_SAFE_INTEGER);
      if (typeof all === "number") return all;
      return all.filter((e) => e.name.endsWith(PLAYLIST_SUFFIX) && !this.isCollectionDirName(e.name)).slice(0, maxEntries);
    }
    if (ino === COLLECTIONS_DIR_INO) {
      // Each collection's folder, then its playlist file (cookies 2i+1, 2i+2). A playlist is listed by name only
      // (its size comes with the LOOKUP that opens it): a listing resolves no collection.
      const names = this.collections()?.list().map((c) => c.name) ?? [];
      const out: DirEntry[] = [];
      for (let i = 0; i < names.length && out.length < maxEntries; i++) {
        const name = names[i]!;
        if (2 * i + 1 > afterCookie) out.push({ name, cookie: 2 * i + 1, entry: this.dirEntry(this.dirIno("collection", name)) });
        if (2 * i + 2 > afterCookie && out.length < maxEntries) {
          const f = this.playlistIno(name);
          out.push({ name: `${name}${PLAYLIST_SUFFIX}`, cookie: 2 * i + 2, entry: { ...entryOf(this.playlistAttr(f.ino, new Uint8Array(0)), 0), generation: f.generation } });
        }
      }
      // Then the pin set's playlist, when something is pinned and no collection is named so.
      const pinnedCookie = 2 * names.length + 1;
      if (pinnedCookie > afterCookie && out.length < maxEntries && !names.includes(PINNED)) {
        const pinned = this.pinnedPlaylist();
        if (pinned) out.push({ name: `${PINNED}${PLAYLIST_SUFFIX}`, cookie: pinnedCookie, entry: { ...this.pinnedEntry(pinned), entryTtlMs: 0, attrTtlMs: 0 } });
      }
      return out;
    }
    const d = this.decode(ino);
    if (!d || d.rank !== 0) return -Errno.ENOENT;
    const entries = this.resolve(d.kind, d.key);
    if (typeof entries === "number") return entries;
    const out: DirEntry[] = [];
    for (let i = afterCookie; i < entries.length && out.length < maxEntries; i++) {
      out.push({ name: entries[i].name, cookie: i + 1, entry: this.linkEntry(d.dir + i + 1, entries[i].target, d.generation) });
    }
    return out;
  }

  readlink(ino: number): string | number {
    const d = this.decode(ino);
    if (!d || d.rank === 0) return -Errno.EINVAL;
    const entries = this.resolve(d.kind, d.key);
    if (typeof entries === "number") return entries;
    return entries[d.rank - 1]?.target ?? -Errno.ENOENT;
  }
}

/** The newest mtime of an SQLite database in WAL mode (a change lands in -wal first, in the main file at a checkpoint); 0 when absent. */
function dbFilesMtime(path: string): number {
  let mtime = 0;
  for (const f of [path, `${path}-wal`]) {
    try {
      mtime = Math.max(mtime, statSync(f).mtimeMs);
    } catch {
      /* not created yet */
    }
  }
  return mtime;
}
