/**
 * The collections musicfs provides without being asked: "Recently Added" and one per decade present in the library.
 * Computed on demand, never stored, so they follow the library and cannot go stale. Pure.
 */

export const RECENTLY_ADDED = "Recently Added";
export const RECENTLY_ADDED_DAYS = 30;
export const DAY_MS = 86_400_000;

export type CollectionKind = "recent" | "decade" | "saved";

export interface CollectionDef {
  name: string;
  kind: CollectionKind;
  /** The search query that defines it; null for "Recently Added", which is defined by files' added_at. */
  query: string | null;
}

export function decadeName(decade: number): string {
  return `${decade}s`;
}

export function builtinCollections(decades: readonly number[]): CollectionDef[] {
  return [
    { name: RECENTLY_ADDED, kind: "recent", query: null },
    ...decades.map((d) => ({ name: decadeName(d), kind: "decade" as const, query: `year:${d}..${d + 9}` })),
  ];
}

/** Names a saved collection may not take: the built-ins, including decades not (yet) in the library. */
export function isReservedCollectionName(name: string): boolean {
  return name.toLowerCase() === RECENTLY_ADDED.toLowerCase() || /^\d{3}0s$/.test(name);
}
