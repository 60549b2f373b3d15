/**
 * The cache's secret key for algorithm-2 chunk ids (chunkHash.ts): 64 random bits in `<cache>/chunk-id-key` (16
 * hex characters, mode 0600), made by the first mount of a cache dir and kept for its life. Without it nobody can
 * compute the id a chunk will get, so nobody can craft bytes that another file's chunk id would take for its own
 * (docs/cas.md "Chunk identity"). Two processes making it at once agree: the file appears by an atomic link, and
 * the loser reads the winner's key.
 */
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { errnoCode, errorMessage } from "../core/errors.ts";
import { log, tildify } from "../core/logger.ts";

export const CHUNK_ID_KEY_FILE = "chunk-id-key";

/** 64 random bits (crypto-grade). */
export function randomChunkIdKey(): bigint {
  const random = new BigUint64Array(1);
  crypto.getRandomValues(random);
  return random[0];
}

/** The key in `text`, or undefined when it is not 16 hex characters. Pure. */
export function parseChunkIdKey(text: string): bigint | undefined {
  const t = text.trim();
  return /^[0-9a-f]{16}$/.test(t) ? BigInt(`0x${t}`) : undefined;
}

/** The key of the cache dir `cacheDir`, or undefined when it has none (or an unreadable one). */
export function readChunkIdKey(cacheDir: string): bigint | undefined {
  try {
    return parseChunkIdKey(readFileSync(join(cacheDir, CHUNK_ID_KEY_FILE), "utf8"));
  } catch {
    return undefined;
  }
}

/**
 * The key, made now when the cache has none. A damaged key file is replaced (logged): the algorithm-2 chunk files
 * then fail their check when read and are fetched again; data files are checked by their read checksums, unkeyed.
 */
export function loadOrMakeChunkIdKey(cacheDir: string): bigint {
  const path = join(cacheDir, CHUNK_ID_KEY_FILE);
  const found = readChunkIdKey(cacheDir);
  if (found !== undefined) return found;
  if (existsSync(path)) {
    log.warn(`the chunk id key ${tildify(path)} is damaged: a new one replaces it (chunks stored under the old one are fetched again when read)`);
    renameSync(path, `${path}.damaged`);
  }
  mkdirSync(cacheDir, { recursive: true });
  const temp = join(cacheDir, `.${CHUNK_ID_KEY_FILE}.${process.pid}.tmp`);
  writeFileSync(temp, randomChunkIdKey().toString(16).padStart(16, "0"), { mode: 0o600 });
  chmodSync(temp, 0o600);
  try {
    linkSync(temp, path);
  } catch (e) {
    if (errnoCode(e) !== "EEXIST") throw e;
  } finally {
    unlinkSync(temp);
  }
  const key = readChunkIdKey(cacheDir);
  if (key === undefined) throw new Error(`cannot read back the chunk id key ${tildify(path)}`);
  return key;
}

/**
 * The key a mount uses: the cache's, or — when it cannot be made (a disk full to the last byte on the first mount of
 * this version, a read-only cache dir) — a key of this run alone, logged, so that the mount still serves. Chunks
 * and manifests written in such a run are checked against a key the next run does not have: their chunk files then
 * fail their check and are fetched again; their data files are unaffected (read checksums are not keyed).
 */
export function chunkIdKeyForMount(cacheDir: string): bigint {
  try {
    return loadOrMakeChunkIdKey(cacheDir);
  } catch (e) {
    log.warn(`cannot keep a chunk id key in ${tildify(cacheDir)} (${errorMessage(e)}): using one for this run only`);
    return randomChunkIdKey();
  }
}
