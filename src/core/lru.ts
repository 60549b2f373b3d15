/**
 * A map that keeps its most recently used entries: `get` and `set` make an entry the newest, and when more than
 * `capacity` entries are held the oldest ones go first. One class for what used to be hand-written Map tricks
 * (delete + set to touch, `keys().next()` to evict) in the fetcher, the FUSE workers' caches and the album index.
 *
 * `canEvict` keeps entries that are still in use (they stay, the next older one goes; the map may then exceed its
 * capacity until they become evictable); `onEvict` is told of every entry evicted for room (not of `delete`).
 */
export class Lru<K, V> {
  private readonly map = new Map<K, V>();

  constructor(
    readonly capacity: number,
    private readonly hooks: { canEvict?: (value: V, key: K) => boolean; onEvict?: (value: V, key: K) => void } = {},
  ) {}

  get size(): number {
    return this.map.size;
  }

  /** The value, made the most recently used. */
  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  /** The value, without changing its place. */
  peek(key: K): V | undefined {
    return this.map.get(key);
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  /** Stores the value as the most recently used, then evicts the oldest entries beyond the capacity. */
  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    this.evict();
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }

  /** Oldest first. */
  values(): IterableIterator<V> {
    return this.map.values();
  }

  /** Oldest first. */
  entries(): IterableIterator<[K, V]> {
    return this.map.entries();
  }

  /** Evicts the oldest evictable entries until the capacity holds (or none is evictable). */
  evict(): void {
    if (this.map.size <= this.capacity) return;
    // Deleting while iterating a Map is safe: iteration goes on with the next entry.
    for (const [k, v] of this.map) {
      if (this.map.size <= this.capacity) return;
      if (this.hooks.canEvict && !this.hooks.canEvict(v, k)) continue;
      this.map.delete(k);
      this.hooks.onEvict?.(v, k);
    }
  }
}
