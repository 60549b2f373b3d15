import type { Database } from "../../db/database.ts";
import type { AlbumIndex } from "./albumIndex.ts";
import type { TreeBuilder } from "./treeBuilder.ts";
import { log } from "../../core/logger.ts";
import { plural } from "../../core/plural.ts";

/**
 * The tree is laid out by one template over stored albums. When the configured template differs from the one the
 * stored tree was built with, or the albums were built by older rules (an upgrade), the albums are recomputed and
 * the tree re-laid out — O(library), but only once, when the layout really changed; every file whose path stays
 * the same keeps its inode. Returns true if the tree was re-laid out.
 */
export function applyTemplateChange(
  db: Database,
  tree: TreeBuilder,
  albums: AlbumIndex,
  template: string,
  originOrder: string[],
): boolean {
  const stored = db.getMeta("template");
  const albumsOutdated = !albums.isCurrent();
  if (stored === template && !albumsOutdated) return false;
  const t0 = performance.now();
  if (albumsOutdated) albums.rebuildAll();
  let relaidOut = false;
  if (stored !== null) {
    const { kept, placed } = tree.relayout(originOrder);
    const why = stored !== template ? "Template changed" : "Albums are now grouped by album identity";
    log.info(
      `${why}: the tree was rebuilt in ${Math.round(performance.now() - t0)} ms (${plural(placed, "file")} moved, ${kept} kept their paths).`,
    );
    relaidOut = true;
  }
  db.setMeta("template", template);
  return relaidOut;
}
