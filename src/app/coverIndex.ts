import { errorMessage } from "../core/errors.ts";
import { log } from "../core/logger.ts";
import type { OriginId } from "../core/types.ts";
import { CoverStore, type AlbumCover, type StoredFolderImage } from "../db/coverStore.ts";
import type { Database } from "../db/database.ts";
import type { EntryChange, TreeStore } from "../db/treeStore.ts";
import { chooseCover } from "../library/coverChoice.ts";
import { imageExtension, sniffImageType, SNIFF_BYTES, type ImageType } from "../library/coverLocator.ts";
import { dirOf, sameContent } from "../library/deltaClassify.ts";
import type { Origin, OriginEntry } from "../origins/origin.ts";
import type { OriginFolder } from "./albumIndex.ts";

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
 * ensureCoverNode is the one way a cover node comes into a folder: any tree that gives an album a folder (the main
 * tree, a view) calls it with the folder and the album.
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
    for (let i = 0; i < changed.length; i += SNIFFS_IN_FLIGHT) {
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
  albumsInFolders(folders: readonly { originId: OriginId; dir: string }[]): number[] {
    const out = new Set<number>();
    for (const f of folders) for (const id of this.store.albumsInFolder(f.originId, f.dir)) out.add(id);
    return [...out];
  }

  /**
   * Chooses the cover of each album again and puts it into the album's folders (a changed cover gets a new node,
   * so the kernel drops what it cached of the old one). Runs in the caller's transaction.
   */
  refresh(albumIds: Iterable<number>, nowMs: number, changes?: CoverChanges): void {
    for (const albumId of new Set(albumIds)) {
      const before = this.store.cover(albumId);
      const chosen = this.choose(albumId);
      const replaced = !sameCover(before, chosen);
      if (replaced) this.store.setCover(albumId, chosen);
      for (const dir of this.tree.albumDirs(albumId)) this.ensureCoverNode(dir, albumId, nowMs, changes, replaced);
    }
  }

  /** Every album (after a first scan, a re-layout or a new cover name); covers of albums that are gone are dropped. */
  refreshAll(nowMs: number, changes?: CoverChanges): void {
    for (const orphan of this.store.orphanCoverAlbumIds()) this.store.setCover(orphan, null);
    this.refresh(this.store.allAlbumIds(), nowMs, changes);
    this.db.setMeta(META_KEY, this.coverName ?? "");
  }

  /** The cover name changed since the cover nodes were made (config `cover`): refreshAll renames them. */
  nameChanged(): boolean {
    const stored = this.db.getMeta(META_KEY);
    return stored !== null && stored !== (this.coverName ?? "");
  }

  /**
   * Makes directory `dir` (a folder of album `albumId`) hold exactly the album's cover node: added when the album
   * has a cover, removed when it has none, renamed when its type or the configured name changed; `replace` forces a
   * new node (the cover's bytes changed). A file of the same name already there wins (no cover node then).
   */
  ensureCoverNode(dir: number, albumId: number, nowMs: number, changes?: CoverChanges, replace = false): void {
    const cover = this.coverName === null ? null : this.store.cover(albumId);
    const wanted = cover ? `${this.coverName}.${imageExtension(cover.type)}` : null;
    // The node shows its source's mtime: another mtime means the image (or track) changed under the same range.
    const mtimeMs = cover ? (this.sourceMtime(cover) ?? nowMs) : nowMs;
    let present = false;
    for (const node of this.tree.coverNodes(dir)) {
      if (node.name === wanted && node.albumId === albumId && node.mtimeMs === mtimeMs && !replace) {
        present = true;
        continue;
      }
      this.tree.removeNode(node.ino, dir, node.name, nowMs);
      changes?.removed.push({ parent: dir, name: node.name });
    }
    if (!cover || !wanted || present) return;
    if (this.tree.tryInsertCover(dir, wanted, albumId, mtimeMs, nowMs) !== null)
      changes?.added.push({ parent: dir, name: wanted });
  }

  private choose(albumId: number): AlbumCover | null {
    const images = this.store.albumFolders(albumId).flatMap((f) => this.store.imagesInFolder(f.originId, f.dir));
    const pictures = this.store.albumPictures(albumId);
    const choice = chooseCover(images, pictures);
    if (!choice) return null;
    if (choice.kind === "folder") {
      const image = images.find((i) => i.id === choice.imageId)!;
      return { imageId: image.id, fileId: null, offset: 0, length: image.size, type: choice.type };
    }
    const p = pictures.find((x) => x.fileId === choice.fileId)!;
    return { imageId: null, fileId: p.fileId, offset: p.offset, length: p.length, type: p.type };
  }

  /** The mtime the cover file shows: its image's, or its track's. */
  private sourceMtime(cover: AlbumCover): number | null {
    if (cover.imageId !== null) return this.store.image(cover.imageId)?.mtimeMs ?? null;
    return cover.fileId !== null ? (this.db.fileLocation(cover.fileId)?.mtimeMs ?? null) : null;
  }
}

function sameCover(a: AlbumCover | null, b: AlbumCover | null): boolean {
  if (a === null || b === null) return a === b;
  return a.imageId === b.imageId && a.fileId === b.fileId && a.offset === b.offset && a.length === b.length && a.type === b.type;
}
