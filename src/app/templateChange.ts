import type { Database } from "../db/database.ts";
import type { TreeBuilder } from "../library/treeBuilder.ts";
import { log } from "../core/logger.ts";
import { plural } from "../core/plural.ts";

/**
 * The tree is laid out by one template. When the configured template differs from the one the stored tree was
 * built with, the tree is rebuilt (O(library), but only when the user changed the layout). Returns true if rebuilt.
 */
export function applyTemplateChange(db: Database, tree: TreeBuilder, template: string, originOrder: string[]): boolean {
  const stored = db.getMeta("template");
  if (stored === template) return false;
  if (stored !== null) {
    const t0 = performance.now();
    db.transaction(() => tree.store.clear());
    const placed = tree.placeUnplaced(originOrder);
    log.info(`Template changed: the tree was rebuilt for ${plural(placed.placed, "file")} in ${Math.round(performance.now() - t0)} ms.`);
  }
  db.setMeta("template", template);
  return stored !== null;
}
