import { originIdentity, type MusicFsConfig, type OriginConfig } from "../../config/config.ts";
import { log } from "../../core/logger.ts";
import type { FileMeta, OriginId } from "../../core/types.ts";
import type { Database } from "../../db/database.ts";
import { withSuffix } from "../../library/pathAllocator.ts";
import { compileTemplate, folderIsPerAlbum, renderPath, templateUses } from "../../library/template.ts";
import { TreeBuilder, type PlacementResult, type RenderPath } from "../catalog/treeBuilder.ts";
import { LibraryViews } from "../catalog/views.ts";
import { announceChanges, type TreeNotifier } from "../catalog/treeNotifier.ts";
import { openOrigin } from "./openOrigin.ts";
import { AlbumIndex } from "../catalog/albumIndex.ts";
import { foldersOf } from "../../library/albums.ts";
import { CoverIndex } from "../catalog/coverIndex.ts";
import type { OriginEntry } from "../../origins/origin.ts";
import type { Origin } from "../../origins/origin.ts";
import { applyTemplateChange } from "../catalog/templateChange.ts";
import { SearchIndex } from "../../search/searchIndex.ts";
import type { AlbumId, FileId, Ino } from "../../core/types.ts";
import { plural } from "../../core/plural.ts";
import { ScanActivity } from "../sync/scanActivity.ts";

class RebuildAborted extends Error {}

/** What the library tells the content cache of a live mount. */
export interface LibraryContentCache {
  /** Files and folder images left the library (metadata.db's forgotten_content): their cached content goes. */
  forgetRemoved(): void;
  /** Carries out the data file moves recorded in metadata.db (retired and returning files: docs/origins.md). */
  applyDataFileMoves(): void;
}

const REMOVE_BATCH = 2000;

/** The first free spelling of `wanted`: "Title.flac", then "Title (2).flac", "Title (3).flac", … */
export function allocateName(wanted: string, isTaken: (name: string) => boolean): string {
  for (let n = 1; ; n++) {
    const candidate = withSuffix(wanted, n);
    if (!isTaken(candidate)) return candidate;
  }
}

/**
 * The music library of one cache dir: its database, its origins and its tree. The main thread's owner of all
 * writes; the mount session and the CLI commands drive it.
 */
export class Library {
  readonly origins: Origin[];
  readonly tree: TreeBuilder;
  /** Albums and their stored album-level values, kept in step with the files. */
  readonly albums: AlbumIndex;
  /** The configured views: every file once more below each view's folder (docs/templates.md, "Views"). */
  readonly views: LibraryViews;
  /** Album covers: folder images, each album's chosen cover and the cover node in its folder. */
  readonly covers: CoverIndex;
  /** The full-text index, written in the same transactions as the files it describes. */
  readonly search: SearchIndex;
  /** Origin ids by priority: a path two origins both give goes to the first (placement order). */
  readonly originOrder: OriginId[];
  /** Progress of the first scan and of each delta sync, as they run (the mount's metrics). */
  readonly scans = new ScanActivity();
  /** The content cache of a live mount with cached origins (told when files leave the library). */
  private contentCache: LibraryContentCache | null = null;
  /** Configured origins that were removed once and returned: origin id → identity whose retired manifests wait. */
  private readonly returning = new Map<OriginId, string>();

  constructor(
    readonly db: Database,
    readonly config: MusicFsConfig,
  ) {
    this.origins = config.origins.map((o) => openOrigin(o));
    this.originOrder = [...config.origins].sort((a, b) => a.priority - b.priority).map((o) => o.id);
    for (const o of config.origins) if (db.hasRetiredManifests(originIdentity(o))) this.returning.set(o.id, originIdentity(o));
    this.albums = new AlbumIndex(db);
    // The views' folders win over main-tree folders of the same name (docs/templates.md, "Views").
    const viewNames = new Set(config.views.map((v) => v.name));
    this.tree = new TreeBuilder(db, this.placementBy(config.template), allocateName, { reservedTopNames: viewNames });
    this.views = new LibraryViews(db, config.views, (t) => this.placementBy(t), allocateName);
    this.covers = new CoverIndex(db, this.tree.store, config.cover);
    this.search = new SearchIndex(db.sqlite);
  }

  /** Where a template puts a file, with its album's stored values (the main tree and every view render this way). */
  private placementBy(source: string): RenderPath {
    const template = compileTemplate(source);
    const perAlbum = folderIsPerAlbum(template);
    const usesAdded = templateUses(template, "added");
    return (f: FileMeta) => {
      const album = this.albums.albumOf(f.id!);
      const file = usesAdded ? { ...f, addedAt: this.db.addedAtOf(f.id!) } : f;
      return { components: renderPath(template, file, album?.values), albumId: perAlbum ? (album?.id ?? null) : null };
    };
  }

  /** The nodes of files in the main tree and in every view (for invalidation of their attributes and pages). */
  inodesOfFiles(ids: readonly FileId[]): Ino[] {
    const main = ids.map((id) => this.tree.store.nodeOfFile(id)?.ino).filter((ino): ino is Ino => ino !== undefined);
    return [...main, ...this.views.inodesOf(ids)];
  }

  /**
   * Removes files from the library: their tree nodes (pruning emptied folders, announced to the kernel), search
   * rows and database rows, in batches of one transaction each; their cached chunks become evictable. Returns the
   * count. `onRemoved` hears each batch after it is gone.
   */
  removeFiles(ids: readonly FileId[], notifier?: TreeNotifier | null, onRemoved?: (ids: FileId[]) => void): number {
    for (let i = 0; i < ids.length; i += REMOVE_BATCH) {
      const batch = ids.slice(i, i + REMOVE_BATCH);
      const result: PlacementResult = { placed: 0, added: [], removed: [] };
      const now = Date.now();
      // The remaining tracks of their albums move too when an album-level value changed (in the same transaction).
      const replaced = this.db.transaction(() => {
        const places = this.albums.store.placesOf(batch);
        this.tree.unplace(batch, now, result);
        this.views.unplace(batch, now, result);
        this.search.removeFiles(batch);
        this.db.deleteFiles(batch);
        const affected = this.albums.refresh(places.folders, places.albumIds);
        this.tree.replace(affected, now, result);
        this.views.replace(affected, now, result);
        this.covers.refresh([...places.albumIds, ...this.albumIdsOf(affected)], now, result);
        return affected;
      });
      const inodes = this.inodesOfFiles(replaced);
      announceChanges(notifier, [...result.removed, ...result.added], inodes);
      // Without a content cache (a scan, a mount before its cache opened) the deletions wait in forgotten_content.
      this.contentCache?.applyDataFileMoves(); // kept content (a retired origin's files) moves away before the rest goes
      this.contentCache?.forgetRemoved();
      onRemoved?.(batch);
    }
    return ids.length;
  }

  /** The content cache of a live mount: told about every file that leaves the library (its cached figures). */
  attachContentCache(cache: LibraryContentCache): void {
    this.contentCache = cache;
    cache.applyDataFileMoves(); // recorded before this mount (or by a scan): carried out before anything is forgotten
    cache.forgetRemoved();
  }

  /**
   * Stores parsed files and indexes them, in one transaction; returns their ids in order. Files of an origin that
   * returned take back the cached content they had when it was removed (same path, size, mtime and ETag).
   */
  storeFiles(files: readonly FileMeta[], nowMs = Date.now()): FileId[] {
    return this.db.transaction(() => {
      const ids = this.db.upsertFiles(files, nowMs);
      this.search.indexFiles(files.map((f, i) => ({ ...f, id: ids[i] })));
      if (this.returning.size > 0) this.adoptRetired(files, ids);
      return ids;
    });
  }

  private adoptRetired(files: readonly FileMeta[], ids: readonly FileId[]): void {
    for (const [originId, key] of this.returning) {
      const mine = ids.filter((_, i) => files[i].originId === originId);
      if (mine.length === 0) continue;
      const adopted = this.db.adoptRetiredManifests(key, mine);
      if (adopted > 0) this.contentCache?.applyDataFileMoves(); // the data files come back under the new ids
      if (adopted > 0) log.debug(`Origin ${originId}: ${plural(adopted, "file")} took back the cached content kept since it was removed.`);
    }
  }

  /**
   * Places files just stored or retagged, with every other track of the albums they left or joined whose
   * album-level values changed (a new track with an earlier year moves the whole album folder). Runs in the
   * caller's transaction; returns every file that was considered, for invalidation.
   */
  placeChanged(files: readonly FileMeta[], ids: readonly FileId[], nowMs: number, result: PlacementResult): FileId[] {
    const left = this.albumIdsOf(ids); // before the refresh: the albums these files were in
    const all = [...new Set([...ids, ...this.albums.refresh(foldersOf(files))])];
    this.tree.replace(all, nowMs, result);
    this.views.replace(all, nowMs, result);
    this.covers.refresh([...left, ...this.albumIdsOf(all)], nowMs, result);
    return all;
  }

  private albumIdsOf(ids: readonly FileId[]): AlbumId[] {
    return ids.map((id) => this.albums.store.albumIdOfFile(id)).filter((a): a is AlbumId => a !== null);
  }

  /**
   * After a walk of `origin` (whole, or below `scope`): records the folder images it found and gives the albums of
   * folders whose images changed their new cover, announced to the kernel.
   */
  async recordFolderImages(
    origin: Origin,
    images: readonly OriginEntry[],
    opts: { scope?: readonly string[]; allowRemovals?: boolean; notifier?: TreeNotifier | null } = {},
  ): Promise<void> {
    const folders = await this.covers.recordImages(origin, images, opts.scope, opts.allowRemovals);
    this.contentCache?.forgetRemoved(); // folder images that are gone
    if (folders.length === 0 || !this.hasCompleteScan()) return; // a first scan chooses every cover at its end
    const result: PlacementResult = { placed: 0, added: [], removed: [] };
    this.db.transaction(() => this.covers.refresh(this.covers.albumsInFolders(folders), Date.now(), result));
    announceChanges(opts.notifier, [...result.removed, ...result.added], []);
  }

  /**
   * Opens the search index; a missing, outdated or damaged one is rebuilt from the stored files. Returns a promise
   * for the rebuild (null when none is needed), which a mount runs in the background: `.search` answers EIO until
   * it is done, everything else is unaffected.
   */
  openSearch(signal?: AbortSignal): Promise<void> | null {
    let state;
    try {
      state = this.search.open();
    } catch (e) {
      state = "damaged" as const;
      log.warn(`The search index could not be opened (${(e as Error).message}); rebuilding it.`);
    }
    if (state === "ok") return null;
    const fresh = this.db.fileCount() === 0; // a new library: creating its empty index is nothing to report
    return (async () => {
      const t0 = performance.now();
      if (!fresh) log.info(`Search index ${state}: rebuilding it from the database…`);
      try {
        const n = await this.search.rebuildAsync(this.db.listAllFiles(), {
          // Shutdown must not wait for a rebuild of a million tracks: stop between batches. The index is marked
          // complete only after the last batch, so the next start rebuilds it again.
          onProgress: () => {
            if (signal?.aborted) throw new RebuildAborted();
          },
        });
        if (!fresh) log.info(`Search index rebuilt: ${plural(n, "track")} in ${((performance.now() - t0) / 1000).toFixed(1)} s.`);
      } catch (e) {
        if (e instanceof RebuildAborted) log.info("Search index rebuild stopped for shutdown; it continues at the next start.");
        else throw e;
      }
    })();
  }

  /** The configuration of one origin (by id). */
  originConfig(id: OriginId): OriginConfig | undefined {
    return this.config.origins.find((o) => o.id === id);
  }

  /** A first scan ran to its end at least once (later mounts come straight from the database). */
  hasCompleteScan(): boolean {
    return this.db.getMeta("scan_complete") === "1";
  }

  /**
   * Rebuilds the tree when the template changed since the tree was built, and lays out the views that are new or
   * changed in the config (each one alone; unchanged views cost nothing).
   */
  applyTemplate(): void {
    const albumsOutdated = !this.albums.isCurrent();
    const relaidOut = applyTemplateChange(this.db, this.tree, this.albums, this.config.template, this.originOrder);
    const viewsChanged = this.hasCompleteScan() && this.views.apply(this.tree, this.originOrder, albumsOutdated);
    // Album folders may be new, or the configured cover name another: every album folder gets its cover node again.
    if ((relaidOut || viewsChanged || this.covers.nameChanged()) && this.hasCompleteScan())
      this.db.transaction(() => this.covers.refreshAll(Date.now()));
  }

  /** The number of files, kept in meta so a mount can report it without counting a million rows. */
  refreshFileCount(): number {
    const n = this.db.fileCount();
    this.db.setMeta("file_count", String(n));
    return n;
  }

  storedFileCount(): number {
    const v = this.db.getMeta("file_count");
    return v === null ? this.refreshFileCount() : Number(v);
  }

  close(): void {
    this.db.close();
  }
}
