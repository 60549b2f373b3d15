/**
 * The range index: which aligned blocks of a not-yet-cached file are in the chunk store (`<chunks>/access.db`, table
 * `ranges`). Reads that do not look like playback (a tag reader's head and tail, a scanner, a seek) are served with
 * ranged origin reads of fixed-size aligned blocks; each block is stored as a chunk (named by its id, like
 * every chunk) and recorded here, so a later read of the same range — in this process or after a restart — costs no
 * origin request. A record is only used while the origin file still has the size and mtime it was fetched from.
 *
 * Rows are written as soon as the blocks of a ranged read are stored (one transaction per read), not batched like
 * the ledger's access times: a record that a kill -9 loses means a range fetched again, which is exactly what the
 * index exists to avoid (a kill -9 while a read's blocks are being stored leaves them as unrecorded chunk files,
 * which LRU eviction ages out). When a file gets its manifest (fetched
 * whole), its records are dropped; the block chunks are then ordinary unreferenced chunks that LRU eviction ages out.
 *
 * Main thread only (the fetcher). FUSE workers never read ranges: a READ of a file without a manifest is deferred.
 */
import { asContentId, type ContentId } from "../core/ids.ts";
import type { Database } from "bun:sqlite";
import { openAccessDb } from "./accessDb.ts";
import type { ChunkHex } from "./chunkHash.ts";

/** One stored block of a file: bytes [block × blockBytes, + length) are the chunk `hex`. */
export interface RangeBlock {
  block: number;
  hex: ChunkHex;
  length: number;
}

/** The origin version a block was fetched from; blocks of another version are ignored (and dropped). */
export interface OriginVersion {
  size: number;
  mtimeMs: number;
}

export class RangeIndex {
  private readonly db: Database;
  private readonly insert;
  private readonly select;
  private readonly remove;
  private readonly removeStale;

  constructor(path: string) {
    this.db = openAccessDb(path);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS ranges (
        file_id INTEGER NOT NULL,
        block INTEGER NOT NULL,
        block_bytes INTEGER NOT NULL,
        origin_size INTEGER NOT NULL,
        origin_mtime REAL NOT NULL,
        id TEXT NOT NULL,
        length INTEGER NOT NULL,
        PRIMARY KEY (file_id, block)
      ) WITHOUT ROWID;
    `);
    this.insert = this.db.query(
      "INSERT OR REPLACE INTO ranges (file_id, block, block_bytes, origin_size, origin_mtime, id, length) VALUES (?, ?, ?, ?, ?, ?, ?)",
    );
    this.select = this.db.query("SELECT block, block_bytes, origin_size, origin_mtime, id, length FROM ranges WHERE file_id = ?");
    this.remove = this.db.query("DELETE FROM ranges WHERE file_id = ?");
    this.removeStale = this.db.query(
      "DELETE FROM ranges WHERE file_id = ? AND (block_bytes != ? OR origin_size != ? OR origin_mtime != ?)",
    );
  }

  /** Stored blocks of a file for this origin version and block size, by block index. Stale rows are dropped. */
  blocksOf(fileId: ContentId, version: OriginVersion, blockBytes: number): Map<number, RangeBlock> {
    const out = new Map<number, RangeBlock>();
    let stale = false;
    for (const [block, bytes, size, mtime, hex, length] of this.select.values(fileId) as [number, number, number, number, string, number][]) {
      if (bytes !== blockBytes || size !== version.size || mtime !== version.mtimeMs) stale = true;
      else out.set(block, { block, hex, length });
    }
    if (stale) this.removeStale.run(fileId, blockBytes, version.size, version.mtimeMs);
    return out;
  }

  record(fileId: ContentId, version: OriginVersion, blockBytes: number, b: RangeBlock): void {
    this.insert.run(fileId, b.block, blockBytes, version.size, version.mtimeMs, b.hex, b.length);
  }

  /** Several blocks of one file in one transaction (the blocks of one ranged read). */
  recordAll(fileId: ContentId, version: OriginVersion, blockBytes: number, blocks: readonly RangeBlock[]): void {
    if (blocks.length === 0) return;
    this.db.transaction(() => {
      for (const b of blocks) this.record(fileId, version, blockBytes, b);
    })();
  }

  /** The file was fetched whole (its manifest supersedes the blocks) or left the library. */
  forget(fileId: ContentId): void {
    this.remove.run(fileId);
  }

  /** Files with at least one stored block (statistics). */
  fileCount(): number {
    return (this.db.query("SELECT COUNT(DISTINCT file_id) AS n FROM ranges").get() as { n: number }).n;
  }

  /** Every file with rows here. */
  fileIds(): ContentId[] {
    return (this.db.query("SELECT DISTINCT file_id FROM ranges").values() as [number][]).map(([id]) => asContentId(id));
  }

  close(): void {
    this.db.close();
  }
}
