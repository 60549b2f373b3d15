/**
 * Chunk boundaries of NEW manifests: fixed-size chunks aligned to multiples of `chunkBytes` in the file (the last one
 * shorter), instead of FastCDC. Content-defined boundaries only paid for cross-file de-duplication, which data files
 * dropped (docs/cas.md "The choice, and why"); FastCDC was the largest single cost of a cold read (a quarter of the
 * fetcher's CPU), and fixed boundaries let the bytes be hashed in any order, after they are written. A manifest
 * stores each chunk's length, so manifests cut by FastCDC before stay valid, and a fetch resumed from such a prefix
 * simply starts with one short chunk to get back to the alignment. Pure.
 */

/** Default size of a chunk of a new manifest (the average FastCDC chunk was 64 KiB: manifests stay the same size). */
export const FIXED_CHUNK_BYTES = 64 * 1024;

/**
 * The chunks complete in bytes [from, to) of a file of `size` bytes: [offset, length) pairs starting at `from`,
 * each ending at the next multiple of `chunkBytes` or at the end of the file, none past `to`. Where the last one
 * ends is where the next call starts.
 */
export function fixedCuts(from: number, to: number, size: number, chunkBytes = FIXED_CHUNK_BYTES): { offset: number; length: number }[] {
  if (!(chunkBytes > 0)) throw new RangeError(`chunk size ${chunkBytes}`);
  const out: { offset: number; length: number }[] = [];
  let at = from;
  for (;;) {
    const end = Math.min(size, (Math.floor(at / chunkBytes) + 1) * chunkBytes);
    if (end > to || end <= at) return out;
    out.push({ offset: at, length: end - at });
    at = end;
  }
}
