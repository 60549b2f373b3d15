/**
 * Failed reads of cached origins in the mount log. A player retrying a file, or a whole album queued, fails read
 * after read for one cause (a rejected key, a missing bucket, an untrusted certificate, throttling, the store down):
 * the reason is said once per origin and kind, in the words `musicfs scan` uses (S3Origin.describe), and every
 * failed read only at debug level.
 */
import { errorMessage } from "../../core/errors.ts";
import { log } from "../../core/logger.ts";
import { FetchError } from "../../cas/fetch/index.ts";
import { S3OriginError } from "../../origins/s3Origin.ts";

interface FailedRead {
  realPath: string;
  origin: { id: string; displayName: string };
}

/** The store's error behind a failed read, if it came from one. */
export function originCause(e: unknown): S3OriginError | null {
  for (let c: unknown = e, depth = 0; c instanceof Error && depth < 8; c = c.cause, depth++) if (c instanceof S3OriginError) return c;
  return null;
}

export class ReadFailureLog {
  private readonly said = new Set<string>();

  constructor(private readonly out: { warn(line: string): void; debug(line: string): void } = { warn: (l) => log.warn(l), debug: (l) => log.debug(l) }) {}

  /** A read answered EIO. */
  failed(read: FailedRead, e: FetchError): void {
    if (e.reason === "aborted" || e.reason === "closed") return; // the reader went away, or the mount is stopping
    this.out.debug(`Read of ${read.realPath} failed (${e.reason}: ${errorMessage(e)}): answered EIO.`);
    if (e.reason === "changed") {
      // About one file, and rare: said for each file.
      this.out.warn(`Read of ${read.realPath} failed: ${errorMessage(e)}; answered EIO.`);
      return;
    }
    const cause = originCause(e);
    const kind = cause ? cause.kind : e.reason;
    const key = `${read.origin.id}\0${kind}`;
    if (this.said.has(key)) return;
    this.said.add(key);
    const why = cause ? cause.reason : e.reason === "timeout" ? `no answer within cache.read_timeout_ms (${errorMessage(e)})` : errorMessage(e);
    this.out.warn(
      `Reads from ${read.origin.displayName} fail: ${why}. Files not cached yet answer EIO until this is fixed ` +
        "(said once for this cause; every failed read at debug level).",
    );
  }
}
