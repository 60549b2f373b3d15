/**
 * How musicfs tells that an origin file changed since it was read: its size and its mtime in whole milliseconds.
 * The delta sync (unchanged files are not parsed again) and OPEN (a file changed behind the mount is refreshed
 * before it is read) use this one rule.
 */
export interface OriginVersion {
  size: number;
  mtimeMs: number;
}

/** The version of a file from a stat result (mtime truncated to whole ms, as stored). */
export function originVersionOf(stat: { size: number | bigint; mtimeMs: number | bigint }): OriginVersion {
  return { size: Number(stat.size), mtimeMs: Math.floor(Number(stat.mtimeMs)) };
}

export function sameOriginVersion(a: OriginVersion, b: OriginVersion): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs;
}
