/**
 * Worker-side access to complete data files (see dataFileStore.ts): synchronous, no database. The name of a file
 * version's data file follows from the tree row a worker already has (file id, size, mtime), and a data file exists
 * under that name only once it is complete and was verified, so "is it cached?" is one open(2).
 */
import { Database, type Statement } from "bun:sqlite";
import { closeSync, existsSync, openSync } from "node:fs";
import { join } from "node:path";
import { readFullySync } from "../core/readFully.ts";
import { dataFileDir, dataFilePath, partialDataFileName } from "./dataFilePaths.ts";
import type { DataFileRef } from "./dataFileStore.ts";
import { readChecksum } from "./manifestCodec.ts";

/** The largest chunk FastCDC cuts (its max size): a chunk covering `offset` starts at most this far before it. */
const MAX_CHUNK_BYTES = 256 * 1024;

export class DataFileReader {
  private progress: Statement | null | undefined;
  private scratch = new Uint8Array(0);

  /** `accessDbPath`: where fetch progress is recorded (for reads of what a running fetch already wrote). */
  constructor(
    readonly dataDir: string,
    private readonly accessDbPath?: string,
  ) {
    // Opened now, not by the first READ of a file not cached yet (each worker has its own connection): that READ
    // is someone's time to first byte.
    this.progressQuery();
  }

  /** A new fd of the file version's complete data file (the caller closes it), or null when there is none. */
  open(ref: DataFileRef): number | null {
    const path = dataFilePath(this.dataDir, ref.fileId, ref.size, ref.mtimeMs);
    // Asked by every READ of a file not cached yet, where the answer is "none": a failed openSync throws, and the
    // error object cost a FUSE worker ~60 µs per READ against a few µs for the stat (docs/benchmarks.md "The
    // workers' CPU per cold MiB"). A file deleted between the two is still caught below.
    if (!existsSync(path)) return null;
    try {
      return openSync(path, "r");
    } catch {
      return null;
    }
  }

  /**
   * Reads [offset, offset+size) into `out` from the complete data file, or returns null when there is none: for
   * READs that arrive without a data-file handle (an open made while the file was partial, album covers). Opened
   * per READ (a few µs) rather than kept open, so a data file deleted as damaged is never read again.
   */
  read(ref: DataFileRef, offset: number, size: number, out: Uint8Array): number | null {
    const fd = this.open(ref);
    if (fd === null) return null;
    try {
      return readFullySync(fd, out.subarray(0, Math.max(0, Math.min(size, ref.size - offset))), offset);
    } catch {
      return null;
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Reads [offset, offset+size) from the partial data file of a file being fetched (or whose fetch was cut off),
   * when the fetch has already written and recorded every chunk the range touches (table `fetch_progress`, one
   * indexed query). Each of those chunks is read whole and checked against its recorded XXH3 before any byte of it
   * is returned; null (the READ goes to the main thread) when the range is not all there or a check fails.
   */
  readPresent(ref: DataFileRef, offset: number, size: number, out: Uint8Array): number | null {
    const end = Math.min(ref.size, offset + size);
    if (offset >= end) return 0;
    const query = this.progressQuery();
    if (!query) return null;
    const rows = query.values(ref.fileId, end, offset, offset - MAX_CHUNK_BYTES) as [number, number, string, number, number][];
    if (rows.length === 0 || rows[0][0] > offset) return null;
    let covered = rows[0][0];
    for (const [at, length, , originSize, originMtime] of rows) {
      if (at !== covered || originSize !== ref.size || originMtime !== ref.mtimeMs) return null;
      covered = at + length;
    }
    if (covered < end) return null;
    const spanStart = rows[0][0];
    const span = covered - spanStart;
    // A READ on chunk boundaries (a sequential reader's, 1 MiB at a time) is read and checked in `out` itself: no
    // copy from a scratch buffer. `out` is the reply's buffer, written to the kernel only if this returns a length.
    const direct = spanStart === offset && covered === end && span <= out.length;
    if (!direct && this.scratch.length < span) this.scratch = new Uint8Array(span);
    const into = direct ? out.subarray(0, span) : this.scratch.subarray(0, span);
    let fd: number;
    try {
      fd = openSync(join(dataFileDir(this.dataDir, ref.fileId), partialDataFileName(ref.fileId, ref.size, ref.mtimeMs)), "r");
    } catch {
      return null;
    }
    try {
      if (readFullySync(fd, into, spanStart) !== span) return null;
    } catch {
      return null;
    } finally {
      closeSync(fd);
    }
    for (const [at, length, checksum] of rows)
      if (readChecksum(into.subarray(at - spanStart, at - spanStart + length)) !== BigInt(`0x${checksum}`)) return null;
    if (!direct) out.set(into.subarray(offset - spanStart, end - spanStart));
    return end - offset;
  }

  /** A read-only connection to access.db, opened on first use (null when there is none yet). */
  private progressQuery(): Statement | null {
    if (this.progress !== undefined) return this.progress;
    if (!this.accessDbPath) return (this.progress = null);
    try {
      const db = new Database(this.accessDbPath, { readonly: true });
      this.progress = db.query(
        "SELECT offset, length, checksum, origin_size, origin_mtime FROM fetch_progress WHERE file_id = ? AND offset < ? AND offset + length > ? AND offset > ? ORDER BY offset",
      );
    } catch {
      return null; // not created yet (no fetch ever ran): asked again at the next READ
    }
    return this.progress;
  }

}
