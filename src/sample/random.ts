/**
 * Deterministic pseudo-randomness for generated libraries: the same seed and key always give the same numbers, on
 * any machine and in any worker, so a library can be generated in parallel and still be byte-identical.
 * Not for anything security-related.
 */

/** Mixes any number of 32-bit keys into one well-spread 32-bit value (murmur3's finaliser after each key). */
export function hashKeys(...keys: number[]): number {
  let h = 0x811c9dc5;
  for (const key of keys) {
    h = Math.imul(h ^ (key >>> 0), 0x9e3779b1);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** An xorshift32 generator returning floats in [0, 1). */
export function makeRandom(seed: number): () => number {
  let state = seed >>> 0 || 0x9e3779b9;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 0x100000000;
  };
}

/** Random helpers over one generator. */
export class Dice {
  private readonly next: () => number;

  constructor(...keys: number[]) {
    this.next = makeRandom(hashKeys(...keys));
  }

  float(): number {
    return this.next();
  }

  /** Integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
}
