import { UserError } from "./errors.ts";

/** Where an S3 origin's files live: a bucket and a key prefix ("" or ending in "/"). */
export interface S3Location {
  bucket: string;
  prefix: string;
}

/** True for strings that name an S3 origin rather than a local folder. */
export function isS3Url(value: string): boolean {
  return /^s3:\/\//i.test(value);
}

/** Bucket names as S3 allows them (3–63 of a-z 0-9 . -; RGW and MinIO also accept `_` and capitals, so do we). */
const BUCKET = /^[A-Za-z0-9][A-Za-z0-9._-]{1,62}$/;

/**
 * "s3://bucket" → { bucket, prefix: "" }; "s3://bucket/Music/FLAC" → { bucket, prefix: "Music/FLAC/" }.
 * The prefix is taken literally (no percent-decoding: keys may contain "%"), without leading slashes.
 */
export function parseS3Url(url: string, where = "the origin"): S3Location {
  const m = /^s3:\/\/([^/]*)(?:\/(.*))?$/i.exec(url.trim());
  if (!m) throw new UserError(`${where} "${url}" is not an S3 URL.`, 'Write it as s3://BUCKET or s3://BUCKET/PREFIX.');
  const bucket = m[1];
  if (!BUCKET.test(bucket))
    throw new UserError(`${where} "${url}" has no valid bucket name ("${bucket}").`, "Write it as s3://BUCKET/PREFIX; bucket names have 3–63 letters, digits, dots or dashes.");
  const rest = (m[2] ?? "").replace(/^\/+/, "");
  return { bucket, prefix: rest === "" || rest.endsWith("/") ? rest : `${rest}/` };
}

/** The canonical spelling, for messages and ids: "s3://bucket/prefix" (no trailing slash). */
export function formatS3Url(loc: S3Location): string {
  return `s3://${loc.bucket}${loc.prefix ? `/${loc.prefix.replace(/\/$/, "")}` : ""}`;
}
