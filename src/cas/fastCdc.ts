/**
 * FastCDC (Xia et al., 2020 variant): content-defined chunking with a gear rolling hash, normalized chunking (a
 * stricter mask before the average size, a looser one after it) and two bytes rolled per loop iteration.
 *
 * Cut points depend only on the bytes since the previous cut, so an edit near the head of a file (a re-tag) moves
 * at most the chunks around it; everything after re-synchronises and deduplicates.
 *
 * Pure: no I/O. The gear table and masks are frozen — changing them moves every boundary and turns every cached
 * chunk into garbage, so `test/cas/fastCdc.test.ts` pins them with golden values.
 *
 * JavaScript has no cheap 64-bit integers, so the gear hash is 32 bits wide (the paper's is 64): a byte influences
 * the hash for 32 positions, which is the effective sliding window; masks are spread over bits 0..30 so that the
 * "shifted mask" trick of the 2020 variant (mask << 1 must not lose a bit) stays exact.
 */

export interface CdcParams {
  minSize: number;
  avgSize: number;
  maxSize: number;
  /** Normalization level (0..3): how many bits stricter/looser the masks are before/after `avgSize`. */
  normalization: number;
}

/** The store's chunking: min 16 KiB, average 64 KiB, max 256 KiB, normalization level 2 (the paper's default). */
export const DEFAULT_CDC: Readonly<CdcParams> = Object.freeze({
  minSize: 16 * 1024,
  avgSize: 64 * 1024,
  maxSize: 256 * 1024,
  normalization: 2,
});

/** Resumable scan position inside the current chunk, so a stream can be chunked as bytes arrive without rescans. */
export interface CdcScanState {
  hash: number;
  /** Offset (relative to the chunk start) of the next byte to roll in; 0 means "fresh chunk". */
  index: number;
}

export function freshScanState(): CdcScanState {
  return { hash: 0, index: 0 };
}

/** Deterministic 256-entry gear table from a fixed-seed splitmix32 generator. */
export const GEAR: Uint32Array = makeGearTable(0x6d75_7366); // "musf"
/** The gear table shifted left by one, used for the first byte of each rolled pair (2020 variant). */
const GEAR_LS: Uint32Array = GEAR.map((g) => (g << 1) >>> 0);

function makeGearTable(seed: number): Uint32Array {
  const table = new Uint32Array(256);
  let state = seed >>> 0;
  for (let i = 0; i < 256; i++) {
    state = (state + 0x9e37_79b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85eb_ca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2_ae35) >>> 0;
    table[i] = (z ^ (z >>> 16)) >>> 0;
  }
  return table;
}

/**
 * A mask with `bits` ones spread evenly over bit positions 30..0 (always including 30). Spreading, rather than a
 * contiguous run, makes a cut depend on bytes across the whole 32-byte window (the paper's "zero padding").
 */
export function spreadMask(bits: number): number {
  if (bits < 1 || bits > 31) throw new RangeError(`mask bits out of range: ${bits}`);
  if (bits === 1) return 1 << 30;
  let mask = 0;
  const step = 30 / (bits - 1);
  for (let i = 0; i < bits; i++) mask |= 1 << Math.round(30 - i * step);
  return mask >>> 0;
}

interface Masks {
  small: number;
  smallLs: number;
  large: number;
  largeLs: number;
}

const masksCache = new Map<string, Masks>();

function masksFor(p: CdcParams): Masks {
  const key = `${p.avgSize}/${p.normalization}`;
  let m = masksCache.get(key);
  if (!m) {
    const bits = Math.round(Math.log2(p.avgSize));
    const small = spreadMask(bits + p.normalization);
    const large = spreadMask(bits - p.normalization);
    m = { small, smallLs: (small << 1) >>> 0, large, largeLs: (large << 1) >>> 0 };
    masksCache.set(key, m);
  }
  return m;
}

export function validateCdcParams(p: CdcParams): void {
  if (!(p.minSize >= 64 && p.minSize <= p.avgSize && p.avgSize <= p.maxSize))
    throw new RangeError(`invalid CDC sizes: min ${p.minSize}, avg ${p.avgSize}, max ${p.maxSize}`);
  if (p.minSize % 2 !== 0 || p.avgSize % 2 !== 0) throw new RangeError("CDC min and avg sizes must be even");
  if (!(p.normalization >= 0 && p.normalization <= 3)) throw new RangeError(`invalid normalization ${p.normalization}`);
}

/**
 * Finds the end of the chunk that starts at `start`, looking at `src[start, end)`.
 * Returns the chunk length (> 0) when the cut is decided, or 0 when more bytes are needed (`eof` false and no cut
 * yet within the bytes available); in that case `state` records where to resume. Reset `state` after a cut.
 */
export function findCut(
  src: Uint8Array,
  start: number,
  end: number,
  eof: boolean,
  params: CdcParams,
  state: CdcScanState,
): number {
  const available = end - start;
  const { minSize, avgSize, maxSize } = params;
  if (available <= minSize) return eof ? available : 0;
  const limit = available < maxSize ? available : maxSize;
  const decisive = eof || available >= maxSize;
  const masks = masksFor(params);
  // Locals and absolute positions keep the hot loops free of property loads and extra additions.
  const gear = GEAR;
  const gearLs = GEAR_LS;
  let hash = state.hash;
  let p = start + (state.index < minSize ? minSize : state.index);

  // Before the average size: the stricter mask makes small chunks unlikely (normalized chunking).
  const smallEnd = start + (avgSize < limit ? avgSize : limit);
  const smallLs = masks.smallLs;
  const small = masks.small;
  while (p + 2 <= smallEnd) {
    hash = ((hash << 2) + gearLs[src[p]]) | 0;
    if ((hash & smallLs) === 0) return p + 1 - start;
    hash = (hash + gear[src[p + 1]]) | 0;
    if ((hash & small) === 0) return p + 2 - start;
    p += 2;
  }
  // After it: the looser mask makes a cut likely well before the maximum.
  const limitEnd = start + limit;
  const largeLs = masks.largeLs;
  const large = masks.large;
  while (p + 2 <= limitEnd) {
    hash = ((hash << 2) + gearLs[src[p]]) | 0;
    if ((hash & largeLs) === 0) return p + 1 - start;
    hash = (hash + gear[src[p + 1]]) | 0;
    if ((hash & large) === 0) return p + 2 - start;
    p += 2;
  }
  if (decisive) return limit;
  state.hash = hash;
  state.index = p - start;
  return 0;
}

/** Chunk lengths of a whole buffer (the same cuts a stream of the same bytes produces, however it is split). */
export function chunkLengths(data: Uint8Array, params: CdcParams = DEFAULT_CDC): number[] {
  const lengths: number[] = [];
  let start = 0;
  while (start < data.length) {
    const len = findCut(data, start, data.length, true, params, freshScanState());
    lengths.push(len);
    start += len;
  }
  return lengths;
}

/** One chunk cut from a stream: its absolute offset in the file and its bytes (a view the chunker never rewrites). */
export interface CutChunk {
  offset: number;
  bytes: Uint8Array;
}

/**
 * Chunks a byte stream as it arrives, without copying in the common case: chunks that lie inside one pushed piece
 * are views of that piece. Only the uncut tail of a piece is carried over, and the one chunk that spans two
 * pieces is assembled in a buffer of its own. `push` takes ownership of the piece: the caller must not modify it
 * afterwards (origins hand out fresh buffers per piece). Measured: whole-buffer speed, where copying every byte
 * into a staging buffer cost a third of the throughput (page faults on fresh memory dominate).
 */
export class StreamingChunker {
  /** Uncut bytes: carry[0, carryLen). Either a view of the last piece (not owned) or our own growable buffer. */
  private carry: Uint8Array = new Uint8Array(0);
  private carryLen = 0;
  private carryOwned = false;
  /** Absolute file offset of carry[0]. */
  private carryOffset: number;
  private state = freshScanState();
  private finished = false;

  constructor(
    startOffset = 0,
    private readonly params: CdcParams = DEFAULT_CDC,
  ) {
    validateCdcParams(params);
    this.carryOffset = startOffset;
  }

  /** Absolute offset of the first byte not yet cut into a chunk. */
  get pendingStart(): number {
    return this.carryOffset;
  }
  /** Absolute offset just after the last byte pushed. */
  get pendingEnd(): number {
    return this.carryOffset + this.carryLen;
  }

  /** Copies pushed-but-uncut bytes [from, to), which must lie within [pendingStart, pendingEnd), into `into`. */
  copyPending(from: number, to: number, into: Uint8Array, intoOffset: number): void {
    if (from < this.pendingStart || to > this.pendingEnd || from > to)
      throw new RangeError(`pending range [${from}, ${to}) outside [${this.pendingStart}, ${this.pendingEnd})`);
    const a = from - this.carryOffset;
    into.set(this.carry.subarray(a, a + (to - from)), intoOffset);
  }

  push(piece: Uint8Array): CutChunk[] {
    if (this.finished) throw new Error("StreamingChunker: push after finish");
    const out: CutChunk[] = [];
    let at = 0; // bytes of `piece` consumed
    if (this.carryLen > 0) {
      // Complete the chunk that spans the carry and this piece, in a buffer of our own. The piece's bytes are taken
      // in growing steps (the scan resumes where it stopped), so a cut found early costs a small copy: taking up to
      // maxSize at once copied 256 KiB per piece, mostly to give it back, and was a tenth of a cold read's CPU.
      let len = 0;
      for (;;) {
        const take = Math.min(piece.length - at, this.params.maxSize - this.carryLen, Math.max(this.params.minSize, this.carryLen));
        this.appendToCarry(piece.subarray(at, at + take));
        at += take;
        len = findCut(this.carry, 0, this.carryLen, false, this.params, this.state);
        if (len > 0 || at === piece.length) break;
      }
      if (len === 0) {
        // No cut within the carry: if all of the piece was taken, wait for more; the carry is < maxSize.
        if (at === piece.length) return out;
        throw new Error("StreamingChunker: invariant broken (no cut at maxSize)");
      }
      out.push({ offset: this.carryOffset, bytes: this.carry.subarray(0, len) });
      this.state = freshScanState();
      // Bytes of the carry beyond the cut came from this piece: give them back and scan the piece in place.
      at -= this.carryLen - len;
      this.carryOffset += len;
      this.carry = new Uint8Array(0);
      this.carryLen = 0;
      this.carryOwned = false;
    }
    // Cut in place within the piece.
    for (;;) {
      const len = findCut(piece, at, piece.length, false, this.params, this.state);
      if (len === 0) break;
      out.push({ offset: this.carryOffset, bytes: piece.subarray(at, at + len) });
      this.state = freshScanState();
      at += len;
      this.carryOffset += len;
    }
    // The uncut tail stays a view of the piece until the next push needs to extend it. The scan state refers to
    // positions relative to the chunk start, so it remains valid.
    this.carry = piece.subarray(at);
    this.carryLen = piece.length - at;
    this.carryOwned = false;
    return out;
  }

  /** Cuts the remaining bytes (the last chunk may be shorter than `minSize`). */
  finish(): CutChunk[] {
    this.finished = true;
    const out: CutChunk[] = [];
    let at = 0;
    while (at < this.carryLen) {
      const len = findCut(this.carry, at, this.carryLen, true, this.params, this.state);
      out.push({ offset: this.carryOffset, bytes: this.carry.subarray(at, at + len) });
      this.state = freshScanState();
      at += len;
      this.carryOffset += len;
    }
    this.carry = new Uint8Array(0);
    this.carryLen = 0;
    return out;
  }

  private appendToCarry(bytes: Uint8Array): void {
    const needed = this.carryLen + bytes.length;
    if (!this.carryOwned || needed > this.carry.length) {
      // Room for a typical chunk at once, so that small pieces do not cause repeated regrowth.
      const capacity = Math.min(this.params.maxSize, Math.max(needed, this.carryOwned ? this.carry.length * 2 : this.params.avgSize * 2));
      // Not zero-filled: only [0, carryLen) is ever read, and it is written first. Zeroing fresh memory for each
      // spanning chunk (up to 384 KiB per arriving piece) was a tenth of the samples of a cold read.
      const owned = Buffer.allocUnsafeSlow(capacity);
      owned.set(this.carry.subarray(0, this.carryLen));
      this.carry = owned;
      this.carryOwned = true;
    }
    this.carry.set(bytes, this.carryLen);
    this.carryLen = needed;
  }
}
