import { ptr } from "bun:ffi";
import { lastErrno, libc } from "../../core/libc.ts";

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;

/** The process that opened a Unix socket connection: `struct ucred` (pid, uid, gid) from SO_PEERCRED. */
export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

/**
 * The kernel's record of who connected (taken at connect time; a client cannot forge it), or an errno when the fd
 * is not a connected Unix socket.
 */
export function peerCredentials(fd: number): PeerCredentials | { errno: number } {
  const cred = new Int32Array(3);
  const len = new Uint32Array([cred.byteLength]);
  if (libc().getsockopt(fd, SOL_SOCKET, SO_PEERCRED, ptr(cred), ptr(len)) !== 0) return { errno: lastErrno() };
  return { pid: cred[0]!, uid: cred[1]!, gid: cred[2]! };
}
