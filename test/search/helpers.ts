import { Database } from "bun:sqlite";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { tempDir as makeTempDir } from "../support/cleanup.ts";
import { join } from "node:path";
import { emptyTags, type FileMeta } from "../../src/core/types.ts";
import { asFileId, asOriginId } from "../../src/core/ids.ts";

/** A temp dir removed after the test file (call in afterAll). */
export function tempDir(prefix = "musicfs-search-"): { path: string; cleanup: () => void } {
  const path = makeTempDir(prefix);
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** metadata.db the way src/db opens it: WAL, NORMAL sync. The search index only needs the connection. */
export function openMetadataDb(path: string): Database {
  const db = new Database(path, { create: true });
  db.run("PRAGMA journal_mode = WAL");
  db.run("PRAGMA synchronous = NORMAL");
  return db;
}

let nextId = 1;
export function track(fields: Partial<FileMeta>): FileMeta {
  const id = fields.id ?? nextId++;
  return {
    ...emptyTags(),
    originId: asOriginId("music"),
    realPath: `track-${id}.flac`,
    size: 1000,
    mtimeMs: 0,
    format: "flac",
    ...fields,
    artists: fields.artists ?? (fields.artist ? [fields.artist] : []),
    id: asFileId(id),
  };
}

/**
 * Damage the FTS index the way a bad disk would: overwrite bytes of index blocks in the database file itself
 * (bun's connections are defensive and refuse to write FTS5 shadow tables). Only the blob bytes are garbled, so
 * the SQLite b-tree stays valid and the damage is the FTS5 index's own: the term/doclist leaf blocks.
 */
export function corruptFtsBlocks(dbPath: string): void {
  const db = new Database(dbPath);
  db.run("PRAGMA wal_checkpoint(TRUNCATE)");
  const blocks = db.query("SELECT block FROM search_fts_data WHERE id > 10").values() as [Uint8Array][];
  db.close();
  const file = readFileSync(dbPath);
  let patched = 0;
  for (const [block] of blocks) {
    if (block.length < 4) continue;
    const at = file.indexOf(Buffer.from(block));
    if (at === -1) continue;
    for (let i = 0; i < block.length; i++) file[at + i] = (block[i] ^ 0x5a) & 0xff;
    patched++;
  }
  if (patched === 0) throw new Error("corruptFtsBlocks: no index block found in the file");
  writeFileSync(dbPath, file);
}
