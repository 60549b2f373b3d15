import { sameOriginVersion } from "../core/originVersion.ts";
import type { FileId } from "../core/types.ts";

/** What the database remembers of one origin file. */
export interface StoredIdentity {
  id: FileId;
  realPath: string;
  size: number;
  mtimeMs: number;
  /** The origin's content tag (S3 ETag) as stored, or null. */
  etag?: string | null;
  /** The row lacks something a newer musicfs reads from the file (an upgrade): parse it again as if modified. */
  stale?: boolean;
}

export type FileChange = "added" | "modified" | "unchanged";

export interface DeltaCounts {
  added: number;
  modified: number;
  unchanged: number;
}

/** Where the classifier gets stored rows from (the database, or a list in tests). */
export interface StoredLookup {
  /** Stored files directly in folder `dir` ("" = origin root, else "a/b/"). */
  inDir(dir: string): Iterable<StoredIdentity>;
  /** Every stored file's id and path, streamed. */
  all(): Iterable<{ id: FileId; realPath: string }>;
}

/**
 * The identity rule: same size, and the same ETag where the origin has one (object stores: an overwrite changes
 * it, while times are only as precise as the store keeps them), else the same mtime.
 */
export function sameContent(stored: Pick<StoredIdentity, "size" | "mtimeMs" | "etag">, size: number, mtimeMs: number, etag?: string): boolean {
  if (etag !== undefined && stored.etag) return stored.size === size && stored.etag === etag;
  return sameOriginVersion(stored, { size, mtimeMs });
}

/** "a/b/c.flac" → "a/b/"; "c.flac" → "". */
export function dirOf(realPath: string): string {
  return realPath.slice(0, realPath.lastIndexOf("/") + 1);
}

/** True when `path` is one of `prefixes` or lies below one ("" covers everything). */
export function isUnder(path: string, prefixes: readonly string[]): boolean {
  return prefixes.some((p) => p === "" || path === p || path.startsWith(`${p}/`));
}

/**
 * Classifies one origin's files against what is stored, folder by folder as the walk finds them: same size and
 * mtime = unchanged (the file is not read again), present on both sides otherwise = modified, only on the origin =
 * added. Only the stored rows of the folder being walked are in memory, so a sync of a million unchanged files
 * costs one indexed query per folder and a streamed pass, not a million-entry map.
 *
 * Removed files (`removed`, only once the walk is known to be complete): stored rows of a walked folder that the
 * walk did not see, and every stored row of a folder the walk never reached.
 */
export class DeltaClassifier {
  readonly counts: DeltaCounts = { added: 0, modified: 0, unchanged: 0 };
  private readonly walkedDirs = new Set<string>();
  private readonly unseenInWalkedDirs: { id: FileId; realPath: string }[] = [];
  private currentDir: string | null = null;
  private current = new Map<string, StoredIdentity>();

  /**
   * @param scope the relative paths (files or folders) the walk covers; undefined = the whole origin. Stored files
   *   outside the scope are never judged.
   */
  constructor(
    private readonly stored: StoredLookup,
    private readonly scope?: readonly string[],
  ) {}

  classify(realPath: string, size: number, mtimeMs: number, etag?: string): FileChange {
    const dir = dirOf(realPath);
    if (dir !== this.currentDir) this.enter(dir);
    const known = this.current.get(realPath);
    this.current.delete(realPath);
    const change: FileChange = !known ? "added" : !known.stale && sameContent(known, size, mtimeMs, etag) ? "unchanged" : "modified";
    this.counts[change]++;
    return change;
  }

  private enter(dir: string): void {
    this.leave();
    this.currentDir = dir;
    // Files of one folder come together; a folder seen again (unusual walk order) was already judged.
    if (this.walkedDirs.has(dir)) return;
    this.walkedDirs.add(dir);
    for (const s of this.stored.inDir(dir)) if (!this.scope || isUnder(s.realPath, this.scope)) this.current.set(s.realPath, s);
  }

  private leave(): void {
    for (const s of this.current.values()) this.unseenInWalkedDirs.push({ id: s.id, realPath: s.realPath });
    this.current = new Map();
  }

  /**
   * Stored files the walk did not see. Files at or below `unreadable` paths (which the walk could not read this
   * time) are kept — a permission problem must not delete part of the library; "." means the whole origin.
   */
  removed(unreadable: readonly string[] = []): FileId[] {
    this.leave();
    this.currentDir = null;
    if (unreadable.includes(".") || unreadable.includes("")) return [];
    const keep = (path: string) => isUnder(path, unreadable) || (this.scope !== undefined && !isUnder(path, this.scope));
    const out: FileId[] = [];
    for (const s of this.unseenInWalkedDirs) if (!keep(s.realPath)) out.push(s.id);
    for (const s of this.stored.all()) {
      if (this.walkedDirs.has(dirOf(s.realPath)) || keep(s.realPath)) continue;
      out.push(s.id);
    }
    return out;
  }
}
