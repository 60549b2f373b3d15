import { chmodSync, lstatSync, rmSync } from "node:fs";
import type { Socket, UnixSocketListener } from "bun";
import { errorMessage, UserError } from "../../core/errors.ts";
import { log, tildify } from "../../core/logger.ts";
import { encodeReply, LineFramer, MAX_REQUEST_BYTES, parseRequest, type ControlReply, type ControlRequest } from "./protocol.ts";
import { peerCredentials } from "./peerCredentials.ts";

/** A command of the control channel: args in, a JSON-able result out; a UserError becomes an error reply. */
export type ControlHandler = (args: Record<string, unknown>) => Promise<unknown> | unknown;

interface Connection {
  framer: LineFramer;
  /** Requests are answered in order, one at a time per connection. */
  queue: Promise<void>;
  /** Reply bytes the socket did not take yet (written on drain). */
  outbox: Buffer | null;
}

/** A client that sends half a message and waits is answered and closed after this long. */
const IDLE_TIMEOUT_S = 30;

/**
 * The running mount's control socket (`control.sock` in the cache dir): owner-only (mode 0600 in a 0700 cache dir)
 * and, should the mode ever be wrong, a connection from another uid is refused by its kernel credentials
 * (SO_PEERCRED). Main thread only. Nothing a client sends can throw out of here: every bad message gets an error
 * reply and the connection (and the mount) go on.
 */
export class ControlServer {
  private constructor(private readonly listener: UnixSocketListener<Connection>, readonly path: string) {}

  /**
   * Listens at `path`. Call it holding the instance lock: whatever is at `path` then belongs to a daemon that is
   * dead (a stale socket after kill -9) and is replaced, never connected to.
   */
  static listen(path: string, handlers: Record<string, ControlHandler>): ControlServer {
    removeStale(path);
    const uid = process.getuid?.() ?? 0;
    const previous = process.umask(0o177); // the socket is created 0600: no window in which others may connect
    let listener: UnixSocketListener<Connection>;
    try {
      listener = Bun.listen<Connection>({
        unix: path,
        socket: {
          open(socket) {
            socket.data = { framer: new LineFramer(MAX_REQUEST_BYTES), queue: Promise.resolve(), outbox: null };
            socket.timeout(IDLE_TIMEOUT_S);
            const peer = peerCredentials(socketFd(socket));
            if ("errno" in peer || peer.uid !== uid) {
              const who = "errno" in peer ? `a client whose credentials could not be read (errno ${peer.errno})` : `uid ${peer.uid} (PID ${peer.pid})`;
              log.warn(`Control socket: refused a connection from ${who}; only uid ${uid} may control this mount.`);
              send(socket, { ok: false, error: `refused: this mount belongs to uid ${uid}; ${"errno" in peer ? "your credentials could not be checked" : `you are uid ${peer.uid}`}` });
              socket.end();
              return;
            }
          },
          data(socket, chunk) {
            if (!socket.data) return; // refused in open
            for (const framed of socket.data.framer.push(chunk)) {
              if (framed.kind === "tooLong") {
                send(socket, { ok: false, error: `message too long (over ${MAX_REQUEST_BYTES} bytes); the rest of that line is ignored` });
                continue;
              }
              const parsed = parseRequest(framed.line);
              if ("error" in parsed) {
                send(socket, { ok: false, error: parsed.error });
                continue;
              }
              const request = parsed.request;
              socket.data.queue = socket.data.queue.then(() => answer(handlers, request)).then((reply) => send(socket, reply));
            }
          },
          end(socket) {
            // The client closed its side mid-message: say so (it may still read) and close ours.
            if (socket.data && socket.data.framer.pending > 0) send(socket, { ok: false, error: "incomplete message (no newline before the end)" });
            void socket.data?.queue.then(() => socket.end());
          },
          timeout(socket) {
            if (socket.data && socket.data.framer.pending > 0) send(socket, { ok: false, error: `incomplete message (no newline within ${IDLE_TIMEOUT_S} s)` });
            socket.end();
          },
          drain(socket) {
            flush(socket);
          },
          error(_socket, e) {
            log.debug(`control socket: ${errorMessage(e)}`);
          },
        },
      });
    } finally {
      process.umask(previous);
    }
    chmodSync(path, 0o600);
    return new ControlServer(listener, path);
  }

  stop(): void {
    this.listener.stop(true);
    rmSync(this.path, { force: true });
  }
}

function removeStale(path: string): void {
  try {
    lstatSync(path);
  } catch {
    return;
  }
  log.debug(`control socket: replacing the stale ${tildify(path)} of a daemon that is gone`);
  rmSync(path, { force: true });
}

async function answer(handlers: Record<string, ControlHandler>, request: ControlRequest): Promise<ControlReply> {
  const handler = Object.hasOwn(handlers, request.cmd) ? handlers[request.cmd] : undefined;
  if (!handler) return { ok: false, error: `unknown command "${request.cmd}"`, hint: `Known: ${Object.keys(handlers).join(", ")}.` };
  try {
    return { ok: true, result: (await handler(request.args)) ?? null };
  } catch (e) {
    if (e instanceof UserError) return { ok: false, error: e.message, hint: e.hint };
    log.error(`Control command ${request.cmd} failed: ${errorMessage(e)}`);
    return { ok: false, error: `${request.cmd} failed: ${errorMessage(e)}` };
  }
}

function send(socket: Socket<Connection>, reply: ControlReply): void {
  const bytes = Buffer.from(encodeReply(reply));
  if (!socket.data) return void tryWrite(socket, bytes);
  socket.data.outbox = socket.data.outbox ? Buffer.concat([socket.data.outbox, bytes]) : bytes;
  flush(socket);
}

/** Writes what the socket takes now; the rest waits for drain (a large reply is never cut short). */
function flush(socket: Socket<Connection>): void {
  const box = socket.data?.outbox;
  if (!box) return;
  const written = tryWrite(socket, box);
  socket.data.outbox = written >= box.length ? null : box.subarray(written);
}

function tryWrite(socket: Socket<Connection>, bytes: Uint8Array): number {
  try {
    return Math.max(0, socket.write(bytes));
  } catch {
    return bytes.length; // the client is gone: nothing to answer
  }
}

/** The connection's file descriptor: Bun sets `fd` on its sockets but does not declare it in its types. */
function socketFd(socket: Socket<Connection>): number {
  const fd = (socket as unknown as { fd?: unknown }).fd;
  return typeof fd === "number" ? fd : -1;
}
