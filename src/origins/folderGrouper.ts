import type { OriginEntry } from "./origin.ts";

/**
 * Turns a flat listing in key order into batches of one folder each, every folder exactly once — what `walk`
 * promises (the delta classifier compares one folder at a time). A flat listing interleaves a folder's own files
 * with its subfolders' ("a/1", "a/b/2", "a/3"), but all keys below one folder are contiguous, so a folder is
 * complete as soon as a key outside it arrives. Only the chain of open ancestor folders is held in memory.
 */
export class FolderGrouper {
  /** Open folders, outermost first; each is a prefix of the next. */
  private readonly open: { dir: string; files: OriginEntry[] }[] = [];

  /** Adds the next entry in listing order; returns the folders it completed. */
  add(entry: OriginEntry): OriginEntry[][] {
    const dir = entry.realPath.slice(0, entry.realPath.lastIndexOf("/") + 1);
    const done: OriginEntry[][] = [];
    while (this.open.length > 0 && !dir.startsWith(this.open[this.open.length - 1].dir)) done.push(this.open.pop()!.files);
    const top = this.open[this.open.length - 1];
    if (top?.dir === dir) top.files.push(entry);
    else this.open.push({ dir, files: [entry] });
    return done;
  }

  /** The folders still open when the listing ended. */
  finish(): OriginEntry[][] {
    const done: OriginEntry[][] = [];
    while (this.open.length > 0) done.push(this.open.pop()!.files);
    return done;
  }
}
