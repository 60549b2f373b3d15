/**
 * The cache's secret key for algorithm-2 chunk ids (chunkHash.ts): 64 random bits in `<cache>/chunk-id-key` (16
 * hex characters, mode 0600), made by the first mount of a cache dir and kept for its life. Without it nobody can
 * compute the id a chunk will get, so nobody can craft bytes that another file's chunk id would take for its own
 * (docs/cas.md "Chunk identity"). Two processes making it at once agree: the file appears by an atomic link, and
 * the loser reads the winner's key.
 */
import { chmodSync, closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
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

/** What the key file holds: nothing yet, a key, or something that is not one (damaged). */
type KeyFile = { kind: "none" } | { kind: "key"; key: bigint } | { kind: "damaged" };

/**
 * The key file at `path`. A file that cannot be read (EACCES: made by another user, say; EIO; a directory in its
 * place) throws: it may hold the right key, and replacing it would make every chunk stored under it useless.
 */
function readKeyFile(path: string): KeyFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if (errnoCode(e) === "ENOENT") return { kind: "none" };
    throw new Error(`cannot read the chunk id key ${tildify(path)} (${errnoCode(e) ?? errorMessage(e)}): check its owner and permissions`);
  }
  const key = parseChunkIdKey(text);
  return key === undefined ? { kind: "damaged" } : { kind: "key", key };
}

/** The key of the cache dir `cacheDir`, or undefined when it has none or a damaged one; throws when it cannot be read. */
export function readChunkIdKey(cacheDir: string): bigint | undefined {
  const found = readKeyFile(join(cacheDir, CHUNK_ID_KEY_FILE));
  return found.kind === "key" ? found.key : undefined;
}

/**
 * The key, made now when the cache has none. A damaged key file is replaced (logged): the algorithm-2 chunk files
 * then fail their check when read and are fetched again; data files are checked by their read checksums, unkeyed.
 */
export function loadOrMakeChunkIdKey(cacheDir: string): bigint {
  const path = join(cacheDir, CHUNK_ID_KEY_FILE);
  const found = readKeyFile(path);
  if (found.kind === "key") return found.key;
  if (found.kind === "damaged") {
    log.warn(`the chunk id key ${tildify(path)} is damaged: a new one replaces it (chunks stored under the old one are fetched again when read)`);
    renameSync(path, `${path}.damaged`);
  }
  mkdirSync(cacheDir, { recursive: true });
  const temp = join(cacheDir, `.${CHUNK_ID_KEY_FILE}.${process.pid}.tmp`);
  writeDurably(temp, randomChunkIdKey().toString(16).padStart(16, "0"));
  try {
    linkSync(temp, path);
  } catch (e) {
    if (errnoCode(e) !== "EEXIST") throw e;
  } finally {
    unlinkSync(temp);
  }
  syncDir(cacheDir);
  const key = readChunkIdKey(cacheDir);
  if (key === undefined) throw new Error(`cannot read back the chunk id key ${tildify(path)}`);
  return key;
}

/**
 * Writes `text` to a new file (mode 0600) and syncs it before it is linked into place: the rest of the cache does
 * not fsync (its bytes are checked and fetched again when damaged), but a key lost to a power cut would make every
 * chunk file stored under it useless at once.
 */
function writeDurably(path: string, text: string): void {
  const fd = openSync(path, "wx", 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(path, 0o600);
}

/** The directory's entries (the key's new name) on disk too. */
function syncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
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
