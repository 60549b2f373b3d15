import { UserError } from "../../core/errors.ts";
import { canonicalMountpoint, isMountedAs, unmountLazy } from "../../fuse/mount.ts";
import { FS_NAME } from "../mount/fsName.ts";
import { dropUnmountRequest, noteUnmountRequest } from "../mount/unmountRequest.ts";

/** `musicfs unmount`: detaches a musicfs mount; the serving musicfs notices and shuts down in order. */
export async function unmountMusicfs(mountPoint: string): Promise<void> {
  if (!isMountedAs(mountPoint, FS_NAME))
    throw new UserError(`${mountPoint} is not a musicfs mountpoint.`, "See `findmnt -t fuse.musicfs` for the mounts there are.");
  const canonical = canonicalMountpoint(mountPoint);
  noteUnmountRequest(canonical); // the daemon logs a requested unmount, not one from outside
  try {
    await unmountLazy(mountPoint);
  } catch (e) {
    dropUnmountRequest(canonical);
    throw e;
  }
}
