import { UserError } from "../../core/errors.ts";
import { canonicalMountpoint, isMountedAs, unmountLazy } from "../../fuse/mount.ts";
import { FS_NAME } from "../mount/fsName.ts";
import { dropUnmountRequest, noteUnmountRequest } from "../mount/unmountRequest.ts";

/**
 * `musicfs unmount`: detaches a musicfs mount; the serving musicfs notices and shuts down in order. A dead mount
 * (its musicfs was killed: "Transport endpoint is not connected") is detached the same way. With `ifMounted`,
 * nothing mounted there is not an error (the service's ExecStopPost after a clean stop). Returns whether it unmounted.
 */
export async function unmountMusicfs(mountPoint: string, opts: { ifMounted?: boolean } = {}): Promise<boolean> {
  if (!isMountedAs(mountPoint, FS_NAME)) {
    if (opts.ifMounted) return false;
    throw new UserError(`${mountPoint} is not a musicfs mountpoint.`, "See `findmnt -t fuse.musicfs` for the mounts there are.");
  }
  const canonical = canonicalMountpoint(mountPoint);
  noteUnmountRequest(canonical); // the daemon logs a requested unmount, not one from outside
  try {
    await unmountLazy(mountPoint);
  } catch (e) {
    dropUnmountRequest(canonical);
    throw e;
  }
  return true;
}
