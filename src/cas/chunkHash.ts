/**
 * Chunk identity: the name of a chunk file and the check of every chunk read from the store. Two algorithms, told
 * apart by the id's length so that a chunk is never checked with the other one (docs/cas.md "Chunk identity"):
 *
 * - **1, SHA-256** (32-byte ids, 64 hex characters): manifests and chunk files written before issue 17's ids. Still
 *   read, checked and repaired everywhere; no new id of it is made.
 * - **2, keyed XXH3** (16-byte ids, 32 hex characters): the chunk's read checksum (XXH3-64, seed 0) followed by
 *   XXH3-64 seeded with the cache's secret key (`chunkIdKey.ts`). ~10× cheaper than SHA-256 (0.06–0.08 against
 *   0.61 ms per MiB), and since the read checksum is computed anyway, one more pass makes the id. Accidental
 *   collision at 10M chunks: n²/2^129 ≈ 1.5e-25. Not collision-resistant against someone who knows the key; the key
 *   is what keeps a crafted collision from being made without it (see docs/cas.md for what that holds and what not).
 */

/** A chunk id: its raw bytes (32 for algorithm 1, 16 for algorithm 2). */
export type ChunkId = Uint8Array;
/** A chunk id as lower-case hex: the chunk's file name and the key of in-memory maps. */
export type ChunkHex = string;

export const SHA256_ALGORITHM_ID = 1;
export const SHA256_ID_BYTES = 32;
export const KEYED_XXH3_ALGORITHM_ID = 2;
export const KEYED_XXH3_ID_BYTES = 16;
/** The algorithm of new ids (recorded in every manifest so that a manifest is never checked with another one). */
export const CHUNK_HASH_ALGORITHM_ID = KEYED_XXH3_ALGORITHM_ID;

export type ChunkHashAlgorithm = typeof SHA256_ALGORITHM_ID | typeof KEYED_XXH3_ALGORITHM_ID;

/** The id length of each algorithm, and the algorithm of an id length (undefined: no such algorithm). */
export function idBytesOf(algorithm: ChunkHashAlgorithm): number {
  return algorithm === SHA256_ALGORITHM_ID ? SHA256_ID_BYTES : KEYED_XXH3_ID_BYTES;
}
export function algorithmOfIdBytes(n: number): ChunkHashAlgorithm | undefined {
  return n === SHA256_ID_BYTES ? SHA256_ALGORITHM_ID : n === KEYED_XXH3_ID_BYTES ? KEYED_XXH3_ALGORITHM_ID : undefined;
}

/**
 * Read checksum: XXH3-64 (seed 0). Chosen for speed on 16–256 KiB chunks (measured against xxHash64, wyhash,
 * rapidhash and CRC32 here; see docs/cas.md) and because XXH3 is a frozen, specified algorithm (stable since
 * xxHash 0.8.0), so checksums persisted in manifests stay valid across Bun upgrades. A pinned golden value in
 * test/cas/manifestCodec.test.ts catches a runtime whose output would differ. It is also the first half of an
 * algorithm-2 id.
 */
export function readChecksum(bytes: Uint8Array): bigint {
  return Bun.hash.xxHash3(bytes);
}

/** An algorithm-1 id: SHA-256 of the bytes (old manifests and chunk files; tests that build such caches). */
export function sha256ChunkId(bytes: Uint8Array): ChunkId {
  return Bun.SHA256.hash(bytes) as Uint8Array;
}

/**
 * The check of an algorithm-1 id, which needs no key: what FUSE workers and the data file checks use for the chunks
 * of a manifest without read checksums (format v1, always SHA-256). False for an id of the other algorithm.
 */
export function sha256Matches(bytes: Uint8Array, id: ChunkId): boolean {
  return id.length === SHA256_ID_BYTES && sameChunkId(sha256ChunkId(bytes), id);
}

/** Makes and checks ids with one cache's key. */
export interface ChunkIdentity {
  /** The algorithm-2 id of `bytes`. */
  idOf(bytes: Uint8Array): ChunkId;
  /** The same, given the bytes' read checksum (computed already by the caller: saves one of the two passes). */
  idWithChecksum(bytes: Uint8Array, checksum: bigint): ChunkId;
  /** True when `bytes` hash to `id` by the algorithm the id's length names: the check of every chunk read back. */
  matches(bytes: Uint8Array, id: ChunkId): boolean;
}

export function chunkIdentity(key: bigint): ChunkIdentity {
  const idWithChecksum = (bytes: Uint8Array, checksum: bigint): ChunkId => {
    const id = new Uint8Array(KEYED_XXH3_ID_BYTES);
    const view = new DataView(id.buffer);
    view.setBigUint64(0, checksum, false);
    view.setBigUint64(8, Bun.hash.xxHash3(bytes, key), false);
    return id;
  };
  return {
    idOf: (bytes) => idWithChecksum(bytes, readChecksum(bytes)),
    idWithChecksum,
    matches(bytes, id) {
      if (id.length === SHA256_ID_BYTES) return sha256Matches(bytes, id);
      if (id.length !== KEYED_XXH3_ID_BYTES) return false;
      return sameChunkId(idWithChecksum(bytes, readChecksum(bytes)), id);
    },
  };
}

export function chunkHex(id: ChunkId): ChunkHex {
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString("hex");
}

export function sameChunkId(a: ChunkId, b: ChunkId): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True for the hex name of an id of the current algorithm (new ids), false for an old one (SHA-256). */
export function isCurrentChunkHex(hex: ChunkHex): boolean {
  return hex.length === 2 * idBytesOf(CHUNK_HASH_ALGORITHM_ID);
}

/** The id named by hex characters (the inverse of `chunkHex`). */
export function hexToId(hex: ChunkHex): ChunkId {
  return Uint8Array.from(Buffer.from(hex, "hex"));
}
