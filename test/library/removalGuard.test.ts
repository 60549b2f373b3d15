import { describe, expect, test } from "bun:test";
import { judgeRemovals, type RemovalFacts } from "../../src/library/removalGuard.ts";

const local: Omit<RemovalFacts, "listing"> = { wasMountPoint: false, isMountPoint: false, accepted: false };
const listing = (storedBefore: number, listed: number, removing: number) => ({ storedBefore, listed, removing });

describe("judgeRemovals", () => {
  test("ordinary removals proceed: some files, half of them at most", () => {
    expect(judgeRemovals({ ...local, listing: listing(10, 9, 1) })).toEqual({ proceed: true });
    expect(judgeRemovals({ ...local, listing: listing(10, 5, 5) })).toEqual({ proceed: true });
    expect(judgeRemovals({ ...local, listing: listing(0, 0, 0) })).toEqual({ proceed: true }); // a new, empty origin
    expect(judgeRemovals({ ...local, listing: listing(5, 0, 0) })).toEqual({ proceed: true }); // nothing to remove
  });

  test("an empty listing of a stored origin, or one losing more than half, is refused with the reason", () => {
    expect(judgeRemovals({ ...local, listing: listing(12, 0, 12) })).toEqual({ proceed: false, reason: "it lists no files (12 stored)" });
    expect(judgeRemovals({ ...local, listing: listing(10, 4, 6) })).toEqual({ proceed: false, reason: "it lost 6 of its 10 files in one sync" });
    // Files added in the same sync do not hide the loss.
    expect(judgeRemovals({ ...local, listing: listing(10, 7, 6) }).proceed).toBe(false);
  });

  test("a root that was a mount point and is not one now is refused before and after the listing", () => {
    const unmounted = { ...local, wasMountPoint: true, isMountPoint: false };
    expect(judgeRemovals({ ...unmounted, listing: null }).proceed).toBe(false);
    expect(judgeRemovals({ ...unmounted, listing: listing(10, 10, 0) }).proceed).toBe(false);
    expect(judgeRemovals({ ...local, wasMountPoint: true, isMountPoint: true, listing: null }).proceed).toBe(true);
    expect(judgeRemovals({ ...local, wasMountPoint: null, isMountPoint: null, listing: null }).proceed).toBe(true); // S3, or not recorded
  });

  test("accepted removals always proceed", () => {
    const accepted = { wasMountPoint: true, isMountPoint: false, accepted: true };
    expect(judgeRemovals({ ...accepted, listing: null }).proceed).toBe(true);
    expect(judgeRemovals({ ...accepted, listing: listing(12, 0, 12) }).proceed).toBe(true);
  });
});
