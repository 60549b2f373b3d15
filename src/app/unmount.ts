import { UserError } from "../core/errors.ts";
import { isMusicfsMounted, unmountLazy } from "../fuse/mount.ts";

/** `musicfs unmount`: detaches a musicfs mount; the serving musicfs notices and shuts down in order. */
export async function unmountMusicfs(mountPoint: string): Promise<void> {
  if (!isMusicfsMounted(mountPoint))
    throw new UserError(`${mountPoint} is not a musicfs mountpoint.`, "See `findmnt -t fuse.musicfs` for the mounts there are.");
  await unmountLazy(mountPoint);
}
