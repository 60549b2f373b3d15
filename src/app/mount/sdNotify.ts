import { ptr } from "bun:ffi";
import { libc } from "../../core/libc.ts";
import { log } from "../../core/logger.ts";

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;

/** struct sockaddr_un for a path, or a Linux abstract socket when the path starts with "@". */
export function sockaddrUn(path: string): Uint8Array {
  const name = new TextEncoder().encode(path);
  const addr = new Uint8Array(2 + name.length + 1);
  new DataView(addr.buffer).setUint16(0, AF_UNIX, true);
  addr.set(name, 2);
  if (path.startsWith("@")) addr[2] = 0; // abstract namespace: leading NUL instead of "@"
  return path.startsWith("@") ? addr.subarray(0, 2 + name.length) : addr;
}

/**
 * systemd's sd_notify: one datagram ("READY=1", "STOPPING=1", …) to $NOTIFY_SOCKET. A no-op outside systemd
 * (Type=notify units need READY=1, or systemd kills the daemon after its start timeout).
 */
export function sdNotify(state: string, env = process.env): boolean {
  const path = env.NOTIFY_SOCKET;
  if (!path) return false;
  try {
    const symbols = libc();
    const fd = symbols.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    try {
      const msg = new TextEncoder().encode(state);
      const addr = sockaddrUn(path);
      return Number(symbols.sendto(fd, ptr(msg), BigInt(msg.length), 0, ptr(addr), addr.length)) === msg.length;
    } finally {
      symbols.close(fd);
    }
  } catch (e) {
    log.debug(`sd_notify(${state}) failed: ${e}`);
    return false;
  }
}
