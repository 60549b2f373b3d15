/**
 * The one binding to libc for the calls Bun has no API for (mount, ioctl, socketpair, recvmsg, fcntl, flock, getsockopt, dup2,
 * socket/sendto for sd_notify, isatty without node:tty, prctl to name a thread), through bun:ffi. Opened lazily on first use, so importing it
 * costs nothing where it is never called, and opened once per thread (a worker has its own JS heap, so it loads its own handle).
 */
import { dlopen, FFIType, read } from "bun:ffi";

function openLibc() {
  return dlopen("libc.so.6", {
    mount: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.u64, FFIType.ptr], returns: FFIType.i32 },
    umount2: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
    // Variadic in C; declaring the third argument as a pointer works for every request we make.
    ioctl: { args: [FFIType.i32, FFIType.u64, FFIType.ptr], returns: FFIType.i32 },
    socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    socketpair: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
    sendto: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i64 },
    recvmsg: { args: [FFIType.i32, FFIType.ptr, FFIType.i32], returns: FFIType.i64 },
    fcntl: { args: [FFIType.i32, FFIType.i32, FFIType.u64], returns: FFIType.i32 },
    flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    getsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
    close: { args: [FFIType.i32], returns: FFIType.i32 },
    dup2: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    isatty: { args: [FFIType.i32], returns: FFIType.i32 },
    // Variadic in C; PR_SET_NAME reads only the second argument.
    prctl: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.u64, FFIType.u64], returns: FFIType.i32 },
    __errno_location: { args: [], returns: FFIType.ptr },
  }).symbols;
}

export type Libc = ReturnType<typeof openLibc>;
let handle: Libc | undefined;

/** The libc symbols, loaded on first use. */
export function libc(): Libc {
  return (handle ??= openLibc());
}

/** errno of the calling thread, read right after a failed call. */
export function lastErrno(): number {
  const p = libc().__errno_location();
  return p ? read.i32(p, 0) : 0;
}

const PR_SET_NAME = 15;

/**
 * Name the calling thread (as `top -H`, `ps -L` and /proc/PID/task/TID/comm show it; the kernel keeps 15 bytes).
 * Bun calls every worker thread "Worker": named, the FUSE workers and the hash worker can be told apart when their
 * CPU is measured (bench/s3/coldProfile.ts). Best effort: a failure leaves the old name.
 */
export function nameThisThread(name: string): void {
  try {
    libc().prctl(PR_SET_NAME, Buffer.from(`${name.slice(0, 15)}\0`), 0, 0, 0);
  } catch {}
}
