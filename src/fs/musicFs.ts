import { join } from "node:path";
import { NodeReader, type FileLocation, type NodeRow } from "../db/nodeReader.ts";
import { NodeKind, ROOT_INO } from "../db/treeStore.ts";
import {
  Errno,
  type AttrReply,
  type Deferred,
  type DirEntry,
  type Entry,
  type FuseFilesystem,
  type OpenReply,
  type RequestContext,
  type StatFs,
} from "../fuse/filesystem.ts";
import type { FileId, OriginId } from "../core/types.ts";
import { asIno } from "../core/ids.ts";
import { fileContentId } from "../core/contentIds.ts";
import { originFsPath, type FsPath } from "../core/originPaths.ts";
import { entryOf, negativeEntry, nodeAttr, type Owner } from "./attributes.ts";
import { LocalFileHandles, openErrno } from "./localContent.ts";
import { OriginBackedReads } from "./originBackedReads.ts";
import { OriginStalls } from "./originStalls.ts";
import { CachedFileHandles, DATA_FD_BASE, OpenModes } from "./cachedContent.ts";
import { DataFileReader } from "../cas/dataFileReader.ts";
import { PLAYLISTS_ROOT_ENTRY, SpecialDirs, SPECIAL_ROOT_ENTRIES } from "./specialDirs.ts";
import type { MusicFsWorkerConfig } from "./workerConfig.ts";
import type { AccessMessage, DeferredCachedRead, DeferredOriginChange, HalfwayMessage, OriginReadMessage } from "./workerMessages.ts";
import { sameOriginVersion } from "../core/originVersion.ts";

/** Tree children fetched per readdir page; the session stops earlier when the kernel's buffer is full. */
const READDIR_PAGE = 512;

/**
 * The music filesystem as FUSE sees it, one instance per session worker. It answers from the worker's own
 * read-only SQLite connection and reads local origin files directly; requests that need the main thread (content
 * of cached origins that is not in the chunk store yet) are deferred.
 */
export class MusicFs implements FuseFilesystem {
  private readonly nodes: NodeReader;
  private readonly owner: Owner;
  /** `root` is "" for a remote origin (no local path: its files are always read through the cache). */
  private readonly originRoots: Map<OriginId, { root: string; cached: boolean; index: number }>;
  private readonly stalls: OriginStalls | null;
  private readonly handles = new LocalFileHandles();
  private readonly cached: CachedFileHandles;
  private readonly dataFiles: DataFileReader;
  private readonly openModes: OpenModes;
  private statfsCache: { at: number; value: StatFs } | null = null;
  private readonly special: SpecialDirs;

  constructor(private readonly config: MusicFsWorkerConfig) {
    this.nodes = new NodeReader(config.dbPath);
    this.owner = { uid: config.uid, gid: config.gid };
    this.originRoots = new Map(config.origins.map((o, index) => [o.id, { root: o.root, cached: o.cache === "full", index }]));
    this.stalls = config.originStalls ? new OriginStalls(config.originStalls) : null;
    this.cached = new CachedFileHandles(config.chunksDir);
    this.dataFiles = new DataFileReader(config.dataDir, join(config.chunksDir, "access.db"));
    this.openModes = new OpenModes(config.cachedOpenModes);
    this.special = new SpecialDirs(this.nodes, config.nameRegistry, config.collectionsDb, this.owner, config.startedAtMs, config.pinsDb ?? null);
  }

  private entry(n: NodeRow): Entry {
    return entryOf(nodeAttr(n, this.owner), this.config.entryTtlMs);
  }

  lookup(parent: number, name: string): Entry | number {
    if (SpecialDirs.owns(parent)) return this.special.lookup(parent, name);
    if (parent === ROOT_INO) {
      const special = SPECIAL_ROOT_ENTRIES.find((e) => e.name === name);
      if (special) return this.specialRootEntry(special.ino);
      if (this.config.playlistsFolder && name === PLAYLISTS_ROOT_ENTRY.name) return this.specialRootEntry(PLAYLISTS_ROOT_ENTRY.ino);
    }
    const n = this.nodes.child(asIno(parent), name);
    if (!n) {
      const dir = this.nodes.node(asIno(parent));
      if (!dir) return -Errno.ENOENT;
      if (dir.kind !== NodeKind.Dir) return -Errno.ENOTDIR;
      return negativeEntry(this.config.negativeTtlMs);
    }
    return this.entry(n);
  }

  private specialRootEntry(ino: number): Entry {
    const attr = this.special.getattr(ino);
    return { attr: attr as Exclude<typeof attr, number>, entryTtlMs: this.config.entryTtlMs, attrTtlMs: SpecialDirs.attrTtlMs(ino) };
  }

  getattr(ino: number): AttrReply | number {
    if (SpecialDirs.owns(ino)) {
      const attr = this.special.getattr(ino);
      return typeof attr === "number" ? attr : { attr, attrTtlMs: SpecialDirs.attrTtlMs(ino) };
    }
    const n = this.nodes.node(asIno(ino));
    if (!n) return -Errno.ENOENT;
    return { attr: nodeAttr(n, this.owner), attrTtlMs: this.config.attrTtlMs };
  }

  readdir(ino: number, afterCookie: number, maxEntries: number): DirEntry[] | number {
    if (SpecialDirs.owns(ino)) return this.special.readdir(ino, afterCookie, maxEntries);
    const out: DirEntry[] = [];
    let after = afterCookie;
    const listed = [...(this.config.specialDirs === "visible" ? SPECIAL_ROOT_ENTRIES : []), ...(this.config.playlistsFolder ? [PLAYLISTS_ROOT_ENTRY] : [])];
    if (ino === ROOT_INO && listed.length > 0) {
      // The special directories come first; their cookies are their (synthetic) inodes, above every tree inode.
      // Hidden (the default), they are only reachable by name (lookup above), like ZFS's `.zfs` with snapdir=hidden.
      const treeResumed = afterCookie !== 0 && !SpecialDirs.owns(afterCookie);
      for (const s of listed) {
        if (treeResumed || afterCookie >= s.ino) continue;
        if (out.length < maxEntries) out.push({ name: s.name, cookie: s.ino, entry: this.specialRootEntry(s.ino) });
      }
      if (SpecialDirs.owns(afterCookie)) after = 0;
    }
    const rows = this.nodes.children(asIno(ino), asIno(after), Math.min(maxEntries - out.length, READDIR_PAGE));
    for (const n of rows) {
      // `/Playlists` (when asked for) stands in for a tree folder of that name, which lookup no longer reaches.
      if (ino === ROOT_INO && this.config.playlistsFolder && n.name === PLAYLISTS_ROOT_ENTRY.name) continue;
      out.push({ name: n.name, cookie: n.ino, entry: this.entry(n) });
    }
    // One statement per READDIR in a walk: every statement is its own read transaction, whose locking costs more
    // than the lookup itself (~10 µs of CPU). So the directory is looked up only when it lists nothing from its
    // start; an empty page further on is the end of the listing (also when it was removed meanwhile).
    if (out.length === 0 && afterCookie === 0) {
      const dir = this.nodes.node(asIno(ino));
      if (!dir) return -Errno.ENOENT;
      if (dir.kind !== NodeKind.Dir) return -Errno.ENOTDIR;
    }
    return out;
  }

  readlink(ino: number): string | number {
    return SpecialDirs.owns(ino) ? this.special.readlink(ino) : -Errno.EINVAL;
  }

  /** Where a file node's bytes come from, or an errno. */
  private locate(ino: number): { abs: FsPath; cached: boolean; fileId: FileId; loc: FileLocation } | number {
    const n = this.nodes.node(asIno(ino));
    if (!n) return -Errno.ENOENT;
    if (n.kind === NodeKind.Dir || n.fileId === null) return -Errno.EISDIR;
    const loc = this.nodes.fileLocation(n.fileId);
    if (!loc) return -Errno.ENOENT;
    const origin = this.originRoots.get(loc.originId);
    if (!origin) return -Errno.EIO; // an origin no longer configured: its files stay listed until sync removes them
    return { abs: originFsPath(origin.root, loc.realPath), cached: origin.cached, fileId: loc.fileId, loc };
  }

  open(ino: number, _flags: number, ctx: RequestContext): OpenReply | number | Deferred {
    // A playlist file (`/.collections/<name>.m3u8`): direct I/O, so a reader gets the bytes of the read's moment
    // whatever size the kernel remembers.
    if (SpecialDirs.owns(ino)) return this.special.isFile(ino) ? { fh: 0 } : -Errno.EISDIR;
    // A cover file holds no handle: each READ finds its bytes from the album's cover row (a few per cover).
    if (this.nodes.node(asIno(ino))?.kind === NodeKind.Cover) return { fh: 0, keepCache: true };
    const where = this.locate(ino);
    if (typeof where === "number") return where;
    ctx.post({ type: "access", fileId: where.fileId, offset: 0, size: 0, atMs: Date.now() } satisfies AccessMessage);
    if (where.cached) return this.openCached(ino, where.loc, ctx, this.originRoots.get(where.loc.originId)?.root ? where.abs : null);
    let fd: number;
    try {
      fd = this.handles.openFile(where.abs);
    } catch (e) {
      return openErrno(e);
    }
    // The origin file may have changed behind the mount (no --watch, or not synced yet): the tree's size would then
    // be wrong and a reader would get a short or long file without an error. One fstat of the fd we hold tells.
    const found = this.handles.version(fd);
    if (found === undefined) {
      this.handles.close(fd);
      return -Errno.EIO;
    }
    if (!sameOriginVersion(found, where.loc)) {
      const { fileId, originId, realPath } = where.loc;
      return { defer: { type: "originChanged", ino: asIno(ino), fileId, originId, realPath, fd, stored: { size: where.loc.size, mtimeMs: where.loc.mtimeMs }, found } satisfies DeferredOriginChange };
    }
    return LocalFileHandles.openReply(fd);
  }

  /**
   * A file of a cached origin. Complete (its data file exists): served like a local file, by passthrough (the
   * kernel reads the data file; we never see a READ) or, where an open of the inode already reads through the page
   * cache or passthrough is unavailable, by pread of the data file in this worker. Not complete: a cached handle,
   * whose READs come from the data file once it appears, else the chunk store, else the main thread's fetcher.
   * Not complete, of a local origin (`originPath`) whose file is reachable and unchanged: read from the origin file
   * by this worker (originBackedReads.ts), the copy into the cache made beside the reads.
   */
  private openCached(ino: number, loc: FileLocation, ctx: RequestContext, originPath: FsPath | null): OpenReply {
    const ref = { fileId: fileContentId(loc.fileId), size: loc.size, mtimeMs: loc.mtimeMs };
    const fd = this.dataFiles.open(ref);
    if (fd === null) {
      this.openModes.opened(ino);
      // Only a file never cached: one with a manifest (its data file damaged and removed, or its chunks partly
      // evicted) is read through the cache, which repairs what it lacks against that manifest.
      // Nor while the origin is stalled (originStalls.ts): the cache's path has time-bounded origin calls.
      const origin = this.originIndex(loc.originId);
      const backed = originPath === null || this.nodes.currentManifest(loc.fileId) !== null || this.stalls?.stalled(origin)
        ? null
        : this.onOrigin(origin, () => OriginBackedReads.open(this.handles, originPath, loc));
      if (backed !== null) {
        ctx.post({ type: "open", owner: String(backed), fileId: ref.fileId });
        // Direct I/O as below: the READs are the program's own, so the playback detection sees a scanner's reads
        // as what they are (kernel readahead would make a few KiB look like the start of playback).
        return { fh: backed, keepCache: true, directIoIfMmap: true };
      }
      // A file not cached yet is opened without the kernel's readahead (direct I/O): a scanner's READs are then its
      // own reads, not up to 1 MiB more per read from the origin (ffprobe -show_format fetched 4.2× what it read).
      // The fetcher reads ahead itself for sequential readers (readAheadWindow.ts). Cached files keep the page cache.
      const complete = this.cached.isComplete(ref, () => this.nodes.currentManifest(loc.fileId));
      return { fh: this.cached.open(loc, ctx), keepCache: true, directIoIfMmap: !complete };
    }
    ctx.post({ type: "open", owner: dataFileOwner(ino, fd), fileId: fileContentId(loc.fileId) });
    if (this.openModes.nonPassthroughOpen(ino)) {
      this.openModes.opened(ino);
      return { fh: DATA_FD_BASE + fd, keepCache: true };
    }
    return { fh: fd, keepCache: true, passthroughFd: fd };
  }

  read(ino: number, fh: number, offset: number, size: number, out: Uint8Array, ctx: RequestContext): number | Deferred {
    // A local-origin handle is an fd of this process, valid in every worker (they share the fd table); so is a data
    // file's (with or without DATA_FD_BASE added).
    if (OriginBackedReads.owns(fh)) return this.readOriginBacked(ino, fh, offset, size, out, ctx);
    if (fh >= DATA_FD_BASE) return this.handles.read(fh - DATA_FD_BASE, offset, size, out);
    if (fh !== 0 && !CachedFileHandles.owns(fh)) return this.handles.read(fh, offset, size, out);
    if (SpecialDirs.owns(ino)) return this.special.read(ino, offset, size, out);
    // Hot path for cached files: one tree-row lookup; the manifest is loaded only when this worker has no view.
    const n = this.nodes.nodeOfRead(asIno(ino));
    if (!n) return -Errno.ENOENT;
    if (n.kind === NodeKind.Cover) return this.readCover(n, offset, size, out, ctx);
    if (n.kind === NodeKind.Dir || n.fileId === null) return -Errno.EISDIR;
    const origin = n.originId === null ? undefined : this.originRoots.get(n.originId);
    if (!origin?.cached) {
      const where = this.locate(ino);
      return typeof where === "number" ? where : LocalFileHandles.readOnce(where.abs, offset, size, out);
    }
    const half = Math.floor(n.size / 2);
    if (offset <= half && offset + size > half) ctx.post({ type: "halfway", fileId: n.fileId } satisfies HalfwayMessage);
    return this.readCachedFile(n.fileId, n.size, n.mtimeMs, offset, size, out, ctx);
  }

  /** A READ of a cached origin's file from the cache: its data file, its chunks, else the main thread's fetcher. */
  private readCachedFile(stored: FileId, fileSize: number, mtimeMs: number, offset: number, size: number, out: Uint8Array, ctx: RequestContext): number | Deferred {
    const fileId = fileContentId(stored);
    const n = { size: fileSize, mtimeMs };
    const whole = this.dataFiles.read({ fileId, size: n.size, mtimeMs: n.mtimeMs }, offset, size, out);
    if (whole !== null) return whole;
    const got = this.cached.read({ fileId, size: n.size, mtimeMs: n.mtimeMs }, () => this.nodes.currentManifest(stored), offset, size, out, ctx)
      // Not complete: what a fetch already wrote into the partial data file is answered here too.
      ?? this.dataFiles.readPresent({ fileId, size: n.size, mtimeMs: n.mtimeMs }, offset, size, out);
    return got ?? { defer: { fileId, offset, size } satisfies DeferredCachedRead };
  }

  /**
   * A READ of an origin-backed open (originBackedReads.ts): a pread of the origin file. The reads at the file's start
   * go to the fetcher's playback detection, the one crossing its middle to the listening patterns (as any cached
   * read). An origin that fails now (a NAS gone offline mid-play) leaves the READ to the cache, like any READ of a
   * file not cached whole.
   */
  private readOriginBacked(ino: number, fh: number, offset: number, size: number, out: Uint8Array, ctx: RequestContext): number | Deferred {
    const n = this.nodes.nodeOfRead(asIno(ino));
    // Gone from the tree meanwhile (a sync removed it): the open handle reads on, as a local origin's does.
    if (!n || n.fileId === null) return this.handles.read(OriginBackedReads.fdOf(fh), offset, size, out);
    const origin = this.originIndex(n.originId);
    if (this.stalls?.stalled(origin)) return this.readCachedFile(n.fileId, n.size, n.mtimeMs, offset, size, out, ctx);
    const got = this.onOrigin(origin, () => this.handles.read(OriginBackedReads.fdOf(fh), offset, size, out));
    if (got < 0) return this.readCachedFile(n.fileId, n.size, n.mtimeMs, offset, size, out, ctx);
    const fileId = fileContentId(n.fileId);
    if (OriginBackedReads.reported(offset)) ctx.post({ type: "originRead", fileId, offset, size: got } satisfies OriginReadMessage);
    const half = Math.floor(n.size / 2);
    if (offset <= half && offset + size > half) ctx.post({ type: "halfway", fileId: n.fileId } satisfies HalfwayMessage);
    return got;
  }

  /** The origin's number in the session's config order (originStalls.ts), -1 for none. */
  private originIndex(id: OriginId | null): number {
    return id === null ? -1 : (this.originRoots.get(id)?.index ?? -1);
  }

  /** A synchronous call on origin number `origin`, noted while it runs (originStalls.ts). */
  private onOrigin<T>(origin: number, call: () => T): T {
    return this.stalls ? this.stalls.during(origin, call) : call();
  }

  /**
   * An album cover's bytes: `length` bytes at `offset` of its source (a folder image, or the picture inside a
   * track). Local origins: a pread of the source; cached origins: the chunk store, or the main thread's fetcher
   * (range blocks of the track, or the folder image fetched into the store) like any cached read.
   */
  private readCover(n: NodeRow, offset: number, size: number, out: Uint8Array, ctx: RequestContext): number | Deferred {
    const loc = n.albumId === null ? null : this.nodes.coverLocation(n.albumId);
    if (!loc) return -Errno.ENOENT;
    const length = Math.max(0, Math.min(size, loc.length - offset));
    if (length === 0) return 0;
    const origin = this.originRoots.get(loc.originId);
    if (!origin) return -Errno.EIO;
    if (!origin.cached) return LocalFileHandles.readOnce(originFsPath(origin.root, loc.realPath), loc.offset + offset, length, out, loc);
    const source = { fileId: loc.contentId, size: loc.size, mtimeMs: loc.mtimeMs };
    const whole = this.dataFiles.read(source, loc.offset + offset, length, out);
    if (whole !== null) return whole;
    const got = this.cached.read(source, () => this.nodes.contentManifest(loc.contentId), loc.offset + offset, length, out, ctx);
    return got ?? { defer: { fileId: loc.contentId, offset: loc.offset + offset, size: length } satisfies DeferredCachedRead };
  }

  /**
   * The owners of origin-backed and data-file opens are made of their fd: the RELEASE is posted before the fd is
   * closed, so that an open given the same number next (in another worker) posts its "open" after this "release"
   * and the main thread never takes one for the other (that open's copy stopped, its pin let go).
   */
  release(ino: number, fh: number, ctx: RequestContext): void {
    if (CachedFileHandles.owns(fh)) {
      this.openModes.released(ino);
      this.cached.release(fh, ctx);
    } else if (OriginBackedReads.owns(fh)) {
      this.openModes.released(ino);
      ctx.post({ type: "release", owner: String(fh) });
      this.handles.close(OriginBackedReads.fdOf(fh));
    } else if (fh >= DATA_FD_BASE) {
      this.openModes.released(ino);
      ctx.post({ type: "release", owner: dataFileOwner(ino, fh - DATA_FD_BASE) });
      this.handles.close(fh - DATA_FD_BASE);
    } else if (fh !== 0) {
      // A data file's fd (a cached origin's file) was pinned against eviction at open: unpin it.
      const n = this.nodes.node(asIno(ino));
      if (n?.originId && this.originRoots.get(n.originId)?.cached) ctx.post({ type: "release", owner: dataFileOwner(ino, fh) });
      this.handles.close(fh);
    }
  }

  statfs(): StatFs {
    const now = Date.now();
    if (!this.statfsCache || now - this.statfsCache.at > 10_000) {
      const { files, bytes } = this.nodes.libraryTotals();
      const bsize = 4096;
      this.statfsCache = {
        at: now,
        value: { blocks: Math.ceil(bytes / bsize), bfree: 0, bavail: 0, files, ffree: 0, bsize, namelen: 255, frsize: bsize },
      };
    }
    return this.statfsCache.value;
  }
}


/** The owner of an open data file's eviction pin (unique while the fd is open). */
function dataFileOwner(ino: number, fd: number): string {
  return `data:${ino}:${fd}`;
}
