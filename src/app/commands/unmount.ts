import { UserError } from "../../core/errors.ts";
import { isMountedAs, unmountLazy } from "../../fuse/mount.ts";
import { FS_NAME } from "../mount/fsName.ts";

/** `musicfs unmount`: detaches a musicfs mount; the serving musicfs notices and shuts down in order. */
export async function unmountMusicfs(mountPoint: string): Promise<void> {
  if (!isMountedAs(mountPoint, FS_NAME))
    throw new UserError(`${mountPoint} is not a musicfs mountpoint.`, "See `findmnt -t fuse.musicfs` for the mounts there are.");
  await unmountLazy(mountPoint);
}
