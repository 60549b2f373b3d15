/**
 * Worker-side access to complete data files (see dataFileStore.ts): synchronous, no database. The name of a file
 * version's data file follows from the tree row a worker already has (file id, size, mtime), and a data file exists
 * under that name only once it is complete and was verified, so "is it cached?" is one open(2).
 */
import { closeSync, openSync } from "node:fs";
import { readFullySync } from "../core/readFully.ts";
import { dataFilePath } from "./dataFilePaths.ts";
import type { DataFileRef } from "./dataFileStore.ts";

export class DataFileReader {
  constructor(readonly dataDir: string) {}

  /** A new fd of the file version's complete data file (the caller closes it), or null when there is none. */
  open(ref: DataFileRef): number | null {
    try {
      return openSync(dataFilePath(this.dataDir, ref.fileId, ref.size, ref.mtimeMs), "r");
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
}
