/**
 * Is a file descriptor a terminal? Asked through libc's isatty, not `process.stderr.isTTY` or node:tty: either of
 * those builds Node's stream machinery (~15 ms of CPU per thread at start-up), and every process and worker of a
 * mount asks this once, to choose its log format, while most of them never write through a Node stream at all.
 */
import { libc } from "./libc.ts";

export function isTerminal(fd: number): boolean {
  return libc().isatty(fd) === 1;
}
