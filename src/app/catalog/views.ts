import type { ViewConfig } from "../../config/config.ts";
import { log } from "../../core/logger.ts";
import { plural } from "../../core/plural.ts";
import type { FileId, Ino } from "../../core/types.ts";
import type { Database } from "../../db/database.ts";
import { ViewStore, type StoredView } from "../../db/viewStore.ts";
import { TreeBuilder, type AllocateName, type PlacementResult, type RenderPath } from "./treeBuilder.ts";

/**
 * The views of a library (docs/templates.md, "Views"): extra top-level folders, each laid out by its own template,
 * in which every file appears once more as a real file node. Each view is a TreeBuilder over its own scope (its
 * folder, its placements in `view_placements`), so it follows the same rules as the main tree: deterministic
 * " (2)" suffixes, one folder per album, inodes kept for as long as a file's path stays.
 *
 * Placements are stored: a mount whose views are as configured does nothing here (one query). A view added,
 * changed or removed in the config is laid out, re-laid out (keeping the inodes of unchanged paths) or dropped at
 * the next mount, that view only.
 */
export class LibraryViews {
  readonly store: ViewStore;
  private trees: { view: StoredView; tree: TreeBuilder }[] = [];

  constructor(
    private readonly db: Database,
    private readonly configured: readonly ViewConfig[],
    private readonly renderFor: (template: string) => RenderPath,
    private readonly allocate: AllocateName,
  ) {
    this.store = new ViewStore(db);
    // Stored views that are still configured work at once: files removed before apply() (an origin no longer
    // configured) leave them too, pruning their folders; a changed template is re-laid out by apply().
    const stored = this.store.all();
    for (const c of configured) {
      const view = stored.find((s) => s.name === c.name);
      if (view) this.trees.push({ view, tree: this.builder(view, c.template) });
    }
  }

  /**
   * Brings the stored views in step with the configured ones (at mount, before anything is served): removes views no
   * longer configured, lays out new ones, re-lays out those whose template changed — or all of them when
   * `relayoutAll` (the album rules changed). `main` is the main tree, whose folders give way to a new view of their
   * name and come back when the view goes. Returns true when any view changed.
   */
  apply(main: TreeBuilder, originOrder: readonly string[], relayoutAll: boolean, nowMs = Date.now()): boolean {
    const t0 = performance.now();
    const stored = this.store.all();
    const done: string[] = [];
    for (const view of stored) {
      if (this.configured.some((c) => c.name === view.name)) continue;
      this.db.transaction(() => this.store.remove(view));
      // The main tree's folder of that name had given way ("Name (2)"): it gets its name back.
      this.replaceMain(main, this.store.mainFilesWantingTop(view.name), originOrder, nowMs);
      done.push(`"${view.name}" removed`);
    }
    this.trees = [];
    for (const c of this.configured) {
      let view = stored.find((s) => s.name === c.name);
      if (!view) {
        const taken = this.store.mainEntryNamed(c.name);
        // A main-tree folder of that name (an artist) moves aside first: the view's name is the user's choice.
        if (taken !== null) {
          const moving = this.store.filesBelow(taken);
          this.db.transaction(() => this.unplaceMain(main, moving, nowMs));
        }
        view = this.db.transaction(() => this.store.create(c.name, nowMs));
        main.placeUnplaced(originOrder, nowMs);
      }
      const tree = this.builder(view, c.template);
      this.trees.push({ view, tree });
      if (view.template === c.template && !relayoutAll) continue;
      // New (nothing placed yet: relayout is a placement), changed, or its first layout was interrupted (template
      // "" until it completes): files whose path stays keep their nodes, the others are placed.
      const { kept, placed } = tree.relayout(originOrder, nowMs);
      this.store.setTemplate(view.id, c.template);
      view.template = c.template;
      done.push(`"${c.name}" laid out (${plural(placed, "file")} placed, ${kept} kept)`);
    }
    if (done.length > 0) log.info(`Views: ${done.join(", ")} in ${Math.round(performance.now() - t0)} ms.`);
    return done.length > 0;
  }

  /** Places files whose tags or album changed in every view (delta sync; the caller's transaction). */
  replace(ids: readonly FileId[], nowMs: number, result: PlacementResult): void {
    for (const { tree } of this.trees) tree.replace(ids, nowMs, result);
  }

  /** Removes files' nodes from every view (their rows are deleted by the caller; the caller's transaction). */
  unplace(ids: readonly FileId[], nowMs: number, result: PlacementResult): void {
    for (const { tree } of this.trees) tree.unplace(ids, nowMs, result);
  }

  /** The nodes of these files in the views (for invalidation of their attributes and pages). */
  inodesOf(ids: readonly FileId[]): Ino[] {
    const out: Ino[] = [];
    for (const { tree } of this.trees) for (const id of ids) {
      const node = tree.store.nodeOfFile(id);
      if (node) out.push(node.ino);
    }
    return out;
  }

  private builder(view: StoredView, template: string): TreeBuilder {
    return new TreeBuilder(this.db, this.renderFor(template), this.allocate, { scope: { root: view.ino, viewId: view.id } });
  }

  private unplaceMain(main: TreeBuilder, ids: readonly FileId[], nowMs: number): void {
    for (const id of ids) {
      main.store.removeFileNode(id, nowMs);
      main.store.setPlacement(id, null, null);
    }
  }

  private replaceMain(main: TreeBuilder, ids: readonly FileId[], originOrder: readonly string[], nowMs: number): void {
    if (ids.length === 0) return;
    this.db.transaction(() => this.unplaceMain(main, ids, nowMs));
    main.placeUnplaced(originOrder, nowMs);
  }
}
