/**
 * When to try an object-store request again, and how long to wait first. Throttling (503 SlowDown), server errors
 * and broken connections (refused, reset, timed out) are worth another try; a 4xx answer (no such key, access
 * denied, bad signature) is not: it will be the same next time.
 *
 * Two ways to stop trying: a count (listings and scans: a few tries, then the caller reports the origin unreachable)
 * or a **deadline** (reads someone waits for: a network drop lasts seconds — a Wi-Fi hand-over, a NAS or gateway
 * restarting — not a number of tries; five quick tries against refused connections used to end in ~1.5 s, so a
 * drop of two seconds stopped playback although the read's deadline was 30 s away).
 */

export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  /** Backoff before retry n (1-based) is random in [0, min(maxDelayMs, baseDelayMs · 2^(n-1))] ("full jitter"). */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 5, baseDelayMs: 100, maxDelayMs: 5_000 };

/**
 * The longest wait between two tries of a read with a deadline: a read goes on at most ~1 s (0.5 s on average) after
 * the store is back, and a store that is down sees about one try per second per request in flight.
 */
export const DEADLINE_MAX_DELAY_MS = 1_000;

/** Monotonic milliseconds: the clock of deadlines (performance.now(); the wall clock may jump). */
export const monotonicNow = (): number => performance.now();

/** Error codes (S3 error codes and Bun's connection errors) that a later try may not get. */
const RETRYABLE_CODES = new Set([
  "SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "Throttling", "ThrottlingException",
  "TooManyRequests", "BadGateway", "GatewayTimeout",
  "ConnectionRefused", "ConnectionClosed", "ConnectionReset", "ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT",
  "UND_ERR_SOCKET", "FailedToOpenSocket", "Timeout", "RequestDeadline",
]);

/** The error's code (S3Error.code, a system error's code), if any. */
export function errorCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

export function isRetryable(e: unknown): boolean {
  const code = errorCode(e);
  if (code !== undefined) return RETRYABLE_CODES.has(code) || /^5\d\d$/.test(code);
  // No code: a network-level failure of the HTTP client ("socket closed", "connection reset").
  return /socket|connection|reset|closed|timed? ?out/i.test(e instanceof Error ? e.message : String(e));
}

/** The wait before retry `retry` (1 = the first retry). */
export function backoffMs(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return Math.floor(random() * cap);
}

export interface RetryOptions {
  sleep?: (ms: number) => Promise<void>;
  onRetry?: (e: unknown, retry: number) => void;
  random?: () => number;
  /**
   * Try until this moment (monotonicNow() clock) instead of `policy.attempts` times: a retryable failure is tried
   * again as long as the deadline has not passed, waiting at most DEADLINE_MAX_DELAY_MS between tries.
   */
  deadline?: number;
  now?: () => number;
}

/**
 * The wait before retry `retry`, or null when there is to be no retry: out of tries (count), or past the deadline
 * (the wait is cut at the deadline; a try is never started after it).
 */
export function nextWaitMs(retry: number, policy: RetryPolicy, opts: RetryOptions = {}): number | null {
  if (opts.deadline === undefined) return retry >= policy.attempts ? null : backoffMs(retry, policy, opts.random);
  const left = opts.deadline - (opts.now ?? monotonicNow)();
  if (left <= 0) return null;
  const wait = backoffMs(retry, { ...policy, maxDelayMs: Math.min(policy.maxDelayMs, DEADLINE_MAX_DELAY_MS) }, opts.random);
  return Math.min(wait, left);
}

/**
 * Runs `attempt` until it succeeds, fails with an error that is not retryable, or runs out of tries (or of time,
 * with `opts.deadline`). `onRetry` is told before each wait (for counting and debug logs).
 */
export async function withRetry<T>(attempt: () => Promise<T>, policy: RetryPolicy, opts: RetryOptions = {}): Promise<T> {
  const sleep = opts.sleep ?? ((ms: number) => Bun.sleep(ms));
  const now = opts.now ?? monotonicNow;
  for (let tried = 1; ; tried++) {
    try {
      return await attempt();
    } catch (e) {
      const wait = isRetryable(e) ? nextWaitMs(tried, policy, opts) : null;
      if (wait === null) throw e;
      opts.onRetry?.(e, tried);
      await sleep(wait);
      if (opts.deadline !== undefined && now() >= opts.deadline) throw e;
    }
  }
}
