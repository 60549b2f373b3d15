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
 * URLs with a user name or password ("s3://KEY:SECRET@bucket", "https://KEY:SECRET@host") are refused: a secret on
 * the command line is visible to every user of the machine (ps, /proc/PID/cmdline), and one in config.toml ends up
 * in messages. The message shows the URL with the credentials cut out.
 */
export function rejectCredentialsInUrl(url: string, what: string): void {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)(.*)$/is.exec(url.trim());
  if (!m) return;
  const rest = m[2];
  const authority = rest.split("/")[0];
  // "KEY:SECRET@host"; a secret may itself hold "/" (AWS secrets often do), so "KEY:abc/def@host" counts too.
  const at = rest.lastIndexOf("@");
  if (!authority.includes("@") && !(authority.includes(":") && at > 0 && !/^[^:]*:\d*$/.test(authority))) return;
  throw new UserError(
    `${what} "${m[1]}…@${rest.slice(at + 1)}" holds credentials; musicfs does not take secrets in URLs (anyone on this machine can read a command line).`,
    "Remove the part before @, and give the keys as AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, an AWS profile (~/.aws/credentials), or the origin's credentials_file (chmod 600).",
  );
}

/**
 * "s3://bucket" → { bucket, prefix: "" }; "s3://bucket/Music/FLAC" → { bucket, prefix: "Music/FLAC/" }.
 * The prefix is taken literally (no percent-decoding: keys may contain "%"), without leading slashes.
 */
export function parseS3Url(url: string, where = "the origin"): S3Location {
  rejectCredentialsInUrl(url, where);
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
