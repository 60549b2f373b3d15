import type { FileId } from "../core/types.ts";
import type { OriginEntry } from "../origins/origin.ts";

/** What the database remembers of one origin file. */
export interface StoredIdentity {
  id: FileId;
  realPath: string;
  size: number;
  mtimeMs: number;
}

export interface DeltaClassification {
  added: OriginEntry[];
  modified: { id: FileId; entry: OriginEntry }[];
  removed: StoredIdentity[];
  unchanged: number;
}

/**
 * Classifies one origin's files against what is stored: same size and mtime = unchanged (the file is not read);
 * anything else present on both sides = modified; only on the origin = added; only stored = removed.
 * Pure: the caller walks the origin and loads the stored rows.
 */
export class DeltaClassifier {
  private readonly stored: Map<string, StoredIdentity>;
  private readonly seen = new Set<string>();
  readonly result: DeltaClassification = { added: [], modified: [], removed: [], unchanged: 0 };

  constructor(stored: Iterable<StoredIdentity>) {
    this.stored = new Map();
    for (const s of stored) this.stored.set(s.realPath, s);
  }

  /** Feed every audio file the walk finds, once. */
  observe(entry: OriginEntry): void {
    this.seen.add(entry.realPath);
    const known = this.stored.get(entry.realPath);
    if (!known) this.result.added.push(entry);
    else if (known.size === entry.size && known.mtimeMs === entry.mtimeMs) this.result.unchanged++;
    else this.result.modified.push({ id: known.id, entry });
  }

  /** Call when the walk is complete (and only then: an interrupted walk must not remove anything). */
  finish(): DeltaClassification {
    for (const [path, s] of this.stored) if (!this.seen.has(path)) this.result.removed.push(s);
    return this.result;
  }
}
