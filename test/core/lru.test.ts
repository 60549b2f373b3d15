import { expect, test } from "bun:test";
import { Lru } from "../../src/core/lru.ts";

test("keeps the most recently used entries: get and set make an entry the newest, the oldest goes first", () => {
  const lru = new Lru<string, number>(2);
  lru.set("a", 1);
  lru.set("b", 2);
  expect(lru.get("a")).toBe(1); // a is now newer than b
  lru.set("c", 3);
  expect([...lru.entries()]).toEqual([["a", 1], ["c", 3]]);
  lru.set("a", 10); // set of a known key refreshes it too
  lru.set("d", 4);
  expect([...lru.entries()]).toEqual([["a", 10], ["d", 4]]);
});

test("peek does not change the order", () => {
  const lru = new Lru<string, number>(2);
  lru.set("a", 1);
  lru.set("b", 2);
  expect(lru.peek("a")).toBe(1);
  lru.set("c", 3);
  expect(lru.has("a")).toBe(false);
});

test("entries still in use are kept (the next older goes) and evicted ones are reported", () => {
  const busy = new Set(["a"]);
  const evicted: string[] = [];
  const lru = new Lru<string, number>(2, { canEvict: (_, k) => !busy.has(k), onEvict: (_, k) => evicted.push(k) });
  lru.set("a", 1);
  lru.set("b", 2);
  lru.set("c", 3);
  expect(evicted).toEqual(["b"]);
  expect([...lru.entries()].map(([k]) => k)).toEqual(["a", "c"]);
  busy.add("c");
  lru.set("d", 4); // a and c are busy: d, the newest, is the one evictable
  expect(evicted).toEqual(["b", "d"]);
  busy.clear();
  lru.set("e", 5);
  expect([...lru.entries()].map(([k]) => k)).toEqual(["c", "e"]);
  expect(lru.delete("c")).toBe(true);
  expect(evicted).toEqual(["b", "d", "a"]); // delete is not an eviction
});
