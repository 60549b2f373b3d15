import { stat } from "node:fs/promises";
import { errnoCode, errorMessage } from "../core/errors.ts";
import type { FsPath } from "../core/originPaths.ts";
import type { LocalOrigin } from "./localOrigin.ts";
import type { Origin, OriginEntry, WalkReport } from "./origin.ts";

/**
 * A local origin seen through a few of its paths only (what a watcher reported as changed): its walk covers just
 * those files and folders, so a sync after an edit costs the edit, not the library.
 */
export class ScopedOrigin implements Origin {
  readonly id: string;
  readonly displayName: string;

  constructor(
    private readonly origin: LocalOrigin,
    /** Relative paths, no leading slash; "" would mean the whole origin. */
    readonly scope: readonly string[],
  ) {
    this.id = origin.id;
    this.displayName = origin.displayName;
  }

  localPath(realPath: string): FsPath {
    return this.origin.localPath(realPath);
  }
  isAvailable(): Promise<boolean> {
    return this.origin.isAvailable();
  }
  // A local folder has no retries to bound: deadlines (OriginCallOptions) do not apply.
  stat(realPath: string) {
    return this.origin.stat(realPath);
  }
  read(realPath: string, offset: number, length: number) {
    return this.origin.read(realPath, offset, length);
  }
  stream(realPath: string, offset: number, chunkSize?: number) {
    return this.origin.stream(realPath, offset, chunkSize);
  }

  async *walk(report: WalkReport = { unreadable: [], symlinkLoops: 0 }): AsyncIterable<OriginEntry[]> {
    for (const rel of this.scope) {
      let s;
      try {
        s = await stat(this.origin.localPath(rel));
      } catch (e) {
        if (errnoCode(e) !== "ENOENT" && errnoCode(e) !== "ENOTDIR") report.unreadable.push({ path: rel, reason: errnoCode(e) ?? errorMessage(e) });
        continue; // gone: the caller's classifier sees it as removed
      }
      if (s.isFile()) yield [{ realPath: rel, size: s.size, mtimeMs: Math.floor(s.mtimeMs) }];
      else if (s.isDirectory()) yield* this.origin.walk(report, rel);
    }
  }
}

/** Reduces a set of changed paths to the smallest covering set (drops paths inside another one). */
export function coveringPaths(paths: Iterable<string>): string[] {
  const sorted = [...new Set(paths)].map((p) => p.replace(/^\/+|\/+$/g, "")).sort();
  const out: string[] = [];
  for (const p of sorted) {
    if (p === "") return [""];
    const last = out[out.length - 1];
    if (last !== undefined && (p === last || p.startsWith(last + "/"))) continue;
    out.push(p);
  }
  return out;
}
