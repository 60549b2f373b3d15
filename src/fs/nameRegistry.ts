/**
 * Maps synthetic directory inodes back to the text they stand for (a search query, a collection name), shared by
 * every FUSE worker through one SharedArrayBuffer: LOOKUP of `.search/<query>` may be answered by one worker and
 * the READDIR of the inode it returned by another.
 *
 * A key lives in slot hash(key) mod SLOTS; a slot holds one key at a time (a later key with the same slot replaces
 * it, bumping the slot's generation so the kernel can tell the inodes apart). Writers take the slot's spin lock;
 * readers copy under the same lock. Keys are at most KEY_BYTES of UTF-8.
 */
export const SLOTS = 16384;
export const KEY_BYTES = 512;
const HEADER = 12; // lock u32, generation u32, length u32
const SLOT_BYTES = HEADER + KEY_BYTES;

export function createNameRegistryBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(SLOTS * SLOT_BYTES);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class NameRegistry {
  private readonly words: Int32Array;
  private readonly bytes: Uint8Array;

  constructor(buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer);
    this.bytes = new Uint8Array(buffer);
  }

  static slotOf(key: string): number {
    return Number(Bun.hash.wyhash(key) % BigInt(SLOTS));
  }

  /** Stores `key` and returns its slot and generation. */
  register(key: string): { slot: number; generation: number } {
    const data = encoder.encode(key);
    if (data.length > KEY_BYTES) throw new RangeError(`registry key longer than ${KEY_BYTES} bytes`);
    const slot = NameRegistry.slotOf(key);
    return this.locked(slot, (base, w) => {
      const len = Atomics.load(this.words, w + 2);
      const same = len === data.length && this.bytes.subarray(base + HEADER, base + HEADER + len).every((b, i) => b === data[i]);
      if (!same) {
        this.bytes.set(data, base + HEADER);
        Atomics.store(this.words, w + 2, data.length);
        Atomics.add(this.words, w + 1, 1);
      }
      return { slot, generation: Atomics.load(this.words, w + 1) };
    });
  }

  /** The key in a slot and its generation (bumped each time another key took the slot), or null if none. */
  lookup(slot: number): { key: string; generation: number } | null {
    if (slot < 0 || slot >= SLOTS) return null;
    return this.locked(slot, (base, w) => {
      const len = Atomics.load(this.words, w + 2);
      if (len === 0) return null;
      return { key: decoder.decode(this.bytes.slice(base + HEADER, base + HEADER + len)), generation: Atomics.load(this.words, w + 1) };
    });
  }

  private locked<T>(slot: number, fn: (byteBase: number, wordBase: number) => T): T {
    const base = slot * SLOT_BYTES;
    const w = base / 4;
    while (Atomics.compareExchange(this.words, w, 0, 1) !== 0) {
      // Critical sections are a memcpy long; spinning is cheaper than sleeping.
    }
    try {
      return fn(base, w);
    } finally {
      Atomics.store(this.words, w, 0);
    }
  }
}
