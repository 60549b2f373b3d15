import { open, opendir, stat, realpath } from "node:fs/promises";
import { join } from "node:path";
import type { OriginId } from "../core/types.ts";
import { errnoCode, errorMessage } from "../core/errors.ts";
import { tildify } from "../core/logger.ts";
import type { Origin, OriginEntry, WalkReport } from "./origin.ts";

/** A folder on this machine (a local disk, or an NFS/SMB mount). */
export class LocalOrigin implements Origin {
  readonly kind = "local" as const;
  readonly displayName: string;

  constructor(
    readonly id: OriginId,
    /** Absolute path of the origin root. */
    readonly root: string,
  ) {
    this.displayName = tildify(root);
  }

  localPath(realPath: string): string {
    return join(this.root, realPath);
  }

  async isAvailable(): Promise<boolean> {
    try {
      return (await stat(this.root)).isDirectory();
    } catch {
      return false;
    }
  }

  async stat(realPath: string): Promise<{ size: number; mtimeMs: number }> {
    const s = await stat(this.localPath(realPath));
    return { size: s.size, mtimeMs: Math.floor(s.mtimeMs) };
  }

  async read(realPath: string, offset: number, length: number): Promise<Uint8Array> {
    const fh = await open(this.localPath(realPath), "r");
    try {
      const buf = new Uint8Array(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return got === length ? buf : buf.subarray(0, got);
    } finally {
      await fh.close();
    }
  }

  async *stream(realPath: string, offset: number, chunkSize = 256 * 1024): AsyncIterable<Uint8Array> {
    const fh = await open(this.localPath(realPath), "r");
    try {
      let pos = offset;
      for (;;) {
        const buf = new Uint8Array(chunkSize);
        const { bytesRead } = await fh.read(buf, 0, chunkSize, pos);
        if (bytesRead === 0) return;
        pos += bytesRead;
        yield bytesRead === chunkSize ? buf : buf.subarray(0, bytesRead);
      }
    } finally {
      await fh.close();
    }
  }

  /**
   * Depth-first walk. Follows symlinks (libraries are often assembled from links) but never enters a directory
   * twice, which breaks loops; unreadable entries are reported, not fatal.
   */
  async *walk(report: WalkReport = { unreadable: [], symlinkLoops: 0 }): AsyncIterable<OriginEntry> {
    const seenDirs = new Set<string>();
    const rootReal = await realpath(this.root);
    seenDirs.add(rootReal);
    const stack: string[] = [""];
    while (stack.length > 0) {
      const rel = stack.pop()!;
      const abs = rel ? join(this.root, rel) : this.root;
      let dir;
      try {
        dir = await opendir(abs, { bufferSize: 256 });
      } catch (e) {
        report.unreadable.push({ path: rel || ".", reason: errnoCode(e) ?? errorMessage(e) });
        continue;
      }
      const subdirs: string[] = [];
      try {
        for await (const d of dir) {
          const childRel = rel ? `${rel}/${d.name}` : d.name;
          const childAbs = join(abs, d.name);
          let isDir = d.isDirectory();
          let isFile = d.isFile();
          if (d.isSymbolicLink() || (!isDir && !isFile)) {
            try {
              const s = await stat(childAbs);
              isDir = s.isDirectory();
              isFile = s.isFile();
              if (isDir) {
                const real = await realpath(childAbs);
                if (seenDirs.has(real)) {
                  report.symlinkLoops++;
                  continue;
                }
                seenDirs.add(real);
              }
            } catch (e) {
              report.unreadable.push({ path: childRel, reason: errnoCode(e) ?? errorMessage(e) });
              continue;
            }
          } else if (isDir) {
            // A real directory can still be reached again through a symlink elsewhere; remember it by identity.
            try {
              const real = await realpath(childAbs);
              if (seenDirs.has(real)) continue;
              seenDirs.add(real);
            } catch {
              /* reported when opened */
            }
          }
          if (isDir) subdirs.push(childRel);
          else if (isFile) {
            try {
              const s = await stat(childAbs);
              yield { realPath: childRel, size: s.size, mtimeMs: Math.floor(s.mtimeMs) };
            } catch (e) {
              report.unreadable.push({ path: childRel, reason: errnoCode(e) ?? errorMessage(e) });
            }
          }
        }
      } catch (e) {
        report.unreadable.push({ path: rel || ".", reason: errnoCode(e) ?? errorMessage(e) });
      }
      // Reverse so that the walk visits subdirectories in listing order.
      for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i]);
    }
  }
}
