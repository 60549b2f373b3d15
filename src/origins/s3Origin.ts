/**
 * An S3 bucket (AWS, B2, R2, Wasabi, Ceph RGW, MinIO…) as an origin, on Bun's built-in S3 client.
 *
 * Requests: `walk` = ListObjectsV2 pages of 1,000 keys (size, ETag and LastModified come with the listing: no HEAD
 * per object), several key ranges side by side; `read` = one ranged GET; `stream` = one streaming GET from an offset (resumed with a new ranged GET
 * if the connection breaks); `stat` = HEAD; `isAvailable` = a one-key listing.
 *
 * Every request has a timeout, at most `maxRequests` are in flight, and throttling, server errors and broken
 * connections are retried with exponential backoff and jitter (see retryPolicy.ts); 4xx answers are not.
 *
 * Times: RGW lists LastModified with milliseconds but HEAD answers whole seconds, so `mtimeMs` is whole seconds
 * everywhere. The content identity is size + ETag (an overwrite always changes the ETag of a single-part upload,
 * and the LastModified of any upload).
 */
import type { OriginId } from "../core/types.ts";
import { withTimeout } from "../core/timeout.ts";
import { FolderGrouper } from "./folderGrouper.ts";
import type { Origin, OriginCallOptions, OriginEntry, StreamOptions, WalkReport } from "./origin.ts";
import { RequestLimiter } from "./requestLimiter.ts";
import { DEFAULT_RETRY_POLICY, backoffMs, errorCode, isRetryable, monotonicNow, withRetry, type RetryPolicy } from "./retryPolicy.ts";
import type { ResolvedS3Settings } from "./s3Credentials.ts";
import { keyOfPath, pathOfKey } from "./s3Keys.ts";
import { formatS3Url, type S3Location } from "../core/s3Url.ts";
import { s3ProblemKind, type OriginProblemKind } from "./originProblem.ts";

export interface S3OriginOptions {
  location: S3Location;
  settings: ResolvedS3Settings;
  /** Requests in flight at most (the config's default is 32). */
  maxRequests: number;
  /** Bound on each request (for a stream: on each piece). */
  requestTimeoutMs: number;
  retry?: RetryPolicy;
  /** Keys per ListObjectsV2 page (default 1,000, the S3 maximum). */
  listPageSize?: number;
  /** Key ranges listed side by side (default: maxRequests). */
  listRanges?: number;
}

/** Counts of what this origin asked of the store (for status and tests). */
export interface S3RequestCounts {
  list: number;
  get: number;
  head: number;
  retries: number;
}

/** An S3 request error, with the store's error code and a message that names the bucket and what to check. */
export class S3OriginError extends Error {
  override readonly name = "S3OriginError";
  /** The kind of problem (one mount-log line per origin and kind). */
  readonly kind: OriginProblemKind;
  constructor(
    message: string,
    readonly code: string | undefined,
    options?: { cause?: unknown; reason?: string },
  ) {
    super(message, options);
    this.kind = s3ProblemKind(code);
    this.reason = options?.reason ?? message;
  }
  /** What went wrong and what to check, without the request it happened to ("the secret key was rejected by …"). */
  readonly reason: string;
}

function secondsOf(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

function stripQuotes(etag: string | undefined): string | undefined {
  return etag?.replace(/^"|"$/g, "");
}

export class S3Origin implements Origin {
  readonly displayName: string;
  readonly counts: S3RequestCounts = { list: 0, get: 0, head: 0, retries: 0 };
  /** GET body bytes received (metrics). */
  private received = 0;
  private readonly client: Bun.S3Client;
  private readonly limiter: RequestLimiter;
  private readonly timeoutMs: number;
  private readonly retry: RetryPolicy;
  private readonly pageSize: number;
  private readonly prefix: string;

  constructor(readonly id: OriginId, private readonly options: S3OriginOptions) {
    const { location, settings } = options;
    this.displayName = formatS3Url(location);
    this.prefix = location.prefix;
    this.limiter = new RequestLimiter(options.maxRequests);
    this.timeoutMs = options.requestTimeoutMs;
    this.retry = options.retry ?? DEFAULT_RETRY_POLICY;
    this.pageSize = options.listPageSize ?? 1000;
    let endpoint = settings.endpoint;
    // Virtual-hosted style with a custom endpoint: Bun expects the bucket in the endpoint's host name.
    if (endpoint && !settings.pathStyle) endpoint = endpoint.replace(/^(https?:\/\/)/i, `$1${location.bucket}.`);
    this.client = new Bun.S3Client({
      bucket: location.bucket,
      region: settings.region,
      endpoint,
      virtualHostedStyle: !settings.pathStyle,
      accessKeyId: settings.credentials.accessKeyId,
      secretAccessKey: settings.credentials.secretAccessKey,
      sessionToken: settings.credentials.sessionToken,
    });
  }

  requestCounts(): Record<string, number> {
    return { ...this.counts };
  }

  bytesReceived(): number {
    return this.received;
  }

  /** Requests in flight now. */
  get inFlight(): number {
    return this.limiter.inFlight;
  }

  private key(realPath: string): string {
    return keyOfPath(this.prefix, realPath);
  }

  /**
   * One request: a slot, a timeout, retries; errors come out as S3OriginError naming the bucket. With a `deadline`
   * (reads someone waits for) a broken connection, a refused one or a 5xx is tried again until the deadline, however
   * many tries that takes; without one, `retry.attempts` tries. The slot is held only while a try is in flight.
   */
  private request<T>(kind: keyof S3RequestCounts, what: string, call: () => Promise<T>, retry = this.retry, deadline?: number): Promise<T> {
    return withRetry(
      () =>
        this.limiter.run(() => {
          this.counts[kind]++;
          const ms = deadline === undefined ? this.timeoutMs : Math.max(1, Math.min(this.timeoutMs, deadline - monotonicNow()));
          return withTimeout(call(), ms, () => Object.assign(new Error(`no answer within ${ms} ms`), { code: "Timeout" }));
        }),
      retry,
      { onRetry: () => this.counts.retries++, deadline },
    ).catch((e) => {
      throw this.describe(e, what);
    });
  }

  /** A message a user can act on. Never includes credentials: only the bucket, the endpoint and the key. */
  describe(e: unknown, what: string): S3OriginError {
    if (e instanceof S3OriginError) return e;
    const code = errorCode(e);
    const where = `${this.displayName}${this.options.settings.endpoint ? ` at ${this.options.settings.endpoint}` : ""}`;
    const source = this.options.settings.credentials.source;
    const reason = (() => {
      switch (code) {
        case "SignatureDoesNotMatch":
          return `the secret key was rejected by ${where}; check the secret access key from ${source}`;
        case "InvalidAccessKeyId":
          return `the access key id is unknown to ${where}; check the access key id from ${source} (and the endpoint)`;
        case "AccessDenied":
          return `access denied to ${where}; check that the credentials from ${source} may list and read the bucket`;
        case "NoSuchBucket":
          return `the bucket of ${where} does not exist; check the bucket name (and the endpoint and region)`;
        case "NoSuchKey":
          return `the object is gone from ${where}`;
        case "PermanentRedirect":
        case "AuthorizationHeaderMalformed":
          return `${where} is in another region; set region (or AWS_REGION) to the bucket's region`;
        case "ConnectionRefused":
        case "ECONNREFUSED":
        case "FailedToOpenSocket":
          return `${where} is not reachable (connection refused)`;
        case "DEPTH_ZERO_SELF_SIGNED_CERT":
        case "SELF_SIGNED_CERT_IN_CHAIN":
        case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
        case "UNABLE_TO_GET_ISSUER_CERT_LOCALLY":
        case "CERT_HAS_EXPIRED":
        case "ERR_TLS_CERT_ALTNAME_INVALID":
          return `the TLS certificate of ${where} is not trusted (${code}); if it is signed by a private CA, set the origin's ca_file (or AWS_CA_BUNDLE) to that CA's certificate (PEM)`;
        case "Timeout":
          return `${where} did not answer within ${this.timeoutMs} ms`;
        case "SlowDown":
        case "Throttling":
        case "ThrottlingException":
        case "TooManyRequests":
        case "RequestLimitExceeded":
          return `${where} is throttling requests (${code}); they are retried with backoff, and a lower max_requests on the origin sends fewer at once`;
        default: {
          const m = e instanceof Error ? e.message : String(e);
          // S3 error bodies are XML: keep the code, drop the rest.
          return `${where}: ${code ?? (m.startsWith("<?xml") ? "error" : m)}`;
        }
      }
    })();
    return new S3OriginError(`${what}: ${reason}`, code, { cause: e, reason });
  }

  async isAvailable(): Promise<boolean> {
    return (await this.unavailableReason()) === null;
  }

  /** Null when a one-key listing succeeds, else why it failed, in the words `scan` uses (S3OriginError.reason). */
  async unavailableReason(): Promise<string | null> {
    try {
      await this.request("list", "listing", () => this.client.list({ prefix: this.prefix, maxKeys: 1 }), { ...this.retry, attempts: 1 });
      return null;
    } catch (e) {
      return e instanceof S3OriginError ? e.reason : String(e);
    }
  }

  /** Throws an S3OriginError when the bucket cannot be listed (wrong credentials, no such bucket, unreachable). */
  async checkAccess(): Promise<void> {
    await this.request("list", `Cannot list ${this.displayName}`, () => this.client.list({ prefix: this.prefix, maxKeys: 1 }));
  }

  /**
   * Every object below the prefix, one folder per batch. A failing page throws: the caller sees an unreadable origin
   * and removes nothing.
   *
   * A listing is a chain of pages (each needs the previous one's token), so 100k objects are 100 round trips in a
   * row. To overlap them: one request lists the top-level folders (delimiter "/"), then the key space is cut at
   * those folders into up to `listRanges` ranges listed side by side — about as many requests as one chain, a
   * fraction of the time. Folders never span two ranges, so each range groups its own (FolderGrouper).
   */
  async *walk(report?: WalkReport): AsyncIterable<OriginEntry[]> {
    const top = await this.listPage({ delimiter: "/", maxKeys: 1000 });
    const folders = (top.commonPrefixes ?? []).map((p) => p.prefix);
    if (top.isTruncated || folders.length < 2) {
      yield* this.walkRange(undefined, null, report); // few or very many top-level entries: one chain
      return;
    }
    const rootFiles = this.entriesOf(top.contents ?? [], report);
    if (rootFiles.length > 0) yield rootFiles;
    const ranges = cutRanges(folders, Math.min(this.options.listRanges ?? this.limiter.limit, folders.length));
    yield* merge(ranges.map(([from, to]) => this.walkRange(from, to, report)));
  }

  /** The folders of keys in [from, to) (null: to the end), grouped; `from` undefined: from the start, root files included. */
  private async *walkRange(from: string | undefined, to: string | null, report?: WalkReport): AsyncIterable<OriginEntry[]> {
    const grouper = new FolderGrouper();
    let token: string | undefined;
    // startAfter the folder name without its "/": the first key listed is at or before the folder's first key.
    let startAfter = from?.slice(0, -1);
    for (;;) {
      const page = await this.listPage(token ? { continuationToken: token } : { startAfter });
      startAfter = undefined;
      let done = !page.isTruncated;
      const inRange: { key: string; size?: number; eTag?: string; lastModified?: string | Date }[] = [];
      for (const o of page.contents ?? []) {
        if (to !== null && o.key >= to) {
          done = true;
          break;
        }
        // Before the range's first folder, or a file at the top level (listed with the folders): not ours.
        if (from !== undefined && (o.key < from || !o.key.slice(this.prefix.length).includes("/"))) continue;
        inRange.push(o);
      }
      for (const entry of this.entriesOf(inRange, report)) for (const folder of grouper.add(entry)) yield* batches(folder);
      if (done) break;
      token = page.nextContinuationToken;
    }
    for (const folder of grouper.finish()) yield* batches(folder);
  }

  private listPage(extra: { delimiter?: string; continuationToken?: string; startAfter?: string; maxKeys?: number }) {
    return this.request("list", `Listing ${this.displayName}`, () =>
      this.client.list({ prefix: this.prefix, maxKeys: this.pageSize, ...extra }),
    );
  }

  private entriesOf(contents: readonly { key: string; size?: number; eTag?: string; lastModified?: string | Date }[], report?: WalkReport): OriginEntry[] {
    const out: OriginEntry[] = [];
    for (const o of contents) {
      const realPath = pathOfKey(this.prefix, o.key);
      if (realPath === null) {
        // A key ending in "/" that holds data: not a placeholder, but no file name can show it. Said, not hidden.
        if ((o.size ?? 0) > 0 && o.key.startsWith(this.prefix) && o.key.length > this.prefix.length)
          (report ? (report.notFiles ??= []) : []).push({ path: o.key.slice(this.prefix.length), size: o.size ?? 0 });
        continue;
      }
      const lastModified = o.lastModified ? Date.parse(String(o.lastModified)) : 0;
      out.push({ realPath, size: o.size ?? 0, mtimeMs: secondsOf(lastModified), etag: stripQuotes(o.eTag) });
    }
    return out;
  }

  async stat(realPath: string, opts?: OriginCallOptions): Promise<{ size: number; mtimeMs: number; etag?: string }> {
    const what = `Reading "${realPath}"`;
    let s;
    try {
      s = await this.request("head", what, () => this.client.file(this.key(realPath)).stat(), this.retry, opts?.deadline);
    } catch (e) {
      throw await this.diagnoseHead(realPath, what, e);
    }
    return { size: s.size, mtimeMs: secondsOf(s.lastModified.getTime()), etag: stripQuotes(s.etag) };
  }

  /**
   * A HEAD answer has no body, so a failed one reaches us without the store's error code ("UnknownError" for a
   * rejected key, throttling, a 5xx alike; "NoSuchKey" for a missing key or bucket). One ranged GET of a byte asks again and gets the code (its error body
   * names it): the failure is then described — and retried or not — for what it is. Only on such a failure.
   */
  private async diagnoseHead(realPath: string, what: string, e: unknown): Promise<unknown> {
    // A 404 HEAD reads as NoSuchKey whether the key or the whole bucket is missing: the GET tells them apart too.
    if (!(e instanceof S3OriginError) || (e.code !== "UnknownError" && e.code !== "NoSuchKey")) return e;
    this.counts.get++;
    try {
      await withTimeout(this.client.file(this.key(realPath)).slice(0, 1).arrayBuffer(), this.timeoutMs, () => new Error("no answer"));
      return e;
    } catch (g) {
      return errorCode(g) === undefined ? e : this.describe(g, what);
    }
  }

  async read(realPath: string, offset: number, length: number, opts?: OriginCallOptions): Promise<Uint8Array> {
    if (length <= 0) return new Uint8Array(0);
    try {
      const buf = await this.request(
        "get", `Reading "${realPath}"`, () => this.client.file(this.key(realPath)).slice(offset, offset + length).arrayBuffer(),
        this.retry, opts?.deadline,
      );
      this.received += buf.byteLength;
      return new Uint8Array(buf);
    } catch (e) {
      if (e instanceof S3OriginError && e.code === "InvalidRange") return new Uint8Array(0); // at or past EOF
      throw e;
    }
  }

  /**
   * One streaming GET from `offset` (to `opts.end`, or EOF); pieces are passed on as they arrive, coalesced to
   * `chunkSize` each (the last one shorter). A piece that does not come within the request timeout, or a broken connection, resumes with a new
   * GET from where the stream stopped (within the retry policy's tries). The response body is cancelled when the
   * caller stops early (`return`, a thrown error) or aborts `opts.signal`: the connection stops downloading.
   */
  async *stream(realPath: string, offset: number, chunkSize = 256 * 1024, opts?: StreamOptions): AsyncIterable<Uint8Array> {
    let position = offset;
    const end = opts?.end;
    const signal = opts?.signal;
    let failures = 0;
    const what = `Reading "${realPath}"`;
    const pieceTimeout = () => Object.assign(new Error(`no data within ${this.timeoutMs} ms`), { code: "Timeout" });
    const aborted = () => Object.assign(new Error(`${what}: stopped`), { code: "Aborted" });
    while (end === undefined || position < end) {
      if (signal?.aborted) throw aborted();
      this.counts.get++;
      const file = this.client.file(this.key(realPath));
      const reader = (end === undefined ? file.slice(position) : file.slice(position, end)).stream().getReader();
      const cancel = () => void reader.cancel().catch(() => {});
      signal?.addEventListener("abort", cancel, { once: true });
      let finished = false;
      let pending: Uint8Array[] = [];
      let pendingBytes = 0;
      try {
        for (;;) {
          const { done, value } = await withTimeout(reader.read(), this.timeoutMs, pieceTimeout);
          if (signal?.aborted) throw aborted();
          if (done) break;
          this.received += value.length;
          pending.push(value);
          pendingBytes += value.length;
          if (pendingBytes >= chunkSize) {
            // Pieces of exactly `chunkSize` (the network's pieces are ~64 KiB): a caller that asks for aligned
            // ranges gets aligned pieces, so a reader's aligned reads are views of one piece, not copies of two.
            const all = concat(pending, pendingBytes);
            let at = 0;
            for (; all.length - at >= chunkSize; at += chunkSize) {
              position += chunkSize;
              failures = 0;
              yield all.subarray(at, at + chunkSize);
            }
            pending = at < all.length ? [all.subarray(at)] : [];
            pendingBytes = all.length - at;
          }
        }
        finished = true;
        if (pendingBytes > 0) yield concat(pending, pendingBytes);
        return;
      } catch (e) {
        if (signal?.aborted) throw aborted();
        if (errorCode(e) === "InvalidRange") return; // the offset is at EOF
        if (!isRetryable(e) || ++failures >= this.retry.attempts) throw this.describe(e, what);
        this.counts.retries++;
        await Bun.sleep(backoffMs(failures, this.retry));
        // Bytes received but not yet passed on are fetched again: the next GET starts at `position`.
      } finally {
        signal?.removeEventListener("abort", cancel);
        if (!finished) cancel(); // stopped early, failed or timed out: no more bytes on this connection
      }
    }
  }
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Cuts sorted folder names into `count` contiguous ranges [first folder, next range's first folder or null). */
export function cutRanges(folders: readonly string[], count: number): [string, string | null][] {
  const out: [string, string | null][] = [];
  const per = Math.ceil(folders.length / count);
  for (let i = 0; i < folders.length; i += per) out.push([folders[i], folders[i + per] ?? null]);
  return out;
}

/** Interleaves several batch streams as their batches arrive (each stream's own order kept). */
async function* merge<T>(streams: AsyncIterable<T>[]): AsyncIterable<T> {
  const iterators = streams.map((s) => s[Symbol.asyncIterator]());
  const pending = new Map<number, Promise<{ i: number; r: IteratorResult<T> }>>();
  const next = (i: number) => pending.set(i, iterators[i].next().then((r) => ({ i, r })));
  iterators.forEach((_, i) => next(i));
  try {
    while (pending.size > 0) {
      const { i, r } = await Promise.race(pending.values());
      if (r.done) pending.delete(i);
      else {
        next(i);
        yield r.value;
      }
    }
  } finally {
    // A failure or an early stop: end the other ranges too (their requests finish in the background).
    await Promise.allSettled(iterators.map((it) => it.return?.()));
  }
}

function* batches(files: OriginEntry[], size = 1024): Generator<OriginEntry[]> {
  for (let i = 0; i < files.length; i += size) yield files.slice(i, i + size);
}
