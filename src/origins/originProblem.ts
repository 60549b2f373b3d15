/**
 * What kind of problem an origin request ran into, from the store's error code: the key of "say it once" in the
 * mount log (one line per origin and kind, not one per read) and of the words shown (S3Origin.describe).
 */
export type OriginProblemKind = "credentials" | "bucket" | "region" | "tls" | "throttled" | "unreachable" | "timeout" | "gone" | "other";

const KINDS: Record<string, OriginProblemKind> = {
  SignatureDoesNotMatch: "credentials",
  InvalidAccessKeyId: "credentials",
  AccessDenied: "credentials",
  ExpiredToken: "credentials",
  InvalidToken: "credentials",
  TokenRefreshRequired: "credentials",
  NoSuchBucket: "bucket",
  PermanentRedirect: "region",
  AuthorizationHeaderMalformed: "region",
  SlowDown: "throttled",
  Throttling: "throttled",
  ThrottlingException: "throttled",
  TooManyRequests: "throttled",
  RequestLimitExceeded: "throttled",
  ServiceUnavailable: "throttled",
  ConnectionRefused: "unreachable",
  ECONNREFUSED: "unreachable",
  FailedToOpenSocket: "unreachable",
  ConnectionClosed: "unreachable",
  ConnectionReset: "unreachable",
  ECONNRESET: "unreachable",
  Timeout: "timeout",
  ETIMEDOUT: "timeout",
  NoSuchKey: "gone",
  NotFound: "gone",
};

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_(VERIFY|GET_ISSUER)|ERR_TLS|TLS/;

/** The kind of an S3 error code (undefined: a network failure without a code). Pure. */
export function s3ProblemKind(code: string | undefined): OriginProblemKind {
  if (code === undefined) return "other";
  return KINDS[code] ?? (TLS_CODES.test(code) ? "tls" : code === "503" ? "throttled" : "other");
}
