import type { FileId } from "../core/types.ts";

/** What the database remembers of one origin file. */
export interface StoredIdentity {
  id: FileId;
  realPath: string;
  size: number;
  mtimeMs: number;
}

export type FileChange = "added" | "modified" | "unchanged";

export interface DeltaCounts {
  added: number;
  modified: number;
  unchanged: number;
}

/**
 * Classifies one origin's files against what is stored, as the walk finds them: same size and mtime = unchanged
 * (the file is not read again), present on both sides otherwise = modified, only on the origin = added. What was
 * stored but never seen is removed — decided only once the walk is known to be complete. Pure.
 */
export class DeltaClassifier {
  private readonly stored = new Map<string, StoredIdentity>();
  private readonly seen = new Set<string>();
  readonly counts: DeltaCounts = { added: 0, modified: 0, unchanged: 0 };

  constructor(stored: Iterable<StoredIdentity>) {
    for (const s of stored) this.stored.set(s.realPath, s);
  }

  get storedCount(): number {
    return this.stored.size;
  }

  classify(realPath: string, size: number, mtimeMs: number): FileChange {
    this.seen.add(realPath);
    const known = this.stored.get(realPath);
    const change: FileChange = !known ? "added" : known.size === size && known.mtimeMs === mtimeMs ? "unchanged" : "modified";
    this.counts[change]++;
    return change;
  }

  /**
   * Stored files the walk did not see. Files below `unreadablePrefixes` (folders the walk could not list this
   * time) are kept: a permission problem must not delete part of the library.
   */
  removed(unreadablePrefixes: readonly string[] = []): StoredIdentity[] {
    if (unreadablePrefixes.includes(".") || unreadablePrefixes.includes("")) return [];
    const out: StoredIdentity[] = [];
    for (const [path, s] of this.stored) {
      if (this.seen.has(path)) continue;
      if (unreadablePrefixes.some((p) => path === p || path.startsWith(p + "/"))) continue;
      out.push(s);
    }
    return out;
  }
}
