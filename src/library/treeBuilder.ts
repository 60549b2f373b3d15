import type { FileId, FileMeta } from "../core/types.ts";
import type { Database } from "../db/database.ts";
import { TreeStore, type EntryChange } from "../db/treeStore.ts";

/** Template rendering, already sanitised: the path components of a file's place in the tree. */
export type RenderPath = (file: FileMeta) => string[];
/** Picks a free name for `wanted` in a directory, given a test for names already taken (" (2)" suffixes). */
export type AllocateName = (wanted: string, isTaken: (name: string) => boolean) => string;

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

  constructor(
    private readonly db: Database,
    private readonly render: RenderPath,
    private readonly allocate: AllocateName,
  ) {
    this.store = new TreeStore(db);
  }

  /** Places every file that has no place yet (after a first scan, or an interrupted one). */
  placeUnplaced(originOrder: readonly string[], nowMs = Date.now(), batch = 5000): PlacementResult {
    const ids = this.store.unplacedFileIds(originOrder);
    const result: PlacementResult = { placed: 0, added: [], removed: [], collect: false };
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
   * Re-places files whose tags may have changed (delta sync): a file whose rendered path is unchanged keeps its
   * node; otherwise its old node goes (pruning emptied directories) and it is placed anew. Runs in the caller's
   * transaction.
   */
  replace(ids: readonly FileId[], nowMs: number, result: PlacementResult): void {
    this.store.ensureRoot(nowMs);
    for (const id of ids) {
      const file = this.db.getFile(id);
      if (!file) continue;
      const wanted = this.render(file).join("/");
      const current = this.store.placementOf(id);
      if (current?.virtualPath && current.templatePath === wanted && this.store.nodeOfFile(id)) continue;
      result.removed.push(...this.store.removeFileNode(id, nowMs));
      this.store.setPlacement(id, null, null);
      this.placeOne(id, nowMs, result, file);
    }
  }

  /** Removes files' nodes (their rows are deleted by the caller). Runs in the caller's transaction. */
  unplace(ids: readonly FileId[], nowMs: number, result: PlacementResult): void {
    for (const id of ids) result.removed.push(...this.store.removeFileNode(id, nowMs));
  }

  private placeOne(id: FileId, nowMs: number, result: PlacementResult, known?: FileMeta): void {
    const file = known ?? this.db.getFile(id);
    if (!file) return;
    const components = this.render(file);
    const dirs = components.slice(0, -1);
    const fileName = components[components.length - 1];
    const added = result.collect === false ? undefined : result.added;
    let dirIno = this.store.mkdirs(dirs, nowMs, added);
    // A file already stands where this file needs a directory: give the directory a suffixed name instead.
    for (let n = 2; dirIno === null && dirs.length > 0; n++) {
      const last = dirs.length - 1;
      const alt = [...dirs.slice(0, last), `${dirs[last]} (${n})`];
      dirIno = this.store.mkdirs(alt, nowMs, added);
      if (dirIno !== null) dirs.splice(0, dirs.length, ...alt);
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
