/**
 * Where chunks live: `<chunksDir>/<hex[0..2]>/<hex[2..4]>/<hex>`. Two shard levels (65,536 leaf directories) keep
 * every directory small even at 10M chunks (~150 entries per leaf). Pure; shared by the store and the worker reader.
 */
import { join } from "node:path";
import type { ChunkHex } from "./chunkHash.ts";

export function chunkDir(chunksDir: string, hex: ChunkHex): string {
  return join(chunksDir, hex.slice(0, 2), hex.slice(2, 4));
}

export function chunkPath(chunksDir: string, hex: ChunkHex): string {
  return join(chunksDir, hex.slice(0, 2), hex.slice(2, 4), hex);
}

/**
 * Temporary name for a chunk being written: hidden, in the chunk's own directory (so the rename is atomic, same
 * file system), tagged with the writer's pid so that a restart can recognise and delete leftovers of a crash.
 */
export function chunkTempPath(chunksDir: string, hex: ChunkHex, pid: number, serial: number): string {
  return join(chunkDir(chunksDir, hex), `.${hex}.${pid}.${serial}.tmp`);
}

const TEMP_NAME = /^\.(?:[0-9a-f]{64}|[0-9a-f]{32})\.(\d+)\.\d+\.tmp$/;

/** The pid that wrote a temp file, or undefined when `name` is not a chunk temp file. */
export function tempFileWriterPid(name: string): number | undefined {
  const m = TEMP_NAME.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** A chunk file's name: 64 hex characters (algorithm 1, SHA-256) or 32 (algorithm 2, keyed XXH3; chunkHash.ts). */
export function isChunkFileName(name: string): boolean {
  return CHUNK_NAME.test(name);
}

export const CHUNK_NAME = /^(?:[0-9a-f]{64}|[0-9a-f]{32})$/;
