import type { AlbumId, FileId, FileMeta, Ino } from "../../core/types.ts";
import type { Database } from "../../db/database.ts";
import { MAIN_TREE, TreeStore, type EntryChange, type TreeScope } from "../../db/treeStore.ts";

/** Where a file goes: template rendering, already sanitised, and the album its folder is for. */
export interface FilePlacement {
  /** Path components; the last is the file name. */
  components: string[];
  /**
   * The album whose folder the file's parent directory is (the template names its last folder after the album);
   * null when the file has no album or the folder is not per album. Two albums that render the same folder name
   * get two folders: "Greatest Hits (2001)" and "Greatest Hits (2001) (2)".
   */
  albumId: AlbumId | null;
}
export type RenderPath = (file: FileMeta) => FilePlacement;
/** Picks a free name for `wanted` in a directory, given a test for names already taken (" (2)" suffixes). */
export type AllocateName = (wanted: string, isTaken: (name: string) => boolean) => string;

export interface TreeOptions {
  /** The tree to write: the main tree (default) or a view (src/app/catalog/views.ts). */
  scope?: TreeScope;
  /**
   * Top-level names this tree must not use (the main tree: the names of the views, whose folders win): a top-level
   * folder of that name becomes "Name (2)" (docs/templates.md, "Views").
   */
  reservedTopNames?: ReadonlySet<string>;
}

export interface PlacementResult {
  placed: number;
  /** Collect the entry changes below (a live mount announces them; a first scan has nobody to tell). */
  collect?: boolean;
  /** Entries that appeared (for notify-invalidate of directories the kernel may have cached). */
  added: EntryChange[];
  /** Entries that went away (moved files, pruned directories). */
  removed: EntryChange[];
}

/**
 * Puts files into the persisted tree. Placement is deterministic: files are placed in (origin priority, origin,
 * real path) order, so when two files want the same name the same one always gets the plain name and the other
 * " (2)". A file keeps its node (and so its inode and suffix) for as long as the template renders the same path
 * for it; a retag that changes the rendered path moves it.
 */
export class TreeBuilder {
  readonly store: TreeStore;
  private readonly reserved: ReadonlySet<string>;

  constructor(
    private readonly db: Database,
    private readonly render: RenderPath,
    private readonly allocate: AllocateName,
    options: TreeOptions = {},
  ) {
    this.store = new TreeStore(db, options.scope ?? MAIN_TREE);
    this.reserved = options.reservedTopNames ?? new Set();
  }

  /** Places every file that has no place yet (after a first scan, or an interrupted one). */
  placeUnplaced(originOrder: readonly string[], nowMs = Date.now(), batch = 5000): PlacementResult {
    const ids = this.store.unplacedFileIds(originOrder);
    const result: PlacementResult = { placed: 0, added: [], removed: [], collect: false };
    // The root exists even when nothing is placed: an empty library mounts as an empty folder, not a missing one.
    if (ids.length === 0) this.db.transaction(() => this.store.ensureRoot(nowMs));
    for (let i = 0; i < ids.length; i += batch) {
      const slice = ids.slice(i, i + batch);
      this.db.transaction(() => {
        this.store.ensureRoot(nowMs);
        for (const id of slice) this.placeOne(id, nowMs, result);
      });
    }
    return result;
  }

  /**
   * Re-places files whose tags (or album) may have changed (delta sync): a file whose rendered path is unchanged
   * keeps its node; the others first all leave (pruning emptied directories), then are placed anew in the given
   * order — so a whole album moving to a new folder never collides with its own old names. Runs in the caller's
   * transaction.
   */
  replace(ids: readonly FileId[], nowMs: number, result: PlacementResult): void {
    this.store.ensureRoot(nowMs);
    const moving: FileMeta[] = [];
    for (const id of ids) {
      const file = this.db.getFile(id);
      if (file && this.needsPlacing(file)) moving.push(file);
    }
    for (const file of moving) {
      result.removed.push(...this.store.removeFileNode(file.id!, nowMs));
      this.store.setPlacement(file.id!, null, null);
    }
    for (const file of moving) this.placeOne(file.id!, nowMs, result, file);
  }

  /**
   * Re-lays out the whole tree (the template or the album rules changed) keeping the node, and so the inode, of
   * every file whose path stays the same: the others are unplaced, then placed in the deterministic order.
   */
  relayout(originOrder: readonly string[], nowMs = Date.now(), batch = 5000): { kept: number; placed: number } {
    const ids = this.store.placedFileIds();
    let kept = 0;
    for (let i = 0; i < ids.length; i += batch) {
      this.db.transaction(() => {
        for (const id of ids.slice(i, i + batch)) {
          const file = this.db.getFile(id);
          if (!file) continue;
          if (!this.needsPlacing(file)) {
            kept++;
            continue;
          }
          this.store.removeFileNode(id, nowMs);
          this.store.setPlacement(id, null, null);
        }
      });
    }
    return { kept, placed: this.placeUnplaced(originOrder, nowMs, batch).placed };
  }

  /** The file has no node, or the template now renders another path for it than the one it was placed at. */
  private needsPlacing(file: FileMeta): boolean {
    const placedAs = this.store.placedTemplatePath(file.id!);
    const node = placedAs === null ? null : this.store.nodeOfFile(file.id!);
    if (!node) return true;
    const wanted = this.render(file);
    if (placedAs !== wanted.components.join("/")) return true;
    // Same path, but its folder is another album's (a tree from before albums held two same-named albums in one).
    return wanted.albumId !== null && node.parent !== this.store.scope.root && !this.store.claimDir(node.parent, wanted.albumId);
  }

  /** The folder path with its top-level name moved aside when it is reserved (a view's name): "Name (2)". */
  private clearOfReserved(dirs: string[]): string[] {
    if (dirs.length === 0 || !this.reserved.has(dirs[0])) return dirs;
    let n = 2;
    while (this.reserved.has(`${dirs[0]} (${n})`)) n++;
    return [`${dirs[0]} (${n})`, ...dirs.slice(1)];
  }

  /** Removes files' nodes (their rows are deleted by the caller). Runs in the caller's transaction. */
  unplace(ids: readonly FileId[], nowMs: number, result: PlacementResult): void {
    for (const id of ids) result.removed.push(...this.store.removeFileNode(id, nowMs));
  }

  private placeOne(id: FileId, nowMs: number, result: PlacementResult, known?: FileMeta): void {
    const file = known ?? this.db.getFile(id);
    if (!file) return;
    const { components, albumId } = this.render(file);
    let dirs = components.slice(0, -1);
    const fileName = components[components.length - 1];
    const added = result.collect === false ? undefined : result.added;
    // The folder: the rendered one, unless a file stands there or it is another album's; then "Folder (2)", …
    let dirIno: Ino | null = null;
    for (let n = 1; dirIno === null; n++) {
      const last = dirs.length - 1;
      const candidate = this.clearOfReserved(n === 1 || last < 0 ? dirs : [...dirs.slice(0, last), `${components[last]} (${n})`]);
      const ino = this.store.mkdirs(candidate, nowMs, added);
      if (ino !== null && (albumId === null || last < 0 || this.store.claimDir(ino, albumId))) {
        dirIno = ino;
        dirs = candidate;
      }
    }
    const parent = dirIno!;
    // Try the plain name first with the insert itself; only a collision pays for the suffix search.
    let name = fileName;
    if (this.store.tryInsertFile(parent, name, id, file.mtimeMs) === null) {
      name = this.allocate(fileName, (candidate) => this.store.nameTaken(parent, candidate));
      this.store.insertFile(parent, name, id, file.mtimeMs);
    }
    this.store.setPlacement(id, components.join("/"), [...dirs, name].join("/"));
    added?.push({ parent, name });
    result.placed++;
  }
}
