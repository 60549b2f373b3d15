/**
 * The progress of whole-file (primary) fetches, persisted as they go (`<chunks>/access.db`, table `fetch_progress`):
 * the chunks cut and stored so far, in order from offset 0 — the manifest's prefix. A fetch killed halfway (kill -9,
 * a crash, a power cut, an unmount) continues after a restart from the end of that prefix instead of from the start:
 * CDC restarts exactly at a chunk boundary, so the resumed pass cuts the same chunks as an uninterrupted one.
 *
 * Cheap: one transaction per ranged read of the primary (~14 rows of ~100 bytes per MiB), no fsync (access.db runs
 * WAL with synchronous = NORMAL: a kill -9 loses nothing that was committed; a power cut may lose the last rows, which
 * only means those chunks are fetched again, and a chunk whose file did not survive is found missing on read).
 * Rows are used only while the origin file has the recorded size and mtime; others are dropped when next loaded. The
 * completed manifest supersedes them (dropped when `ManifestCached` is emitted), as does the file leaving the library.
 *
 * The fetcher's thread, and the hash worker's (which records what it hashed: progressRecorder.ts), each over its own
 * connection.
 */
import { asContentId, type ContentId } from "../core/ids.ts";
import type { Database } from "bun:sqlite";
import { openAccessDb } from "./accessDb.ts";
import type { ChunkHex } from "./chunkHash.ts";
import type { OriginVersion } from "./rangeIndex.ts";

/** One chunk of a file's persisted prefix: bytes [offset, offset + length) are the chunk `hex`. */
export interface ProgressChunk {
  offset: number;
  length: number;
  hex: ChunkHex;
  /** The manifest's read checksum of the chunk (XXH3-64). */
  checksum: bigint;
}

export class FetchProgress {
  private readonly db: Database;
  private readonly insert;
  private readonly select;
  private readonly remove;

  /** `path`: access.db (the hash worker records progress in it too, over its own connection: progressRecorder.ts). */
  constructor(readonly path: string) {
    this.db = openAccessDb(path);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS fetch_progress (
        file_id INTEGER NOT NULL,
        offset INTEGER NOT NULL,
        origin_size INTEGER NOT NULL,
        origin_mtime REAL NOT NULL,
        length INTEGER NOT NULL,
        id TEXT NOT NULL,
        checksum TEXT NOT NULL,
        PRIMARY KEY (file_id, offset)
      ) WITHOUT ROWID;
    `);
    this.insert = this.db.query(
      "INSERT OR REPLACE INTO fetch_progress (file_id, offset, origin_size, origin_mtime, length, id, checksum) VALUES (?, ?, ?, ?, ?, ?, ?)",
    );
    this.select = this.db.query("SELECT offset, origin_size, origin_mtime, length, id, checksum FROM fetch_progress WHERE file_id = ? ORDER BY offset");
    this.remove = this.db.query("DELETE FROM fetch_progress WHERE file_id = ?");
  }

  /**
   * The stored prefix of a file for this origin version: chunks contiguous from offset 0 (a gap ends it). Rows of
   * another version are dropped.
   */
  prefixOf(fileId: ContentId, version: OriginVersion): ProgressChunk[] {
    const out: ProgressChunk[] = [];
    let stale = false;
    let end = 0;
    for (const [offset, size, mtime, length, hex, checksum] of this.select.values(fileId) as [number, number, number, number, string, string][]) {
      if (size !== version.size || mtime !== version.mtimeMs) {
        stale = true;
        break;
      }
      if (offset !== end || length <= 0 || end + length > version.size) break;
      out.push({ offset, length, hex, checksum: BigInt(`0x${checksum}`) });
      end += length;
    }
    if (stale) {
      this.remove.run(fileId);
      return [];
    }
    return out;
  }

  /** Appends chunks that follow the persisted prefix (in one transaction). */
  append(fileId: ContentId, version: OriginVersion, chunks: readonly ProgressChunk[]): void {
    if (chunks.length === 0) return;
    this.db.transaction(() => {
      for (const c of chunks)
        this.insert.run(fileId, c.offset, version.size, version.mtimeMs, c.length, c.hex, c.checksum.toString(16));
    })();
  }

  /** The file was fetched whole (its manifest supersedes the prefix) or left the library. */
  forget(fileId: ContentId): void {
    this.remove.run(fileId);
  }

  /** Files with a persisted partial fetch (statistics, tests). */
  fileCount(): number {
    return (this.db.query("SELECT COUNT(DISTINCT file_id) AS n FROM fetch_progress").get() as { n: number }).n;
  }

  /** Every file with rows here. */
  fileIds(): ContentId[] {
    return (this.db.query("SELECT DISTINCT file_id FROM fetch_progress").values() as [number][]).map(([id]) => asContentId(id));
  }

  close(): void {
    this.db.close();
  }
}
