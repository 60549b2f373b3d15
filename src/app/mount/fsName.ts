/** How musicfs mounts identify themselves: fsname `musicfs`, type `fuse.musicfs` (findmnt -t fuse.musicfs). */
export const FS_NAME = "musicfs";
