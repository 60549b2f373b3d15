import { closeSync, openSync } from "node:fs";
import { errorMessage } from "../../core/errors.ts";
import type { FsPath } from "../../core/originPaths.ts";
import { readFullySync } from "../../core/readFully.ts";
import { log } from "../../core/logger.ts";
import type { AlbumId, Ino, OriginId } from "../../core/types.ts";
import { CoverStore, type AlbumCover, type StoredFolderImage, type TrackPicture } from "../../db/coverStore.ts";
import type { Database } from "../../db/database.ts";
import type { EntryChange, TreeStore } from "../../db/treeStore.ts";
import { chooseCover } from "../../library/coverChoice.ts";
import { imageExtension, sniffImageType, SNIFF_BYTES, type ImageType } from "../../library/coverLocator.ts";
import { dirOf, sameContent } from "../../library/deltaClassify.ts";
import type { Origin, OriginEntry } from "../../origins/origin.ts";
import type { OriginFolder } from "../../library/albums.ts";

/** Entry changes of cover nodes, for the kernel (same shape as a placement's). */
export interface CoverChanges {
  added: EntryChange[];
  removed: EntryChange[];
}

/** Images sniffed at once (each is a small read of the image's first bytes). */
const SNIFFS_IN_FLIGHT = 32;
const META_KEY = "cover_name";

/**
 * Cover art of albums (docs/templates.md, "Cover files"): keeps the folder images the walks find, each album's chosen
 * cover (album_covers) and the cover node in each album folder in step with the files. The rule is
 * library/coverChoice.ts; the bytes stay where they are (origin image or a byte range of a track).
 *
 * Cover nodes go into the folders an album claimed (TreeStore.claimDir: nodes.album_id), so any tree whose album
 * folders claim their album (the main tree, a view) gets cover nodes from refresh; ensureCoverNode puts the cover of
 * one album into one folder for a builder that places it itself.
 */
export class CoverIndex {
  readonly store: CoverStore;

  constructor(
    private readonly db: Database,
    private readonly tree: TreeStore,
    /** The cover file's name without extension; null: no cover files. */
    private readonly coverName: string | null,
  ) {
    this.store = new CoverStore(db);
  }

  /**
   * Brings the stored folder images of one origin in step with what a walk found: all of the origin, or only below
   * `scope` (a watcher's sync). New and changed images are sniffed (their first bytes decide their type) before
   * anything is written. Returns the origin folders whose images changed. `allowRemovals` false (parts of the
   * origin could not be listed, or it looks offline): images not seen are kept.
   */
  async recordImages(origin: Origin, walked: readonly OriginEntry[], scope?: readonly string[], allowRemovals = true): Promise<OriginFolder[]> {
    const stored = new Map<string, StoredFolderImage>();
    for (const prefix of scope ?? [""]) for (const image of this.store.imagesOfOrigin(origin.id, prefix)) stored.set(image.realPath, image);
    const changed: OriginEntry[] = [];
    for (const entry of walked) {
      const known = stored.get(entry.realPath);
      stored.delete(entry.realPath);
      if (!known || !sameContent(known, entry.size, entry.mtimeMs, entry.etag)) changed.push(entry);
    }
    const types = new Map<string, ImageType | null>();
    // A local origin's images are read synchronously: a first scan sniffs one per album folder, and an awaited read
    // costs three thread-pool round trips (open, read, close) where a direct one costs microseconds.
    const local = origin.localPath?.bind(origin);
    for (const entry of local ? changed : []) {
      try {
        types.set(entry.realPath, sniffImageType(readHead(local!(entry.realPath))));
      } catch (e) {
        log.debug(`cannot read the image ${origin.displayName}/${entry.realPath}: ${errorMessage(e)}`);
      }
    }
    for (let i = 0; !local && i < changed.length; i += SNIFFS_IN_FLIGHT) {
      await Promise.all(
        changed.slice(i, i + SNIFFS_IN_FLIGHT).map(async (entry) => {
          try {
            types.set(entry.realPath, sniffImageType(await origin.read(entry.realPath, 0, SNIFF_BYTES)));
          } catch (e) {
            // Not recorded: the next sync tries again.
            log.debug(`cannot read the image ${origin.displayName}/${entry.realPath}: ${errorMessage(e)}`);
          }
        }),
      );
    }
    const folders = new Map<string, OriginFolder>();
    const touch = (realPath: string) => folders.set(dirOf(realPath), { originId: origin.id, dir: dirOf(realPath) });
    this.db.transaction(() => {
      for (const entry of changed) {
        if (!types.has(entry.realPath)) continue;
        this.store.upsertImage(origin.id, entry, types.get(entry.realPath)!);
        touch(entry.realPath);
      }
      for (const gone of allowRemovals ? stored.values() : []) {
        this.store.deleteImage(gone.id);
        touch(gone.realPath);
      }
    });
    return [...folders.values()];
  }

  /** The albums with tracks in these origin folders. */
  albumsInFolders(folders: readonly { originId: OriginId; dir: string }[]): AlbumId[] {
    const out = new Set<AlbumId>();
    for (const f of folders) for (const id of this.store.albumsInFolder(f.originId, f.dir)) out.add(id);
    return [...out];
  }

  /**
   * Chooses the cover of each album again and puts it into the album's folders (a changed cover gets a new node,
   * so the kernel drops what it cached of the old one). Runs in the caller's transaction.
   */
  refresh(albumIds: Iterable<AlbumId>, nowMs: number, changes?: CoverChanges): void {
    for (const albumId of new Set(albumIds)) {
      const sources = { images: this.store.albumFolders(albumId).flatMap((f) => this.store.imagesInFolder(f.originId, f.dir)), pictures: this.store.albumPictures(albumId) };
      this.apply(albumId, sources, this.tree.albumDirs(albumId), nowMs, changes);
    }
  }

  /**
   * Every album (after a first scan, a re-layout or a new cover name), from a few bulk queries; covers of albums
   * that are gone are dropped. Runs in the caller's transaction.
   */
  refreshAll(nowMs: number, changes?: CoverChanges): void {
    for (const orphan of this.store.orphanCoverAlbumIds()) this.store.setCover(orphan, null);
    const sources = this.store.allAlbumSources();
    const dirs = this.store.allAlbumDirs();
    for (const albumId of this.store.allAlbumIds()) {
      this.apply(albumId, sources.get(albumId) ?? { images: [], pictures: [] }, dirs.get(albumId) ?? [], nowMs, changes);
    }
    this.db.setMeta(META_KEY, this.coverName ?? "");
  }

  private apply(albumId: AlbumId, sources: { images: StoredFolderImage[]; pictures: TrackPicture[] }, dirs: readonly Ino[], nowMs: number, changes?: CoverChanges): void {
    const before = this.store.cover(albumId);
    const chosen = chooseFrom(sources.images, sources.pictures);
    const replaced = !sameCover(before, chosen?.cover ?? null);
    if (replaced) this.store.setCover(albumId, chosen?.cover ?? null);
    for (const dir of dirs) this.placeCoverNode(dir, albumId, chosen?.cover ?? null, chosen?.mtimeMs ?? nowMs, nowMs, changes, replaced);
  }

  /** The cover name changed since the cover nodes were made (config `cover`): refreshAll renames them. */
  nameChanged(): boolean {
    const stored = this.db.getMeta(META_KEY);
    return stored !== null && stored !== (this.coverName ?? "");
  }

  /**
   * Makes directory `dir` (a folder of album `albumId`) hold exactly the album's cover node: added when the album
   * has a cover, removed when it has none, renamed when its type or the configured name changed. A file of the same
   * name already there wins (no cover node then). Runs in the caller's transaction.
   */
  ensureCoverNode(dir: Ino, albumId: AlbumId, nowMs: number, changes?: CoverChanges): void {
    const cover = this.store.cover(albumId);
    this.placeCoverNode(dir, albumId, cover, cover ? (this.sourceMtime(cover) ?? nowMs) : nowMs, nowMs, changes, false);
  }

  private placeCoverNode(
    dir: Ino, albumId: AlbumId, cover: AlbumCover | null, mtimeMs: number, nowMs: number, changes: CoverChanges | undefined, replace: boolean,
  ): void {
    const wanted = cover && this.coverName !== null ? `${this.coverName}.${imageExtension(cover.type)}` : null;
    let present = false;
    for (const node of this.tree.coverNodes(dir)) {
      // The node shows its source's mtime: another mtime means the image (or track) changed under the same range.
      if (node.name === wanted && node.albumId === albumId && node.mtimeMs === mtimeMs && !replace) {
        present = true;
        continue;
      }
      this.tree.removeNode(node.ino, dir, node.name, nowMs);
      changes?.removed.push({ parent: dir, name: node.name });
    }
    if (!wanted || present) return;
    if (this.tree.tryInsertCover(dir, wanted, albumId, mtimeMs, nowMs) !== null) changes?.added.push({ parent: dir, name: wanted });
  }

  /** The mtime the cover file shows: its image's, or its track's. */
  private sourceMtime(cover: AlbumCover): number | null {
    if (cover.imageId !== null) return this.store.image(cover.imageId)?.mtimeMs ?? null;
    return cover.fileId !== null ? (this.db.fileLocation(cover.fileId)?.mtimeMs ?? null) : null;
  }
}

/** The first bytes of a local file (what sniffImageType needs). */
function readHead(path: FsPath): Uint8Array {
  const fd = openSync(path, "r");
  try {
    const buf = new Uint8Array(SNIFF_BYTES);
    return buf.subarray(0, readFullySync(fd, buf, 0));
  } finally {
    closeSync(fd);
  }
}

/** The album's cover from its sources (coverChoice.ts), with the mtime its file shows (its source's). */
function chooseFrom(images: readonly StoredFolderImage[], pictures: readonly TrackPicture[]): { cover: AlbumCover; mtimeMs: number } | null {
  const choice = chooseCover(images, pictures);
  if (!choice) return null;
  if (choice.kind === "folder") {
    const image = images.find((i) => i.id === choice.imageId)!;
    return { cover: { imageId: image.id, fileId: null, offset: 0, length: image.size, type: choice.type }, mtimeMs: image.mtimeMs };
  }
  const p = pictures.find((x) => x.fileId === choice.fileId)!;
  return { cover: { imageId: null, fileId: p.fileId, offset: p.offset, length: p.length, type: p.type }, mtimeMs: p.mtimeMs };
}

function sameCover(a: AlbumCover | null, b: AlbumCover | null): boolean {
  if (a === null || b === null) return a === b;
  return a.imageId === b.imageId && a.fileId === b.fileId && a.offset === b.offset && a.length === b.length && a.type === b.type;
}
