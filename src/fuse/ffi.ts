/**
 * The FUSE transport's libc calls (mount, umount2, ioctl, socketpair, recvmsg, fcntl) over the one libc binding
 * (core/libc.ts). Each wrapper returns the result or throws a SyscallError carrying the errno read immediately after the call.
 */
import { ptr } from "bun:ffi";
import { lastErrno, libc } from "../core/libc.ts";

export class SyscallError extends Error {
  constructor(
    readonly syscall: string,
    readonly errno: number,
  ) {
    super(`${syscall} failed: ${errnoName(errno)} (${errno})`);
  }
  get code(): string {
    return errnoName(this.errno);
  }
}

const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM", 2: "ENOENT", 4: "EINTR", 5: "EIO", 9: "EBADF", 11: "EAGAIN", 13: "EACCES", 16: "EBUSY",
  19: "ENODEV", 20: "ENOTDIR", 22: "EINVAL", 24: "EMFILE", 25: "ENOTTY", 38: "ENOSYS", 95: "EOPNOTSUPP",
  107: "ENOTCONN",
};
export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `errno ${errno}`;
}

function cstr(s: string): Buffer {
  return Buffer.from(s + "\0", "utf8");
}

function check(syscall: string, r: number): number {
  if (r < 0) throw new SyscallError(syscall, lastErrno());
  return r;
}

export const MS_RDONLY = 1;
export const MS_NOSUID = 2;
export const MS_NODEV = 4;
export const MNT_DETACH = 2;

export function mount(source: string, target: string, fstype: string, flags: number, data: string): void {
  check("mount", libc().mount(cstr(source), cstr(target), cstr(fstype), flags, cstr(data)));
}

export function umount2(target: string, flags: number): void {
  check("umount2", libc().umount2(cstr(target), flags));
}

/** ioctl(fd, request, arg) with a pointer argument; returns the (non-negative) result. */
export function ioctl(fd: number, request: number, arg: Uint8Array): number {
  return check("ioctl", libc().ioctl(fd, request, arg));
}

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const F_SETFD = 2;
const FD_CLOEXEC = 1;

/** socketpair(AF_UNIX, SOCK_STREAM) WITHOUT close-on-exec (one end is handed to fusermount3). */
export function socketPair(): [number, number] {
  const fds = new Int32Array(2);
  check("socketpair", libc().socketpair(AF_UNIX, SOCK_STREAM, 0, fds));
  return [fds[0]!, fds[1]!];
}

export function setCloexec(fd: number): void {
  check("fcntl", libc().fcntl(fd, F_SETFD, FD_CLOEXEC));
}

export function closeFd(fd: number): void {
  libc().close(fd);
}

export const MSG_DONTWAIT = 0x40;

/**
 * Receive one file descriptor passed with SCM_RIGHTS (fusermount3's answer). Returns undefined when the peer closed
 * the socket without sending one. Layouts (LP64): msghdr 56 bytes, cmsghdr {len u64, level i32, type i32, data}.
 */
export function receiveFd(sock: number, flags = 0): number | undefined {
  const byte = new Uint8Array(1);
  const iov = new BigUint64Array([BigInt(ptr(byte)), 1n]);
  const control = new Uint8Array(24);
  const msg = new Uint8Array(56);
  const mv = new DataView(msg.buffer);
  mv.setBigUint64(16, BigInt(ptr(iov)), true); // msg_iov
  mv.setBigUint64(24, 1n, true); // msg_iovlen
  mv.setBigUint64(32, BigInt(ptr(control)), true); // msg_control
  mv.setBigUint64(40, BigInt(control.length), true); // msg_controllen
  const r = Number(libc().recvmsg(sock, msg, flags));
  if (r < 0) throw new SyscallError("recvmsg", lastErrno());
  const cv = new DataView(control.buffer);
  const level = cv.getInt32(8, true);
  const type = cv.getInt32(12, true);
  if (cv.getBigUint64(0, true) === 0n || level !== 1 /* SOL_SOCKET */ || type !== 1 /* SCM_RIGHTS */) return undefined;
  return cv.getInt32(16, true);
}
