/**
 * The one mapping between S3 object keys and origin paths. A path is the key with the origin's prefix removed; a
 * key is the prefix plus the path, byte for byte. S3 keys are opaque strings — "a/../b", "x//y", "%41" name three
 * different objects and are never normalised — so a path can only ever name an object below the prefix.
 */

/** The origin path of a listed key, or null when the key is not a file of this origin (folder marker, outside). */
export function pathOfKey(prefix: string, key: string): string | null {
  if (!key.startsWith(prefix)) return null;
  const path = key.slice(prefix.length);
  if (path === "" || path.endsWith("/")) return null; // "folder" placeholder objects made by consoles
  return path;
}

/** The key of an origin path (a path that `pathOfKey` produced). */
export function keyOfPath(prefix: string, realPath: string): string {
  return prefix + realPath;
}
