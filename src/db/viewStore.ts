import type { FileId, Ino, ViewId } from "../core/types.ts";
import type { Database } from "./database.ts";
import { NodeKind, ROOT_INO } from "./treeStore.ts";
import { asFileId, asIno, asViewId } from "../core/ids.ts";

/** A view as stored: the template its placements were made with ("" while its first placement is under way). */
export interface StoredView {
  id: ViewId;
  name: string;
  template: string;
  /** Its top-level folder. */
  ino: Ino;
}

/** The nodes below (and including) `?1`: a folder's subtree, following `parent` (indexed by UNIQUE (parent, name)). */
const SUBTREE = "WITH RECURSIVE sub(ino) AS (SELECT ?1 UNION ALL SELECT n.ino FROM nodes n JOIN sub ON n.parent = sub.ino)";

/**
 * The `views` table and what a view's coming and going needs of the tree (schema.sql, "Views"). A view's files and
 * folders are written by its own TreeStore (scope: the view); this creates and drops whole views. Main thread only.
 */
export class ViewStore {
  constructor(private readonly db: Database) {}

  all(): StoredView[] {
    return this.db
      .stmt("SELECT id, name, template, ino FROM views ORDER BY id")
      .values()
      .map((r) => ({ id: asViewId(Number(r[0])), name: String(r[1]), template: String(r[2]), ino: asIno(Number(r[3])) }));
  }

  /** Creates a view and its top-level folder (the root must have no entry of that name: see mainEntryNamed). */
  create(name: string, nowMs: number): StoredView {
    const id = asViewId(Number(this.db.stmt("INSERT INTO views (name, template, ino) VALUES (?, '', 0) RETURNING id").values(name)[0][0]));
    const ino = asIno(Number(
      this.db
        .stmt(`INSERT INTO nodes (parent, name, kind, file_id, mtime_ms, view_id) VALUES (${ROOT_INO}, ?, ${NodeKind.Dir}, NULL, ?, ?) RETURNING ino`)
        .values(name, nowMs, id)[0][0],
    ));
    this.db.stmt("UPDATE views SET ino = ? WHERE id = ?").run(ino, id);
    this.db.stmt("UPDATE nodes SET mtime_ms = ? WHERE ino = ? AND mtime_ms < ?").run(nowMs, ROOT_INO, nowMs);
    return { id, name, template: "", ino };
  }

  /** The view's placements are complete for `template`. */
  setTemplate(id: ViewId, template: string): void {
    this.db.stmt("UPDATE views SET template = ? WHERE id = ?").run(template, id);
  }

  /** Drops a view: its folder with everything below it (files, folders, covers) and its placements. */
  remove(view: StoredView): void {
    this.db.stmt(`${SUBTREE} DELETE FROM nodes WHERE ino IN (SELECT ino FROM sub)`).run(view.ino);
    this.db.stmt("DELETE FROM view_placements WHERE view_id = ?").run(view.id);
    this.db.stmt("DELETE FROM views WHERE id = ?").run(view.id);
  }

  /** The main tree's entry of this name at the root (an artist folder named like a new view), if any. */
  mainEntryNamed(name: string): Ino | null {
    const row = this.db.stmt(`SELECT ino FROM nodes WHERE parent = ${ROOT_INO} AND name = ? AND view_id IS NULL`).values(name)[0];
    return row ? asIno(Number(row[0])) : null;
  }

  /** The files placed at or below node `ino`. */
  filesBelow(ino: Ino): FileId[] {
    return this.db
      .stmt(`${SUBTREE} SELECT n.file_id FROM nodes n JOIN sub ON n.ino = sub.ino WHERE n.file_id IS NOT NULL`)
      .values(ino)
      .map((r) => asFileId(Number(r[0])));
  }

  /**
   * Main-tree files whose template asked for top-level folder `name` (placed as "name (2)" while a view had it).
   * Reads every file: only when a view is removed.
   */
  mainFilesWantingTop(name: string): FileId[] {
    return this.db
      .stmt("SELECT id FROM files WHERE template_path >= ? AND template_path < ? AND virtual_path IS NOT NULL")
      .values(`${name}/`, `${name}0`) // "/" + 1 = "0": every path below the folder `name`
      .map((r) => asFileId(Number(r[0])));
  }
}
