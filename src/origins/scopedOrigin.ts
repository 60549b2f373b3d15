import { stat } from "node:fs/promises";
import { errnoCode, errorMessage } from "../core/errors.ts";
import type { FsPath } from "../core/originPaths.ts";
import type { OriginId } from "../core/ids.ts";
import type { LocalOrigin } from "./localOrigin.ts";
import type { Origin, OriginEntry, StreamOptions, WalkReport } from "./origin.ts";

/**
 * An origin seen through a few of its paths only (what a watcher reported as changed, or a file a read found
 * changed): its walk covers just those files and folders, so a sync after an edit costs the edit, not the library.
 * A local folder is stat'ed (folders walked); a remote origin (an S3 bucket) gets one HEAD per path, and a path it
 * says is gone (`kind: "gone"`, NoSuchKey) is not listed — the caller's classifier sees it as removed.
 */
export class ScopedOrigin implements Origin {
  readonly id: OriginId;
  readonly displayName: string;

  constructor(
    private readonly origin: LocalOrigin | Origin,
    /** Relative paths, no leading slash; "" would mean the whole origin. */
    readonly scope: readonly string[],
  ) {
    this.id = origin.id;
    this.displayName = origin.displayName;
    const local = origin.localPath?.bind(origin);
    if (local) this.localPath = local;
  }

  /** Local folders only: a remote origin's files have no path here (the scanner then reads them through the origin). */
  readonly localPath?: (realPath: string) => FsPath;
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
  stream(realPath: string, offset: number, chunkSize?: number, opts?: StreamOptions) {
    return this.origin.stream(realPath, offset, chunkSize, opts);
  }

  async *walk(report: WalkReport = { unreadable: [], symlinkLoops: 0 }): AsyncIterable<OriginEntry[]> {
    const origin = this.origin;
    if (!isLocal(origin)) {
      yield* this.walkRemote(origin, report);
      return;
    }
    for (const rel of this.scope) {
      let s;
      try {
        s = await stat(origin.localPath(rel));
      } catch (e) {
        if (errnoCode(e) !== "ENOENT" && errnoCode(e) !== "ENOTDIR") report.unreadable.push({ path: rel, reason: errnoCode(e) ?? errorMessage(e) });
        continue; // gone: the caller's classifier sees it as removed
      }
      if (s.isFile()) yield [{ realPath: rel, size: s.size, mtimeMs: Math.floor(s.mtimeMs) }];
      else if (s.isDirectory()) yield* origin.walk(report, rel);
    }
  }

  private async *walkRemote(origin: Origin, report: WalkReport): AsyncIterable<OriginEntry[]> {
    for (const rel of this.scope) {
      try {
        const s = await origin.stat(rel);
        yield [{ realPath: rel, size: s.size, mtimeMs: s.mtimeMs, ...(s.etag === undefined ? {} : { etag: s.etag }) }];
      } catch (e) {
        // Gone: not listed (removed). Anything else (unreachable, denied): unreadable, so nothing is removed.
        if ((e as { kind?: unknown }).kind !== "gone") report.unreadable.push({ path: rel, reason: errorMessage(e) });
      }
    }
  }
}

/** A local folder (its files have paths on this machine); else a remote store. */
function isLocal(o: LocalOrigin | Origin): o is LocalOrigin {
  return typeof o.localPath === "function";
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
