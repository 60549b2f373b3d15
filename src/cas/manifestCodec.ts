/**
 * A file's manifest: the ordered chunks that make up its content, plus the origin size and mtime it was built from
 * (a manifest whose origin file has since changed must not be used). The encoded form is what the database stores
 * in `files.chunk_manifest` and what `ManifestCached` carries.
 *
 * Encoding (little-endian), 32-byte header then one entry per chunk:
 *   0  u8   format version (2; 1 is still decoded)
 *   1  u8   chunk hash algorithm (1 = SHA-256, 32-byte ids; 2 = keyed XXH3, 16-byte ids: chunkHash.ts)
 *   2  u8   read checksum algorithm (v2: 1 = XXH3-64; v1: reserved, 0)
 *   3  u8   reserved, 0
 *   4  u32  chunk count n
 *   8  u64  origin size in bytes (= sum of chunk lengths)
 *   16 f64  origin mtime in ms
 *   24 u64  reserved, 0
 *   32 n × { id (32 or 16 bytes, by the algorithm), u32 length, u64 read checksum }   (v1: no checksum)
 * Offsets are not stored: they are the running sum of lengths, so they cannot disagree with them.
 * A 40 MB FLAC (~600 chunks) encodes to ~17 KB with algorithm 2 (algorithm 1: ~26 KB; v1: ~22 KB).
 *
 * The read checksum is a fast non-cryptographic 64-bit hash of the chunk bytes. It lets a FUSE worker and the data
 * file checks detect a damaged chunk cheaply (bit rot, truncation, a write lost to power failure); the id stays the
 * chunk's name in the store and what the store and the fetcher check its chunk files against. A v1 manifest has
 * none (and is always algorithm 1): readers then verify by SHA-256. Algorithm 2 is only written with checksums.
 */
import {
  algorithmOfIdBytes, chunkHex, CHUNK_HASH_ALGORITHM_ID, idBytesOf, KEYED_XXH3_ALGORITHM_ID, SHA256_ALGORITHM_ID,
  type ChunkHashAlgorithm, type ChunkHex, type ChunkId,
} from "./chunkHash.ts";

export { readChecksum } from "./chunkHash.ts";

/** Version written by encodeManifest when the manifest has read checksums (else it writes 1, the same bytes as before). */
export const MANIFEST_VERSION = 2;
const MANIFEST_VERSION_NO_CHECKSUMS = 1;
const HEADER_BYTES = 32;

/** The read checksum's algorithm (chunkHash.ts `readChecksum`). */
export const READ_CHECKSUM_ALGORITHM_ID = 1; // 1 = XXH3-64, seed 0

/** Decoded manifest, laid out as flat arrays so that a worker can binary-search it without allocations. */
export interface Manifest {
  originSize: number;
  originMtimeMs: number;
  chunkCount: number;
  /** The chunk hash algorithm of its ids (1 = SHA-256, 2 = keyed XXH3). */
  algorithm: ChunkHashAlgorithm;
  /** chunkCount × idBytesOf(algorithm) bytes of ids, in file order. */
  ids: Uint8Array;
  /** chunkCount + 1 offsets: chunk i covers [offsets[i], offsets[i+1]); offsets[chunkCount] = originSize. */
  offsets: Float64Array;
  /** chunkCount read checksums (`readChecksum` of each chunk), or null for a manifest without them (format v1). */
  checksums: BigUint64Array | null;
}

/** What a chunker produced for one file, in order. */
export interface ManifestChunk {
  id: ChunkId;
  length: number;
  /** `readChecksum` of the chunk bytes. All chunks have one or none does (then the manifest has no checksums). */
  checksum?: bigint;
}

export class ManifestFormatError extends Error {
  override readonly name = "ManifestFormatError";
}

/**
 * The manifest of `chunks`. Its algorithm is the one its ids' length names, the same for all (a list that mixes
 * them is refused: a fetch resumed from a prefix of the other algorithm starts over, see sequentialFetch.ts); a
 * file without chunks gets the current one.
 */
export function buildManifest(chunks: readonly ManifestChunk[], originSize: number, originMtimeMs: number): Manifest {
  const algorithm = chunks.length === 0 ? CHUNK_HASH_ALGORITHM_ID : algorithmOfIdBytes(chunks[0].id.length);
  if (algorithm === undefined) throw new ManifestFormatError(`chunk 0: id is ${chunks[0].id.length} bytes`);
  const idBytes = idBytesOf(algorithm);
  const ids = new Uint8Array(chunks.length * idBytes);
  const offsets = new Float64Array(chunks.length + 1);
  const withChecksum = chunks.filter((c) => c.checksum !== undefined).length;
  if (withChecksum !== 0 && withChecksum !== chunks.length)
    throw new ManifestFormatError(`${withChecksum} of ${chunks.length} chunks have a read checksum`);
  const checksums = withChecksum > 0 ? new BigUint64Array(chunks.length) : null;
  if (!checksums && algorithm !== SHA256_ALGORITHM_ID && chunks.length > 0)
    throw new ManifestFormatError("a manifest of keyed XXH3 ids needs read checksums");
  let pos = 0;
  chunks.forEach((c, i) => {
    if (c.id.length !== idBytes) throw new ManifestFormatError(`chunk ${i}: id is ${c.id.length} bytes, chunk 0's ${idBytes}`);
    if (!(c.length > 0)) throw new ManifestFormatError(`chunk ${i}: empty chunk`);
    ids.set(c.id, i * idBytes);
    if (checksums) checksums[i] = c.checksum!;
    offsets[i] = pos;
    pos += c.length;
  });
  offsets[chunks.length] = pos;
  if (pos !== originSize) throw new ManifestFormatError(`chunks cover ${pos} bytes, origin size is ${originSize}`);
  return { originSize, originMtimeMs, chunkCount: chunks.length, algorithm, ids, offsets, checksums };
}

export function encodeManifest(m: Manifest): Uint8Array {
  const v2 = m.checksums !== null;
  const idBytes = idBytesOf(m.algorithm);
  const entryBytes = idBytes + 4 + (v2 ? 8 : 0);
  const out = new Uint8Array(HEADER_BYTES + m.chunkCount * entryBytes);
  const view = new DataView(out.buffer);
  view.setUint8(0, v2 ? MANIFEST_VERSION : MANIFEST_VERSION_NO_CHECKSUMS);
  view.setUint8(1, m.algorithm);
  if (v2) view.setUint8(2, READ_CHECKSUM_ALGORITHM_ID);
  view.setUint32(4, m.chunkCount, true);
  view.setBigUint64(8, BigInt(m.originSize), true);
  view.setFloat64(16, m.originMtimeMs, true);
  for (let i = 0; i < m.chunkCount; i++) {
    const at = HEADER_BYTES + i * entryBytes;
    out.set(m.ids.subarray(i * idBytes, (i + 1) * idBytes), at);
    view.setUint32(at + idBytes, m.offsets[i + 1] - m.offsets[i], true);
    if (v2) view.setBigUint64(at + idBytes + 4, m.checksums![i], true);
  }
  return out;
}

/** Decodes and validates; throws ManifestFormatError on anything inconsistent (treat the manifest as absent). */
export function decodeManifest(bytes: Uint8Array): Manifest {
  if (bytes.length < HEADER_BYTES) throw new ManifestFormatError(`manifest too short (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint8(0);
  if (version !== MANIFEST_VERSION && version !== MANIFEST_VERSION_NO_CHECKSUMS)
    throw new ManifestFormatError(`unknown manifest version ${version}`);
  const v2 = version === MANIFEST_VERSION;
  const algorithm = view.getUint8(1);
  if (algorithm !== SHA256_ALGORITHM_ID && algorithm !== KEYED_XXH3_ALGORITHM_ID)
    throw new ManifestFormatError(`unknown chunk hash algorithm ${algorithm}`);
  const idBytes = idBytesOf(algorithm);
  // An unknown checksum algorithm is refused rather than ignored: comparing against the wrong function would report
  // every chunk corrupt.
  if (v2 && view.getUint8(2) !== READ_CHECKSUM_ALGORITHM_ID)
    throw new ManifestFormatError(`unknown read checksum algorithm ${view.getUint8(2)}`);
  const entryBytes = idBytes + 4 + (v2 ? 8 : 0);
  const chunkCount = view.getUint32(4, true);
  // Keyed XXH3 ids are only written with read checksums (a worker cannot check them: it has no key).
  if (!v2 && algorithm !== SHA256_ALGORITHM_ID && chunkCount > 0)
    throw new ManifestFormatError(`manifest v1 with chunk hash algorithm ${algorithm}`);
  if (bytes.length !== HEADER_BYTES + chunkCount * entryBytes)
    throw new ManifestFormatError(`manifest v${version} of ${chunkCount} chunks cannot be ${bytes.length} bytes`);
  const originSize = Number(view.getBigUint64(8, true));
  const originMtimeMs = view.getFloat64(16, true);
  const ids = new Uint8Array(chunkCount * idBytes);
  const offsets = new Float64Array(chunkCount + 1);
  const checksums = v2 ? new BigUint64Array(chunkCount) : null;
  let pos = 0;
  for (let i = 0; i < chunkCount; i++) {
    const at = HEADER_BYTES + i * entryBytes;
    ids.set(bytes.subarray(at, at + idBytes), i * idBytes);
    const length = view.getUint32(at + idBytes, true);
    if (length === 0) throw new ManifestFormatError(`chunk ${i} has length 0`);
    if (checksums) checksums[i] = view.getBigUint64(at + idBytes + 4, true);
    offsets[i] = pos;
    pos += length;
  }
  offsets[chunkCount] = pos;
  if (pos !== originSize) throw new ManifestFormatError(`chunks cover ${pos} bytes, header says ${originSize}`);
  return { originSize, originMtimeMs, chunkCount, algorithm, ids, offsets, checksums };
}
/** A manifest may serve a file only while the origin still reports the size and mtime it was built from. */
export function isManifestCurrent(m: Manifest, originSize: number, originMtimeMs: number): boolean {
  return m.originSize === originSize && m.originMtimeMs === originMtimeMs;
}

export function manifestChunkId(m: Manifest, index: number): ChunkId {
  const idBytes = idBytesOf(m.algorithm);
  return m.ids.subarray(index * idBytes, (index + 1) * idBytes);
}

export function manifestChunkHex(m: Manifest, index: number): ChunkHex {
  return chunkHex(manifestChunkId(m, index));
}

export function manifestChunkLength(m: Manifest, index: number): number {
  return m.offsets[index + 1] - m.offsets[index];
}

/** Index of the chunk containing byte `offset` (0 ≤ offset < originSize), by binary search. */
export function chunkIndexAt(m: Manifest, offset: number): number {
  let lo = 0;
  let hi = m.chunkCount - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (m.offsets[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Distinct chunk ids of a manifest (for pinning and dedup accounting). */
export function manifestChunkHexes(m: Manifest): Set<ChunkHex> {
  const out = new Set<ChunkHex>();
  for (let i = 0; i < m.chunkCount; i++) out.add(manifestChunkHex(m, i));
  return out;
}
