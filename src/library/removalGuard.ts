/**
 * The removal guard: when may a sync remove an origin's files? An origin that is really offline rarely says so: an
 * unmounted NAS share leaves its mountpoint as an empty folder, a failed or empty S3 listing looks like an empty
 * bucket. Applying such a listing would delete the library and make its cached content evictable. So a listing that
 * looks like an outage is treated as one: nothing is removed, the caller warns, and the user confirms a real removal
 * (`musicfs scan --accept-removals`, or `accept_removals = true` on the origin).
 *
 * Every origin kind uses this one rule (local folders here, S3 listings in src/origins/s3*). Pure: the caller
 * gathers the facts. Rules and rationale: docs/sync.md.
 */

/** What a sync found for one origin, once its listing is complete. */
export interface ListingFacts {
  /** Files of the origin stored before this sync. */
  storedBefore: number;
  /** Files the origin holds after this sync if the removals are applied (for a whole listing: the files listed). */
  listed: number;
  /** Stored files the listing no longer has: what would be removed. */
  removing: number;
}

export interface RemovalFacts {
  /** The origin root was a mount point at its first scan (null: not recorded, or not a local folder). */
  wasMountPoint: boolean | null;
  /** It is one now (null: cannot tell, or not a local folder). */
  isMountPoint: boolean | null;
  /** The user confirmed removals for this origin (`--accept-removals`, `accept_removals = true`). */
  accepted: boolean;
  /** Null before the listing: only the mount-point rule can be judged then (an origin that fails it is not walked). */
  listing: ListingFacts | null;
}

export type RemovalVerdict = { proceed: true } | { proceed: false; reason: string };

const PROCEED: RemovalVerdict = { proceed: true };

/**
 * Proceed, or refuse with the reason (a phrase for "origin X looks offline: <reason>"). Refused when:
 * - the origin root was a mount point at the first scan and no longer is (the disk or share is not mounted);
 * - the listing has no files while files are stored (an empty folder, an empty or failed listing);
 * - the listing loses more than half of the stored files in one sync.
 */
export function judgeRemovals(facts: RemovalFacts): RemovalVerdict {
  if (facts.accepted) return PROCEED;
  if (facts.wasMountPoint === true && facts.isMountPoint === false)
    return { proceed: false, reason: "its folder was a mount point at the first scan and is not one now (the disk or share is not mounted)" };
  const l = facts.listing;
  if (!l || l.removing === 0) return PROCEED;
  if (l.listed === 0) return { proceed: false, reason: `it lists no files (${l.storedBefore} stored)` };
  if (l.removing * 2 > l.storedBefore) return { proceed: false, reason: `it lost ${l.removing} of its ${l.storedBefore} files in one sync` };
  return PROCEED;
}
