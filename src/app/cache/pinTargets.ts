/**
 * What a pinned path names, in the mount's own terms: a track or folder of the tree (any view's too), a
 * `/.search/<query>/` folder or a `/.collections/<name>/` folder — and, later, which files that is now.
 */
import { UserError } from "../../core/errors.ts";
import type { FileId, Ino } from "../../core/types.ts";
import { asIno } from "../../core/ids.ts";
import type { NodeReader } from "../../db/nodeReader.ts";
import type { PinKind, PinnedFileRef, StoredPin } from "../../db/pinStore.ts";
import { NodeKind, ROOT_INO } from "../../db/treeStore.ts";
import type { CollectionCatalog } from "../../search/collectionCatalog.ts";
import { SEARCH_DIR_MAX_RESULTS } from "../../search/searchDirEntries.ts";
import type { SearchIndex } from "../../search/searchIndex.ts";

export interface PinLookup {
  nodes: NodeReader;
  search: SearchIndex;
  catalog: CollectionCatalog;
  /** A file's origin and origin path (how a files pin is stored), null when it left the library. */
  refOf: (id: FileId) => PinnedFileRef | null;
  /** The file at an origin path now, null when there is none. */
  idOf: (ref: PinnedFileRef) => FileId | null;
}

export interface PinTarget {
  kind: PinKind;
  label: string;
  key: string | null;
  files: FileId[];
}

/** A mount-relative path as pins name it: no leading, trailing or doubled slashes. */
export function pinLabel(path: string): string {
  return path.split("/").filter((c) => c !== "" && c !== ".").join("/");
}

/** Resolves a mount-relative path to what a pin of it stores. Throws a UserError naming the path when it names nothing pinnable. */
export function targetOfPath(path: string, lookup: PinLookup): PinTarget {
  const label = pinLabel(path);
  const parts = label === "" ? [] : label.split("/");
  if (parts[0] === ".search" || parts[0] === ".collections") {
    const kind = parts[0] === ".search" ? "search" : "collection";
    if (parts.length !== 2)
      throw new UserError(`"/${label}" is not a ${kind} folder.`, `Pin the folder itself (/${parts[0]}/NAME) or the track in the tree that the link points to.`);
    const key = parts[1]!;
    return { kind, label, key, files: filesOfKey(kind, key, lookup) };
  }
  let node = lookup.nodes.node(ROOT_INO);
  for (const name of parts) {
    node = node && node.kind === NodeKind.Dir ? lookup.nodes.child(node.ino, name) : null;
    if (!node) throw new UserError(`There is no "/${label}" in the mount.`, "Pass a track or folder inside the mounted library (ls shows what is there).");
  }
  if (!node || node.kind === NodeKind.Cover) throw new UserError(`"/${label}" is a cover image, not music.`, "Pin its album folder.");
  const files = node.kind === NodeKind.File ? [node.fileId!] : filesUnder(node.ino, lookup.nodes);
  return { kind: "files", label, key: null, files };
}

/** The files a stored pin names now: its files still in the library, or its query's (collection's) tracks today. */
export function filesOfPin(pin: StoredPin, refs: readonly PinnedFileRef[], lookup: PinLookup): FileId[] {
  if (pin.kind === "files") return refs.map(lookup.idOf).filter((id): id is FileId => id !== null);
  try {
    return filesOfKey(pin.kind, pin.key ?? "", lookup);
  } catch {
    return []; // a collection removed since, or a query that no longer parses: pins nothing (shown as 0 files)
  }
}

function filesOfKey(kind: "search" | "collection", key: string, lookup: PinLookup): FileId[] {
  if (kind === "search") return lookup.search.search(key, { limit: SEARCH_DIR_MAX_RESULTS }).results.map((r) => r.fileId);
  const ids = lookup.catalog.resolve(key, SEARCH_DIR_MAX_RESULTS);
  if (ids === null) throw new UserError(`There is no collection named "${key}".`, "List them with: musicfs collection list");
  return ids;
}

/** Every file below a folder (views' folders and album folders alike), walked a page at a time. */
function filesUnder(dir: Ino, nodes: NodeReader): FileId[] {
  const out: FileId[] = [];
  const stack = [dir];
  while (stack.length > 0) {
    const parent = stack.pop()!;
    let after = asIno(0);
    for (;;) {
      const page = nodes.children(parent, after, 500);
      if (page.length === 0) break;
      for (const n of page) {
        if (n.kind === NodeKind.Dir) stack.push(n.ino);
        else if (n.kind === NodeKind.File && n.fileId !== null) out.push(n.fileId);
      }
      after = page[page.length - 1]!.ino;
    }
  }
  return out;
}
