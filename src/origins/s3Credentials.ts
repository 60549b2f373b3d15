/**
 * S3 settings and credentials from the usual places, resolved when an origin is opened (never stored: the
 * database and the remembered origins keep only the URL and the non-secret settings).
 *
 * Credentials, first found wins: the origin's `credentials_file` (AWS INI format, profile `profile` or default),
 * AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN), then the profile AWS_PROFILE (else "default") in
 * AWS_SHARED_CREDENTIALS_FILE (else ~/.aws/credentials) and AWS_CONFIG_FILE (else ~/.aws/config).
 * Region: the origin's `region`, AWS_REGION, AWS_DEFAULT_REGION, the profile's `region`, else us-east-1.
 * Endpoint: the origin's `endpoint`, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the profile's `endpoint_url`, else AWS.
 */
import { readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { UserError, errorMessage } from "../core/errors.ts";
import { rejectCredentialsInUrl } from "../core/s3Url.ts";

/**
 * An access key pair (and session token). The secrets live in private fields: an object holding them prints and
 * serialises without them (Bun.inspect, an uncaught error's properties, JSON.stringify, a logged object), so no log
 * line, status file or crash report can carry them by accident. Only the S3 client is handed the values.
 */
export class S3Credentials {
  readonly #accessKeyId: string;
  readonly #secretAccessKey: string;
  readonly #sessionToken: string | undefined;

  constructor(
    accessKeyId: string,
    secretAccessKey: string,
    sessionToken: string | undefined,
    /** Where they came from, for messages ("AWS_ACCESS_KEY_ID", "~/.aws/credentials [default]"). Never the secret. */
    readonly source: string,
  ) {
    this.#accessKeyId = accessKeyId;
    this.#secretAccessKey = secretAccessKey;
    this.#sessionToken = sessionToken || undefined;
  }

  get accessKeyId(): string {
    return this.#accessKeyId;
  }
  get secretAccessKey(): string {
    return this.#secretAccessKey;
  }
  get sessionToken(): string | undefined {
    return this.#sessionToken;
  }
}

/** What the user configured for one S3 origin (all optional but the location). */
export interface S3UserSettings {
  endpoint?: string;
  region?: string;
  /** Bucket in the URL path (true) or in the host name (false). Default: true with a custom endpoint, else false. */
  pathStyle?: boolean;
  credentialsFile?: string;
  profile?: string;
}

export interface ResolvedS3Settings {
  /** Undefined = AWS (Bun builds https://s3.REGION.amazonaws.com). */
  endpoint?: string;
  region: string;
  pathStyle: boolean;
  credentials: S3Credentials;
  /** Files holding a secret that others can read: the caller warns. */
  exposedFiles: string[];
}

type Ini = Map<string, Map<string, string>>;

/** Parses an AWS-style INI file: `[section]`, `key = value`, `#`/`;` comments. */
export function parseIni(text: string): Ini {
  const out: Ini = new Map();
  let section: Map<string, string> | null = null;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const s = /^\[\s*(.+?)\s*\]$/.exec(line);
    if (s) {
      section = out.get(s[1]) ?? new Map();
      out.set(s[1], section);
      continue;
    }
    const kv = /^([^=]+?)\s*=\s*(.*)$/.exec(line);
    if (kv && section) section.set(kv[1].toLowerCase(), kv[2]);
  }
  return out;
}

interface FileAccess {
  read(path: string): string | null;
  /** Permission bits, or null when the file is absent. */
  mode(path: string): number | null;
}

const realFiles: FileAccess = {
  read(path) {
    try {
      return readFileSync(path, "utf8");
    } catch (e) {
      if ((e as { code?: string }).code === "ENOENT") return null;
      throw new UserError(`Cannot read the credentials file ${path}: ${errorMessage(e)}.`);
    }
  },
  mode(path) {
    try {
      return statSync(path).mode & 0o777;
    } catch {
      return null;
    }
  },
};

/** Keys of an AWS INI file whose values are secrets. */
const SECRET_KEYS = ["aws_secret_access_key", "aws_session_token"];

/** True when any section of the file holds a secret (~/.aws/config usually holds none: region and endpoint only). */
export function holdsSecret(ini: Ini): boolean {
  for (const section of ini.values()) for (const key of SECRET_KEYS) if (section.get(key)) return true;
  return false;
}

/** True when users other than the owner may read the file. */
export function readableByOthers(mode: number): boolean {
  return (mode & 0o044) !== 0;
}

export function resolveS3Settings(
  bucketUrl: string,
  user: S3UserSettings,
  env: Record<string, string | undefined> = process.env,
  files: FileAccess = realFiles,
  home = homedir(),
): ResolvedS3Settings {
  const exposedFiles: string[] = [];
  const profileName = user.profile ?? env.AWS_PROFILE ?? env.AWS_DEFAULT_PROFILE ?? "default";
  const load = (path: string): Ini | null => {
    const text = files.read(path);
    if (text === null) return null;
    const ini = parseIni(text);
    const mode = files.mode(path);
    if (mode !== null && readableByOthers(mode) && holdsSecret(ini)) exposedFiles.push(path);
    return ini;
  };

  let credentials: S3Credentials | null = null;
  if (user.credentialsFile) {
    const ini = load(user.credentialsFile);
    if (!ini) throw new UserError(`The credentials_file ${user.credentialsFile} of ${bucketUrl} does not exist.`, "Fix the path, or remove the key to use AWS_* variables or ~/.aws/credentials.");
    const section = ini.get(profileName) ?? ini.get(`profile ${profileName}`);
    credentials = section ? fromSection(section, `${user.credentialsFile} [${profileName}]`) : null;
    if (!credentials)
      throw new UserError(
        `The credentials_file ${user.credentialsFile} has no aws_access_key_id and aws_secret_access_key in [${profileName}] (for ${bucketUrl}).`,
      );
  }
  if (!credentials && env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    credentials = new S3Credentials(env.AWS_ACCESS_KEY_ID, env.AWS_SECRET_ACCESS_KEY, env.AWS_SESSION_TOKEN, "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY");
  }
  const credentialsPath = env.AWS_SHARED_CREDENTIALS_FILE ?? join(home, ".aws", "credentials");
  const configPath = env.AWS_CONFIG_FILE ?? join(home, ".aws", "config");
  const configIni = load(configPath);
  const profileConfig = configIni?.get(profileName === "default" ? "default" : `profile ${profileName}`) ?? configIni?.get(profileName);
  if (!credentials) {
    const section = load(credentialsPath)?.get(profileName);
    credentials = (section && fromSection(section, `${credentialsPath} [${profileName}]`)) ?? null;
  }
  if (!credentials && profileConfig) credentials = fromSection(profileConfig, `${configPath} [profile ${profileName}]`);
  if (!credentials)
    throw new UserError(
      `No S3 credentials for ${bucketUrl}.`,
      `Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with a profile in ${credentialsPath}, or credentials_file in the origin's config.`,
    );

  const endpoint = user.endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL ?? profileConfig?.get("endpoint_url");
  if (endpoint !== undefined) rejectCredentialsInUrl(endpoint, `The S3 endpoint of ${bucketUrl}`);
  if (endpoint !== undefined && !/^https?:\/\/[^/\s]+/i.test(endpoint))
    throw new UserError(`The S3 endpoint "${endpoint}" of ${bucketUrl} is not an http(s) URL.`, "Write it like https://s3.example.com or http://127.0.0.1:7480.");
  return {
    endpoint: endpoint?.replace(/\/+$/, ""),
    region: user.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? profileConfig?.get("region") ?? "us-east-1",
    pathStyle: user.pathStyle ?? endpoint !== undefined,
    credentials,
    exposedFiles,
  };
}

function fromSection(section: Map<string, string>, source: string): S3Credentials | null {
  const accessKeyId = section.get("aws_access_key_id");
  const secretAccessKey = section.get("aws_secret_access_key");
  if (!accessKeyId || !secretAccessKey) return null;
  return new S3Credentials(accessKeyId, secretAccessKey, section.get("aws_session_token"), source);
}
