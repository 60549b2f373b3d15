/**
 * Collision resolution for virtual paths, pure and deterministic.
 *
 * Names are compared by `nameKey`: NFC and case-folded. NFC because "é" typed two ways is one name to a person;
 * case-folded because the tree is browsed from Samba and macOS clients, where "Song.flac" and "song.flac" are the
 * same file, and one would hide the other. Directories never collide: files that want "ABBA/…" and "Abba/…" share
 * one directory, spelt as it was first allocated. Files do: the later one (in caller order) gets " (2)", " (3)"…
 * before its extension.
 *
 * Stability: a file that already has a stored path keeps it as long as that path is still its desired path, or
 * the desired path with a suffix (so "Intro (2).flac" stays "Intro (2).flac" even after "Intro.flac" is removed,
 * and players' playlists keep working). A file whose tags or template changed gets a fresh allocation.
 */
import { MAX_NAME_BYTES, truncateUtf8, utf8Length } from "./sanitize.ts";

/** A virtual path as components, e.g. ["Queen", "A Kind of Magic (1986) [FLAC]", "01 - One Vision.flac"]. */
export type VirtualPath = readonly string[];

/** The comparison form of one name: NFC, case-folded. */
export function nameKey(name: string): string {
  return name.normalize("NFC").toLowerCase();
}

/** The comparison form of a whole path. */
export function pathKey(path: VirtualPath): string {
  return path.map(nameKey).join("/");
}

const EXTENSION = /\.[A-Za-z0-9]{1,10}$/;

/** "Title.flac" with n=2 → "Title (2).flac"; shortens the stem so the result stays within 255 bytes. */
export function withSuffix(fileName: string, n: number): string {
  if (n <= 1) return fileName;
  const match = EXTENSION.exec(fileName);
  const extension = match && match.index > 0 ? match[0] : "";
  const stem = fileName.slice(0, fileName.length - extension.length);
  const suffix = ` (${n})`;
  const budget = MAX_NAME_BYTES - utf8Length(suffix) - utf8Length(extension);
  return truncateUtf8(stem, budget).trimEnd() + suffix + extension;
}

/** The suffix number of `actual` relative to `desired` (1 when equal), or null when it is not a suffixed form. */
export function suffixNumber(desired: string, actual: string): number | null {
  if (nameKey(desired) === nameKey(actual)) return 1;
  const m = / \((\d{1,6})\)(\.[A-Za-z0-9]{1,10})?$/.exec(actual);
  if (!m) return null;
  const n = Number(m[1]);
  return n >= 2 && nameKey(withSuffix(desired, n)) === nameKey(actual) ? n : null;
}

export interface PathRequest<Id> {
  id: Id;
  /** The rendered template path. */
  desired: VirtualPath;
  /** The path stored from an earlier allocation, if any. */
  current?: VirtualPath | null;
}

/**
 * The set of allocated paths: file keys taken, and the first spelling of every directory. Seed it with the paths
 * that are not being (re)allocated (`occupy`), then `assign` a batch. Reusable across batches of one scan.
 */
export class PathAllocator {
  private readonly files = new Set<string>();
  private readonly dirSpelling = new Map<string, string>();

  /** Marks an existing path as taken (a file not in the batch being assigned). */
  occupy(path: VirtualPath): void {
    this.files.add(pathKey(this.canonicalDirs(path)));
  }

  isTaken(path: VirtualPath): boolean {
    return this.files.has(pathKey(path));
  }

  /**
   * Assigns final paths to `requests`, in the order given: that order is the priority (the integrator passes files
   * ordered by origin priority, then realPath). Files whose current path still fits keep it, whatever their order.
   */
  assign<Id>(requests: readonly PathRequest<Id>[]): Map<Id, VirtualPath> {
    const result = new Map<Id, VirtualPath>();
    const pending: PathRequest<Id>[] = [];
    for (const request of requests) {
      const kept = request.current ? this.keepCurrent(request.desired, request.current) : null;
      if (kept) result.set(request.id, kept);
      else pending.push(request);
    }
    for (const request of pending) result.set(request.id, this.allocate(request.desired));
    return result;
  }

  /** The first free form of `desired`: itself, else with " (2)", " (3)"… on the file name. */
  allocate(desired: VirtualPath): VirtualPath {
    const path = this.canonicalDirs(desired);
    const dirs = path.slice(0, -1);
    const name = path[path.length - 1];
    for (let n = 1; ; n++) {
      const candidate = [...dirs, withSuffix(name, n)];
      const key = pathKey(candidate);
      if (!this.files.has(key)) {
        this.files.add(key);
        return candidate;
      }
    }
  }

  private keepCurrent(desired: VirtualPath, current: VirtualPath): VirtualPath | null {
    if (current.length !== desired.length || current.length === 0) return null;
    for (let i = 0; i < current.length - 1; i++) if (nameKey(current[i]) !== nameKey(desired[i])) return null;
    if (suffixNumber(desired[desired.length - 1], current[current.length - 1]) === null) return null;
    const path = this.canonicalDirs(current);
    const key = pathKey(path);
    if (this.files.has(key)) return null;
    this.files.add(key);
    return path;
  }

  /** Replaces each directory component by the spelling first allocated for it (and records new spellings). */
  private canonicalDirs(path: VirtualPath): string[] {
    const out: string[] = [];
    let prefix = "";
    for (let i = 0; i < path.length; i++) {
      if (i === path.length - 1) {
        out.push(path[i]);
        break;
      }
      prefix += "/" + nameKey(path[i]);
      let spelling = this.dirSpelling.get(prefix);
      if (spelling === undefined) {
        spelling = path[i].normalize("NFC");
        this.dirSpelling.set(prefix, spelling);
      }
      out.push(spelling);
    }
    return out;
  }
}

/** One-shot form: allocates `requests` (in priority order) around the `occupied` paths. */
export function assignPaths<Id>(requests: readonly PathRequest<Id>[], occupied: Iterable<VirtualPath> = []): Map<Id, VirtualPath> {
  const allocator = new PathAllocator();
  for (const path of occupied) allocator.occupy(path);
  return allocator.assign(requests);
}
