/**
 * When to try an object-store request again, and how long to wait first. Throttling (503 SlowDown), server errors
 * and broken connections are worth another try; a 4xx answer (no such key, access denied, bad signature) is not:
 * it will be the same next time.
 */

export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  /** Backoff before retry n (1-based) is random in [0, min(maxDelayMs, baseDelayMs · 2^(n-1))] ("full jitter"). */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 5, baseDelayMs: 100, maxDelayMs: 5_000 };

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

/**
 * Runs `attempt` until it succeeds, fails with an error that is not retryable, or runs out of tries. `onRetry` is
 * told before each wait (for counting and debug logs).
 */
export async function withRetry<T>(
  attempt: () => Promise<T>,
  policy: RetryPolicy,
  opts: { sleep?: (ms: number) => Promise<void>; onRetry?: (e: unknown, retry: number) => void; random?: () => number } = {},
): Promise<T> {
  const sleep = opts.sleep ?? ((ms: number) => Bun.sleep(ms));
  for (let tried = 1; ; tried++) {
    try {
      return await attempt();
    } catch (e) {
      if (tried >= policy.attempts || !isRetryable(e)) throw e;
      opts.onRetry?.(e, tried);
      await sleep(backoffMs(tried, policy, opts.random));
    }
  }
}
