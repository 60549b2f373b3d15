/**
 * The FUSE kernel ABI (include/uapi/linux/fuse.h): opcodes, flag bits, struct sizes. Values only, no logic.
 * Everything is little-endian with natural alignment; offsets live next to their encoders in codec.ts.
 */

export const FUSE_KERNEL_VERSION = 7;
/** The minor we speak without passthrough; 41 is needed for FUSE_PASSTHROUGH (backing ids, max_stack_depth). */
export const FUSE_MINOR_BASE = 31;
export const FUSE_MINOR_PASSTHROUGH = 41;
export const FUSE_ROOT_ID = 1;

export const Opcode = {
  LOOKUP: 1, FORGET: 2, GETATTR: 3, SETATTR: 4, READLINK: 5, SYMLINK: 6, MKNOD: 8, MKDIR: 9, UNLINK: 10,
  RMDIR: 11, RENAME: 12, LINK: 13, OPEN: 14, READ: 15, WRITE: 16, STATFS: 17, RELEASE: 18, FSYNC: 20,
  SETXATTR: 21, GETXATTR: 22, LISTXATTR: 23, REMOVEXATTR: 24, FLUSH: 25, INIT: 26, OPENDIR: 27, READDIR: 28,
  RELEASEDIR: 29, FSYNCDIR: 30, GETLK: 31, SETLK: 32, SETLKW: 33, ACCESS: 34, CREATE: 35, INTERRUPT: 36,
  BMAP: 37, DESTROY: 38, IOCTL: 39, POLL: 40, NOTIFY_REPLY: 41, BATCH_FORGET: 42, FALLOCATE: 43,
  READDIRPLUS: 44, RENAME2: 45, LSEEK: 46, COPY_FILE_RANGE: 47, SETUPMAPPING: 48, REMOVEMAPPING: 49,
  SYNCFS: 50, TMPFILE: 51, STATX: 52,
} as const;
export type OpcodeNumber = (typeof Opcode)[keyof typeof Opcode];

const opcodeNames = new Map<number, string>(Object.entries(Opcode).map(([k, v]) => [v, k]));
export function opcodeName(op: number): string {
  return opcodeNames.get(op) ?? `OP_${op}`;
}

/** Operations that would modify the filesystem: always EROFS (the mount is read-only). */
export const WRITE_OPCODES: ReadonlySet<number> = new Set([
  Opcode.SETATTR, Opcode.SYMLINK, Opcode.MKNOD, Opcode.MKDIR, Opcode.UNLINK, Opcode.RMDIR, Opcode.RENAME,
  Opcode.RENAME2, Opcode.LINK, Opcode.WRITE, Opcode.SETXATTR, Opcode.REMOVEXATTR, Opcode.CREATE,
  Opcode.FALLOCATE, Opcode.COPY_FILE_RANGE, Opcode.TMPFILE,
]);

/** fuse_init_in/out `flags` (bits 0–31) and `flags2` (bits 32–63, stored shifted down by 32). */
export const InitFlag = {
  ASYNC_READ: 1 << 0,
  AUTO_INVAL_DATA: 1 << 12,
  DO_READDIRPLUS: 1 << 13,
  NO_OPEN_SUPPORT: 1 << 17,
  PARALLEL_DIROPS: 1 << 18,
  MAX_PAGES: 1 << 22,
  CACHE_SYMLINKS: 1 << 23,
  NO_OPENDIR_SUPPORT: 1 << 24,
  INIT_EXT: 1 << 30,
} as const;
export const InitFlag2 = {
  /** FUSE_DIRECT_IO_ALLOW_MMAP = 1 << 36 (Linux 6.6): files opened with FOPEN_DIRECT_IO may still be mmapped shared. */
  DIRECT_IO_ALLOW_MMAP: 1 << 4,
  /** FUSE_PASSTHROUGH = 1 << 37. */
  PASSTHROUGH: 1 << 5,
} as const;

/** What we ask for; the reply masks it with what the kernel offered. */
export const WANTED_INIT_FLAGS =
  InitFlag.ASYNC_READ | InitFlag.PARALLEL_DIROPS | InitFlag.MAX_PAGES | InitFlag.DO_READDIRPLUS |
  InitFlag.AUTO_INVAL_DATA | InitFlag.CACHE_SYMLINKS;

/** fuse_open_out.open_flags */
export const OpenFlag = {
  DIRECT_IO: 1 << 0,
  KEEP_CACHE: 1 << 1,
  CACHE_DIR: 1 << 3,
  PASSTHROUGH: 1 << 7,
} as const;

/** Notification codes (written with unique = 0 and error = code). */
export const NotifyCode = {
  INVAL_INODE: 2,
  INVAL_ENTRY: 3,
  DELETE: 6,
} as const;

/** Struct sizes in bytes. */
export const Size = {
  IN_HEADER: 40,
  OUT_HEADER: 16,
  ATTR: 88,
  ENTRY_OUT: 128,
  ATTR_OUT: 104,
  OPEN_OUT: 16,
  INIT_OUT: 64,
  STATFS_OUT: 80,
  READ_IN: 40,
  DIRENT_HEADER: 24,
  DIRENTPLUS_HEADER: 152,
  NOTIFY_INVAL_INODE: 24,
  NOTIFY_INVAL_ENTRY: 16,
  BACKING_MAP: 16,
} as const;

export const PAGE_SIZE = 4096;
/** Pages per request we negotiate (MAX_PAGES): READ replies up to 1 MiB. */
export const MAX_PAGES = 256;
/** max_write we announce; only sizes the request buffer for a read-only filesystem. */
export const MAX_WRITE = 128 * 1024;
/** The kernel refuses read() into a buffer smaller than max(8192, 80 + max_write) with EINVAL. */
export const REQUEST_BUFFER_SIZE = Math.max(8192, 80 + MAX_WRITE) + PAGE_SIZE;

/** ioctl numbers on /dev/fuse. */
export const FUSE_DEV_IOC_BACKING_OPEN = 0x4010e501;
export const FUSE_DEV_IOC_BACKING_CLOSE = 0x4004e502;

export const O_ACCMODE = 3;
export const O_RDONLY = 0;
export const W_OK = 2;
