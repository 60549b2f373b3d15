import { existsSync, readFileSync } from "node:fs";
import type { CachePaths } from "../../config/paths.ts";
import { errorMessage, UserError } from "../../core/errors.ts";
import { tildify } from "../../core/logger.ts";
import { encodeRequest, LineFramer, parseReply, type ControlReply } from "./protocol.ts";

/** Replies can be long (a pin list of a large library): far over the request limit. */
const MAX_REPLY_BYTES = 256 * 1024 * 1024;

/**
 * Sends one request to the running mount and returns its result; an error reply becomes a UserError. Ask only when
 * the instance lock is held (InstanceLock.isHeld): a socket file alone may be the stale one of a daemon killed with
 * -9, and is never trusted.
 */
export async function callMount(paths: CachePaths, cmd: string, args: Record<string, unknown> = {}): Promise<unknown> {
  const reply = await exchange(paths, cmd, args);
  if (!reply.ok) throw new UserError(reply.error, reply.hint);
  return reply.result;
}

async function exchange(paths: CachePaths, cmd: string, args: Record<string, unknown>): Promise<ControlReply> {
  const path = paths.controlSocket;
  const pid = lockHolder(paths.lockFile);
  const daemon = `the running musicfs${pid ? ` (PID ${pid})` : ""}`;
  if (!existsSync(path))
    throw new UserError(`${daemon} has no control socket at ${tildify(path)}.`, "It may still be starting (try again), or be an older musicfs: restart the mount.");
  const framer = new LineFramer(MAX_REPLY_BYTES);
  return await new Promise<ControlReply>((resolve, reject) => {
    let settled = false;
    const done = (r: ControlReply | Error) => {
      if (settled) return;
      settled = true;
      if (r instanceof Error) reject(r);
      else resolve(r);
    };
    Bun.connect({
      unix: path,
      socket: {
        open(socket) {
          socket.write(encodeRequest({ cmd, args }));
        },
        data(socket, chunk) {
          for (const f of framer.push(chunk)) {
            done(f.kind === "line" ? parseReply(f.line) : { ok: false, error: "the reply was too long" });
            socket.end();
          }
        },
        close() {
          done(new UserError(`${daemon} closed the control connection without answering.`, "Look at the mount's log."));
        },
        error(_socket, e) {
          done(new UserError(`Talking to ${daemon} failed: ${errorMessage(e)}.`));
        },
      },
    }).catch((e) => done(new UserError(`Cannot reach ${daemon} on ${tildify(path)}: ${errorMessage(e)}.`, "If it hangs, stop it (musicfs unmount MOUNTPOINT) and mount again.")));
  });
}

/** The PID musicfs.lock names, for messages only. */
function lockHolder(lockFile: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(lockFile, "utf8").trim(), 10);
    return pid > 0 ? pid : null;
  } catch {
    return null;
  }
}
