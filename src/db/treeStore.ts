import type { AlbumId, FileId, Ino, ViewId } from "../core/types.ts";
import type { Database } from "./database.ts";
import { asAlbumId, asFileId, asIno, asViewId } from "../core/ids.ts";

export const ROOT_INO: Ino = asIno(1);
/** Cover: an album folder's cover file (app/catalog/coverIndex.ts), whose bytes are the album's cover (album_covers). */
export const NodeKind = { Dir: 1, File: 2, Cover: 3 } as const;

/**
 * Which tree a TreeStore writes: the main tree (from the root, placements in `files`) or one view (from the view's
 * top-level folder, placements in `view_placements`). Every file has one node per tree.
 */
export interface TreeScope {
  root: Ino;
  viewId: ViewId | null;
}
export const MAIN_TREE: TreeScope = { root: ROOT_INO, viewId: null };

/** A change to a directory's listing, for notify-invalidate: `name` appeared in or vanished from `parent`. */
export interface EntryChange {
  parent: Ino;
  name: string;
}

/**
 * Writes the persisted virtual tree (`nodes`). Main thread only, inside the caller's transactions.
 * Directories are created on demand and pruned when their last child goes; inode numbers are rowids, so a node
 * keeps its number for as long as it exists, across remounts.
 */
export class TreeStore {
  /** Directory path → inode, filled as we go: a bulk build touches the same album directory a dozen times. */
  private readonly dirCache = new Map<string, Ino>();
  /** Directory inode → the album it is the folder of, as claimed so far (dropped with the directory). */
  private readonly dirAlbums = new Map<Ino, AlbumId>();

  constructor(
    private readonly db: Database,
    readonly scope: TreeScope = MAIN_TREE,
  ) {}

  ensureRoot(nowMs = Date.now()): void {
    this.db
      .stmt("INSERT OR IGNORE INTO nodes (ino, parent, name, kind, file_id, mtime_ms) VALUES (1, 0, '', 1, NULL, ?)")
      .run(nowMs);
  }

  childIno(parent: Ino, name: string): { ino: Ino; kind: number; fileId: FileId | null; viewId: ViewId | null } | null {
    const row = this.db.stmt("SELECT ino, kind, file_id, view_id FROM nodes WHERE parent = ? AND name = ?").values(parent, name)[0];
    return row
      ? { ino: asIno(Number(row[0])), kind: Number(row[1]), fileId: row[2] === null ? null : asFileId(Number(row[2])), viewId: row[3] === null ? null : asViewId(Number(row[3])) }
      : null;
  }

  nameTaken(parent: Ino, name: string): boolean {
    return this.db.stmt("SELECT 1 FROM nodes WHERE parent = ? AND name = ?").values(parent, name).length > 0;
  }

  /**
   * The inode of directory `components` (relative to this tree's root), created with its ancestors if missing.
   * `created` collects the new entries for invalidation. Returns null when a FILE already stands where a directory
   * is wanted, or another tree's folder (a view's, at the root) (the caller picks another name).
   */
  mkdirs(components: readonly string[], nowMs: number, created?: EntryChange[]): Ino | null {
    let parent = this.scope.root;
    let path = "";
    for (const name of components) {
      path = path ? `${path}/${name}` : name;
      const cached = this.dirCache.get(path);
      if (cached !== undefined) {
        parent = cached;
        continue;
      }
      const existing = this.childIno(parent, name);
      if (existing) {
        if (existing.kind !== NodeKind.Dir || existing.viewId !== this.scope.viewId) return null;
        parent = existing.ino;
      } else {
        const row = this.db
          .stmt("INSERT INTO nodes (parent, name, kind, file_id, mtime_ms, view_id) VALUES (?, ?, 1, NULL, ?, ?) RETURNING ino")
          .values(parent, name, nowMs, this.scope.viewId)[0];
        created?.push({ parent, name });
        this.touchDir(parent, nowMs);
        parent = asIno(Number(row[0]));
      }
      this.dirCache.set(path, parent);
    }
    return parent;
  }

  /**
   * Makes directory `ino` the folder of `albumId` if it belongs to no album yet; true when it is that album's
   * (now or already), false when it is another album's.
   */
  claimDir(ino: Ino, albumId: AlbumId): boolean {
    if (this.dirAlbums.get(ino) === albumId) return true; // the album's other tracks: no query
    this.db.stmt("UPDATE nodes SET album_id = ? WHERE ino = ? AND album_id IS NULL").run(albumId, ino);
    const row = this.db.stmt("SELECT album_id FROM nodes WHERE ino = ?").values(ino)[0];
    const owner = row === undefined ? null : asAlbumId(Number(row[0]));
    if (owner !== null) this.dirAlbums.set(ino, owner);
    return owner === albumId;
  }

  insertFile(parent: Ino, name: string, fileId: FileId, mtimeMs: number): Ino {
    const ino = this.tryInsertFile(parent, name, fileId, mtimeMs);
    if (ino === null) throw new Error(`a node named "${name}" already exists in directory ${parent}`);
    return ino;
  }

  /** Inserts a file node unless the name is taken in that directory (one statement: no separate lookup). */
  tryInsertFile(parent: Ino, name: string, fileId: FileId, mtimeMs: number): Ino | null {
    const row = this.db
      .stmt("INSERT OR IGNORE INTO nodes (parent, name, kind, file_id, mtime_ms, view_id) VALUES (?, ?, 2, ?, ?, ?) RETURNING ino")
      .values(parent, name, fileId, mtimeMs, this.scope.viewId)[0];
    return row ? asIno(Number(row[0])) : null;
  }

  /** The file node of a file in this tree, if placed. */
  nodeOfFile(fileId: FileId): { ino: Ino; parent: Ino; name: string } | null {
    const row = this.db.stmt("SELECT ino, parent, name FROM nodes WHERE file_id = ? AND view_id IS ?").values(fileId, this.scope.viewId)[0];
    return row ? { ino: asIno(Number(row[0])), parent: asIno(Number(row[1])), name: String(row[2]) } : null;
  }

  /**
   * The file placed after this one in its folder, in the tree's order (by name, as READDIR lists it): the next track
   * of an album folder. Null for the last one, or a file not placed.
   */
  nextFileInFolder(fileId: FileId): FileId | null {
    const node = this.nodeOfFile(fileId);
    if (!node) return null;
    const row = this.db
      .stmt("SELECT file_id FROM nodes WHERE parent = ? AND name > ? AND kind = 2 AND file_id IS NOT NULL AND view_id IS ? ORDER BY name LIMIT 1")
      .values(node.parent, node.name, this.scope.viewId)[0];
    return row ? asFileId(Number(row[0])) : null;
  }

  /**
   * Removes the node of a file and every directory that becomes empty because of it (never the tree's root: a view's
   * folder stays while the view is configured, even empty).
   * Returns the removed entries, deepest first, for invalidation.
   */
  removeFileNode(fileId: FileId, nowMs: number): EntryChange[] {
    const node = this.nodeOfFile(fileId);
    if (!node) return [];
    const removed: EntryChange[] = [{ parent: node.parent, name: node.name }];
    this.deleteNode(node.ino, node.parent, node.name);
    this.touchDir(node.parent, nowMs);
    this.pruneEmpty(node.parent, nowMs, removed);
    return removed;
  }

  private pruneEmpty(dir: Ino, nowMs: number, removed: EntryChange[]): void {
    let ino = dir;
    while (ino !== this.scope.root && ino !== ROOT_INO) {
      // A cover file does not keep a folder: it is the cover of the tracks there, and goes with the last of them.
      const hasChild = this.db.stmt(`SELECT 1 FROM nodes WHERE parent = ? AND kind != ${NodeKind.Cover} LIMIT 1`).values(ino).length > 0;
      if (hasChild) return;
      for (const cover of this.coverNodes(ino)) {
        this.deleteNode(cover.ino, ino, cover.name);
        removed.push({ parent: ino, name: cover.name });
      }
      const row = this.db.stmt("SELECT parent, name FROM nodes WHERE ino = ?").values(ino)[0];
      if (!row) return;
      const parent = asIno(Number(row[0]));
      this.deleteNode(ino, parent, String(row[1]));
      this.forgetCachedDir(ino);
      removed.push({ parent, name: String(row[1]) });
      this.touchDir(parent, nowMs);
      ino = parent;
    }
  }

  /** The cover nodes of a directory (normally none or one). */
  coverNodes(dir: Ino): { ino: Ino; name: string; albumId: AlbumId | null; mtimeMs: number }[] {
    return this.db
      .stmt(`SELECT ino, name, album_id, mtime_ms FROM nodes WHERE parent = ? AND kind = ${NodeKind.Cover}`)
      .values(dir)
      .map((r) => ({ ino: asIno(Number(r[0])), name: String(r[1]), albumId: r[2] === null ? null : asAlbumId(Number(r[2])), mtimeMs: Number(r[3]) }));
  }

  /** The folders an album claimed (claimDir). */
  albumDirs(albumId: AlbumId): Ino[] {
    return this.db.stmt(`SELECT ino FROM nodes WHERE album_id = ? AND kind = ${NodeKind.Dir}`).values(albumId).map((r) => asIno(Number(r[0])));
  }

  /** Inserts the cover node of an album in its folder unless the name is taken there. */
  tryInsertCover(parent: Ino, name: string, albumId: AlbumId, mtimeMs: number, nowMs: number): Ino | null {
    const row = this.db
      .stmt(`INSERT OR IGNORE INTO nodes (parent, name, kind, file_id, mtime_ms, album_id) VALUES (?, ?, ${NodeKind.Cover}, NULL, ?, ?) RETURNING ino`)
      .values(parent, name, mtimeMs, albumId)[0];
    if (!row) return null;
    this.touchDir(parent, nowMs);
    return asIno(Number(row[0]));
  }

  /** Removes one node that is not a file's (a cover), its name kept for READDIR cookies like any other. */
  removeNode(ino: Ino, parent: Ino, name: string, nowMs: number): void {
    this.deleteNode(ino, parent, name);
    this.touchDir(parent, nowMs);
  }

  /** Deletes a node, keeping its name for READDIR cookies that still name it (see removed_nodes in schema.sql). */
  private deleteNode(ino: Ino, parent: Ino, name: string): void {
    this.db.stmt("DELETE FROM nodes WHERE ino = ?").run(ino);
    this.db.stmt("INSERT OR REPLACE INTO removed_nodes (ino, parent, name) VALUES (?, ?, ?)").run(ino, parent, name);
  }

  /** At mount: no kernel holds a cookie of an earlier mount, so the names of removed nodes are not needed. */
  forgetRemovedNodes(): void {
    this.db.stmt("DELETE FROM removed_nodes").run();
  }

  private forgetCachedDir(ino: Ino): void {
    this.dirAlbums.delete(ino);
    for (const [path, cached] of this.dirCache) if (cached === ino) this.dirCache.delete(path);
  }

  private touchDir(ino: Ino, nowMs: number): void {
    this.db.stmt("UPDATE nodes SET mtime_ms = ? WHERE ino = ? AND mtime_ms < ?").run(nowMs, ino, nowMs);
  }

  /**
   * Files that have no place in the tree yet, in the deterministic placement order: origins by priority (then the
   * ones not listed, by id), and within an origin by real path — the order of the (origin_id, real_path) unique
   * index, so SQLite sorts nothing and only ids reach JavaScript.
   */
  unplacedFileIds(originOrder: readonly string[]): FileId[] {
    const known = this.db.stmt("SELECT DISTINCT origin_id FROM files").values().map((r) => String(r[0]));
    const order = [...originOrder.filter((o) => known.includes(o)), ...known.filter((o) => !originOrder.includes(o)).sort()];
    const view = this.scope.viewId;
    const q =
      view === null
        ? this.db.stmt("SELECT id FROM files WHERE origin_id = ? AND virtual_path IS NULL ORDER BY real_path")
        : this.db.stmt(
            `SELECT id FROM files f WHERE origin_id = ?1 AND NOT EXISTS
               (SELECT 1 FROM view_placements p WHERE p.view_id = ?2 AND p.file_id = f.id) ORDER BY real_path`,
          );
    const out: FileId[] = [];
    for (const origin of order) for (const r of view === null ? q.values(origin) : q.values(origin, view)) out.push(asFileId(Number(r[0])));
    return out;
  }

  /** Every file placed in this tree, by id. */
  placedFileIds(): FileId[] {
    const rows =
      this.scope.viewId === null
        ? this.db.stmt("SELECT id FROM files WHERE virtual_path IS NOT NULL ORDER BY id").values()
        : this.db.stmt("SELECT file_id FROM view_placements WHERE view_id = ? ORDER BY file_id").values(this.scope.viewId);
    return rows.map((r) => asFileId(Number(r[0])));
  }

  /**
   * Records where a file was placed: the path the template asked for and the one it got (null, null: unplaced). The
   * main tree keeps both in `files` (virtual_path is what search results link to); a view keeps the asked-for path.
   */
  setPlacement(fileId: FileId, templatePath: string | null, virtualPath: string | null): void {
    const view = this.scope.viewId;
    if (view === null) this.db.stmt("UPDATE files SET template_path = ?, virtual_path = ? WHERE id = ?").run(templatePath, virtualPath, fileId);
    else if (templatePath === null) this.db.stmt("DELETE FROM view_placements WHERE view_id = ? AND file_id = ?").run(view, fileId);
    else
      this.db
        .stmt("INSERT OR REPLACE INTO view_placements (view_id, file_id, template_path) VALUES (?, ?, ?)")
        .run(view, fileId, templatePath);
  }

  /** The path the template asked for when the file was placed in this tree; null when it is not placed. */
  placedTemplatePath(fileId: FileId): string | null {
    const view = this.scope.viewId;
    const row =
      view === null
        ? this.db.stmt("SELECT template_path FROM files WHERE id = ? AND virtual_path IS NOT NULL").values(fileId)[0]
        : this.db.stmt("SELECT template_path FROM view_placements WHERE view_id = ? AND file_id = ?").values(view, fileId)[0];
    return row === undefined || row[0] === null ? null : String(row[0]);
  }

  nodeCount(): number {
    return Number(this.db.stmt("SELECT count(*) FROM nodes").values()[0][0]);
  }
}
