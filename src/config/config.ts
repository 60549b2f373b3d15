import { existsSync, readFileSync, realpathSync } from "node:fs";
import { basename, resolve } from "node:path";
import type { CacheMode, OriginId, SpecialDirsVisibility } from "../core/types.ts";
import { asOriginId } from "../core/ids.ts";
import { UserError, errorMessage } from "../core/errors.ts";
import { log, tildify } from "../core/logger.ts";
import { defaultCacheDir, defaultConfigPath, expandHome } from "./paths.ts";
import { formatS3Url, isS3Url, parseS3Url, rejectCredentialsInUrl } from "../core/s3Url.ts";
import { RESERVED_ROOT_NAMES, sanitizeComponent } from "../core/names.ts";
import { CACHE_KEYS, LOCAL_ORIGIN_KEYS, ROOT_KEYS, S3_ORIGIN_KEYS, SYNC_KEYS, VIEW_KEYS, keyNames, type KeySpec, type Section } from "./configKeys.ts";

// Defaults live in the key table (configKeys.ts); these names are for the code that needs one outside parsing.
export const DEFAULT_TEMPLATE: string = ROOT_KEYS.template.default;

interface OriginCommon {
  id: OriginId;
  cache: CacheMode;
  /** Lower wins when two origins hold the same file (placement order). */
  priority: number;
  /** Apply removals even when the listing looks like an outage (src/library/removalGuard.ts). Default false. */
  acceptRemovals?: boolean;
}

/** A folder on this machine. (`kind` is absent in origins remembered by older versions: local.) */
export interface LocalOriginConfig extends OriginCommon {
  kind?: "local";
  /** Absolute path of a local folder. */
  path: string;
}

/**
 * A bucket (and key prefix) of an S3-compatible object store. Holds no secret: credentials are looked up when the
 * origin is opened (env, ~/.aws, credentials_file), so this may be remembered in the database.
 */
export interface S3OriginConfig extends OriginCommon {
  kind: "s3";
  /** Canonical "s3://bucket/prefix". */
  url: string;
  bucket: string;
  /** "" or ending in "/". */
  prefix: string;
  endpoint?: string;
  region?: string;
  pathStyle?: boolean;
  credentialsFile?: string;
  profile?: string;
  /** Extra CA certificates (PEM) to trust for an HTTPS endpoint with a private CA. */
  caFile?: string;
  maxRequests: number;
  requestTimeoutMs: number;
}

export type OriginConfig = LocalOriginConfig | S3OriginConfig;

export function isS3Origin(o: OriginConfig): o is S3OriginConfig {
  return o.kind === "s3";
}

export interface MusicFsConfig {
  /** Where the config came from, for messages (null = defaults and flags only). */
  source: string | null;
  mountPoint: string | null;
  cacheDir: string;
  template: string;
  origins: OriginConfig[];
  allowOther: boolean;
  /** Where Prometheus metrics are served (loopback only), or null: off. */
  metrics?: MetricsAddress | null;
  /** Show `/Playlists` with the collections' .m3u8 files. */
  playlistsFolder?: boolean;
  specialDirs: SpecialDirsVisibility;
  /** The name (without extension) of every album folder's cover file, "cover" → cover.jpg; null: no cover files. */
  cover: string | null;
  /** Extra top-level folders, each laid out by its own template ([[view]]); none by default. */
  views: ViewConfig[];
  /**
   * minFree: the free space eviction keeps on the cache's file system (null: the default, 5 % or 1 GiB, the smaller).
   * scrubBytesPerSec: how fast complete data files are re-checked in the background (0: never).
   */
  cache: { maxBytes: number; readTimeoutMs: number; minFree?: MinFreeSetting | null; scrubBytesPerSec?: number };
  sync: { watch: boolean; intervalS: number; offlineRetryS: number };
}

/** A view (docs/templates.md, "Views"): every file once more, below the folder `name`, laid out by `template`. */
export interface ViewConfig {
  name: string;
  template: string;
}

/**
 * Views a user gets by name alone (`[[view]] name = "Years"`): the templates they would have to write otherwise.
 * The album folders use album-level values, so an album is one folder in a view as in the main tree.
 */
export const BUILT_IN_VIEWS: Readonly<Record<string, string>> = {
  Genres: "$genre/$albumartist/$album ($albumyear)/$disctrack - $title.$format",
  Years: "$albumyear/$albumartist - $album/$disctrack - $title.$format",
  "Recently Added": "$added/$albumartist - $album ($albumyear)/$disctrack - $title.$format",
};

/**
 * The [[view]] tables: a name that is one plain folder name (shown at the mount's root as written), unique, not a
 * special directory's; a template (checked by the library, app/library/libraryConfig.ts), optional for the built-in views.
 */
export function parseViews(v: unknown): ViewConfig[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new UserError("Config key view must be an array of tables ([[view]] with name and template).");
  const seen = new Set<string>();
  return v.map((entry, i) => {
    const where = `view[${i}].`;
    const t = expectTable(entry, `view[${i}]`);
    rejectUnknown(t, keyNames(VIEW_KEYS), where);
    const name = read(t, VIEW_KEYS, "name", where);
    if (name === undefined) throw new UserError(`Config key ${where}name is missing: every view needs the folder name it appears under.`);
    if (RESERVED_ROOT_NAMES.includes(name))
      throw new UserError(`Config key ${where}name "${name}" is the mount's special directory ${name}.`, "Choose another name for the view.");
    const clean = sanitizeComponent(name);
    if (clean !== name)
      throw new UserError(
        `Config key ${where}name "${name}" is not a plain folder name: no "/", \\ : * ? " < > |, control characters, leading dots or spaces at either end.`,
        clean === "_" ? "Choose another name for the view." : `For example "${clean}".`,
      );
    if (seen.has(name)) throw new UserError(`Config key ${where}name: two views are named "${name}"; view names must be unique.`);
    seen.add(name);
    const template = read(t, VIEW_KEYS, "template", where) ?? BUILT_IN_VIEWS[name];
    if (template === undefined)
      throw new UserError(
        `Config key ${where}template is missing: the view "${name}" needs a path template.`,
        `Built-in views need none: ${Object.keys(BUILT_IN_VIEWS).map((n) => `"${n}"`).join(", ")}.`,
      );
    return { name, template };
  });
}

/** What the command line may override. Undefined = not given. */
export interface ConfigOverrides {
  configPath?: string;
  mountPoint?: string;
  cacheDir?: string;
  template?: string;
  origins?: string[];
  cacheMode?: CacheMode;
  allowOther?: boolean;
  /** --metrics ADDR */
  metrics?: string;
  watch?: boolean;
  /** --cover NAME ("none" turns cover files off). */
  cover?: string;
}

/**
 * A stable id for an origin given only as a path: the folder name plus a short hash of its absolute path, so that
 * the same folder keeps its stored files across runs, even while it is unreachable.
 */
export function originIdForPath(absPath: string): OriginId {
  const hash = Bun.hash.wyhash(absPath).toString(16).padStart(16, "0").slice(0, 8);
  const name = basename(absPath).replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 40) || "origin";
  return asOriginId(`${name}-${hash}`);
}

/** An id as written in the config (checked by isValidOriginId where it is used). */
const idOf = (id: string | undefined): OriginId | undefined => (id === undefined ? undefined : asOriginId(id));

/** An origin id names the origin in messages, the database and `cache clear --origin`: a plain, safe word. */
export function isValidOriginId(id: string): boolean {
  return /^[A-Za-z0-9._-]+$/.test(id) && id !== "." && id !== "..";
}

/** A stable id for an S3 origin: the bucket plus a short hash of the URL and endpoint. */
export function originIdForS3(url: string, endpoint: string | undefined): OriginId {
  const hash = Bun.hash.wyhash(`${url} ${endpoint ?? ""}`).toString(16).padStart(16, "0").slice(0, 8);
  const name = parseS3Url(url).bucket.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 40);
  return asOriginId(`${name}-${hash}`);
}

/** An S3 origin from its URL (command line or config) and the optional settings of its config table. */
export function s3OriginConfig(
  url: string,
  t: Table,
  where: string,
  priority: number,
  cache: CacheMode | undefined,
): S3OriginConfig {
  const loc = parseS3Url(url, where ? `Config key ${where}url` : "The origin");
  const canonical = formatS3Url(loc);
  if (cache === "off")
    throw new UserError(
      `The S3 origin ${canonical} cannot use cache = "off": S3 origins are always read through the content cache.`,
      'Leave cache out (or set it to "full") for S3 origins.',
    );
  const endpoint = read(t, S3_ORIGIN_KEYS, "endpoint", where);
  if (endpoint !== undefined) rejectCredentialsInUrl(endpoint, `Config key ${where}endpoint`);
  if (endpoint !== undefined && !/^https?:\/\/[^/\s]+/i.test(endpoint))
    throw new UserError(`Config key ${where}endpoint must be an http:// or https:// URL (got "${endpoint}").`);
  const caFile = read(t, S3_ORIGIN_KEYS, "ca_file", where);
  const credentialsFile = read(t, S3_ORIGIN_KEYS, "credentials_file", where);
  return {
    kind: "s3",
    id: idOf(read(t, S3_ORIGIN_KEYS, "id", where)) ?? originIdForS3(canonical, endpoint),
    url: canonical,
    bucket: loc.bucket,
    prefix: loc.prefix,
    endpoint: endpoint?.replace(/\/+$/, ""),
    region: read(t, S3_ORIGIN_KEYS, "region", where),
    pathStyle: read(t, S3_ORIGIN_KEYS, "path_style", where),
    credentialsFile: credentialsFile && resolve(expandHome(credentialsFile)),
    profile: read(t, S3_ORIGIN_KEYS, "profile", where),
    caFile: caFile && resolve(expandHome(caFile)),
    maxRequests: setting(t, S3_ORIGIN_KEYS, "max_requests", where),
    requestTimeoutMs: setting(t, S3_ORIGIN_KEYS, "request_timeout_ms", where),
    cache: "full",
    priority,
  };
}

const SIZE_UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3, t: 1024 ** 4, tb: 1024 ** 4, tib: 1024 ** 4 };

/** `[cache] min_free`: a size ("1GiB") or a share of the cache's file system ("5%"). */
export type MinFreeSetting = { bytes: number } | { percent: number };

export function parseMinFree(value: unknown, key: string): MinFreeSetting {
  if (typeof value === "string" && /%\s*$/.test(value)) {
    const m = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(value);
    const percent = m ? Number(m[1]) : Number.NaN;
    if (percent >= 0 && percent < 100) return { percent };
    throw new UserError(`Config key ${key} must be a size such as "1GiB" or a percentage below 100 such as "5%" (got ${JSON.stringify(value)}).`);
  }
  try {
    return { bytes: parseSize(value, key) };
  } catch {
    throw new UserError(`Config key ${key} must be a size such as "1GiB" or a percentage below 100 such as "5%" (got ${JSON.stringify(value)}).`);
  }
}

/**
 * Background re-check of complete data files (per second): 2 MiB/s reads a 10 GiB cache through in ~85 minutes, a
 * small fraction of any disk's bandwidth.
 */
export const DEFAULT_SCRUB_BYTES_PER_SEC: number = CACHE_KEYS.scrub_rate.default;

/** "10GiB", "500 MB", 1048576 → bytes. */
export function parseSize(value: unknown, key: string): number {
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) return Math.floor(value);
  if (typeof value === "string") {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
    const unit = m ? SIZE_UNITS[m[2].toLowerCase()] : undefined;
    if (m && unit !== undefined) return Math.floor(Number(m[1]) * unit);
  }
  throw new UserError(`Config key ${key} must be a size such as "10GiB" or "500MB" (got ${JSON.stringify(value)}).`);
}

type Table = Record<string, unknown>;

function expectTable(v: unknown, key: string): Table {
  if (v === undefined) return {};
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new UserError(`Config key ${key} must be a table.`);
  return v as Table;
}
function optString(t: Table, key: string, where: string): string | undefined {
  const v = t[key];
  if (v === undefined) return undefined;
  if (typeof v !== "string" || v.trim() === "") throw new UserError(`Config key ${where}${key} must be a non-empty string.`);
  return v;
}
function optBool(t: Table, key: string, where: string): boolean | undefined {
  const v = t[key];
  if (v === undefined) return undefined;
  if (typeof v !== "boolean") throw new UserError(`Config key ${where}${key} must be true or false.`);
  return v;
}
function optNumber(t: Table, key: string, where: string, min: number): number | undefined {
  const v = t[key];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v) || v < min)
    throw new UserError(`Config key ${where}${key} must be a number ≥ ${min}.`);
  return v;
}
function rejectUnknown(t: Table, known: string[], where: string): void {
  for (const k of Object.keys(t)) {
    if (known.includes(k)) continue;
    if (/secret|session_token|access_key|password/i.test(k))
      throw new UserError(
        `Config key ${where}${k}: config.toml takes no credentials.`,
        "Put the keys in a credentials file (AWS INI format, chmod 600) named by credentials_file, or use AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or an AWS profile.",
      );
    throw new UserError(`Unknown config key ${where}${k}.`, `Known keys here: ${known.join(", ")}.`);
  }
}
function parseEnum(v: unknown, values: readonly string[], key: string): string {
  if (typeof v === "string" && values.includes(v)) return v;
  throw new UserError(`Config key ${key} must be ${values.map((x) => `"${x}"`).join(" or ")} (got ${JSON.stringify(v)}).`);
}

/** The value type of a key of the table (configKeys.ts). */
type Value<K> = K extends { type: "bool" }
  ? boolean
  : K extends { type: "number" | "size" }
    ? number
    : K extends { type: "sizeOrPercent" }
      ? MinFreeSetting
      : K extends { type: "fileStem" }
        ? string | null
        : K extends { type: "enum"; values: readonly (infer V)[] }
          ? V
          : K extends { type: "string" | "path" }
            ? string
            : never;
type DefaultOf<K> = K extends { default: infer D } ? D : never;

/** A key of `section` read from `t` and checked as the table says; undefined when it is not set. */
function read<S extends Section, N extends keyof S & string>(t: Table, section: S, name: N, where: string): Value<S[N]> | undefined {
  const spec: KeySpec = section[name]!;
  const v = t[name];
  if (v === undefined) return undefined;
  let out: unknown;
  switch (spec.type) {
    case "string":
    case "path":
      out = optString(t, name, where);
      break;
    case "bool":
      out = optBool(t, name, where);
      break;
    case "number":
      out = optNumber(t, name, where, spec.min);
      break;
    case "size":
      out = parseSize(v, `${where}${name}`);
      break;
    case "sizeOrPercent":
      out = parseMinFree(v, `${where}${name}`);
      break;
    case "enum":
      out = parseEnum(v, spec.values, `${where}${name}`);
      break;
    case "fileStem":
      out = parseCoverName(v, `Config key ${where}${name}`);
      break;
    case "table":
    case "tables":
      throw new Error(`config key ${where}${name} is a ${spec.type}: read it as one`);
  }
  return out as Value<S[N]>;
}

/** A key's value, or the table's default when it is not set. */
function setting<S extends Section, N extends keyof S & string>(t: Table, section: S, name: N, where: string): Value<S[N]> | DefaultOf<S[N]> {
  const v = read(t, section, name, where);
  if (v !== undefined) return v;
  const spec: KeySpec = section[name]!;
  return ("default" in spec ? spec.default : undefined) as DefaultOf<S[N]>;
}


/**
 * The `cover` key (or --cover): a file name without extension ("folder" gives folder.jpg, the extension follows the
 * image's real type), or false / "none" for no cover files. `where` names the key or option in errors.
 */
export function parseCoverName(v: unknown, where: string): string | null {
  if (v === false || v === "none") return null;
  if (typeof v !== "string" || v.trim() === "")
    throw new UserError(`${where} must be a file name without extension, like "cover" or "folder", or false for no cover files (got ${JSON.stringify(v)}).`);
  if (/\.(jpe?g|png|webp)$/i.test(v))
    throw new UserError(`${where} is the name without extension (got "${v}").`, `Use "${v.replace(/\.[^.]*$/, "")}": the extension follows the image's type (jpg, png or webp).`);
  if (v.includes("/") || v.includes("\0") || v.startsWith(".") || v.length > 200)
    throw new UserError(`${where} must be a plain file name: no "/", not starting with "." (got ${JSON.stringify(v)}).`);
  return v;
}

/** Parses and validates a config file's text. Pure apart from resolving "~". */
export function parseConfigText(text: string, source: string): Omit<MusicFsConfig, "source"> & { cacheDirSet: boolean } {
  let raw: Table;
  try {
    raw = Bun.TOML.parse(text) as Table;
  } catch (e) {
    throw new UserError(`The config file ${source} is not valid TOML: ${errorMessage(e)}.`, "Fix the file or move it away.");
  }
  rejectUnknown(raw, keyNames(ROOT_KEYS), "");
  const cache = expectTable(raw.cache, "cache");
  rejectUnknown(cache, keyNames(CACHE_KEYS), "cache.");
  const sync = expectTable(raw.sync, "sync");
  rejectUnknown(sync, keyNames(SYNC_KEYS), "sync.");

  const originsRaw = raw.origins ?? [];
  if (!Array.isArray(originsRaw)) throw new UserError("Config key origins must be an array of tables ([[origins]]).");
  const origins: OriginConfig[] = originsRaw.map((o, i) => {
    const where = `origins[${i}].`;
    const t = expectTable(o, `origins[${i}]`);
    const url = read(t, S3_ORIGIN_KEYS, "url", where);
    if (url !== undefined) {
      rejectUnknown(t, keyNames(S3_ORIGIN_KEYS), where);
      rejectCredentialsInUrl(url, `Config key ${where}url`);
      if (!isS3Url(url)) throw new UserError(`Config key ${where}url must be an s3:// URL (got "${url}").`, "For a local folder, use path instead.");
      const cache = read(t, S3_ORIGIN_KEYS, "cache", where);
      const o = s3OriginConfig(url, t, where, read(t, S3_ORIGIN_KEYS, "priority", where) ?? i, cache);
      if (!isValidOriginId(o.id))
        throw new UserError(`Config key ${where}id may only use letters, digits, ".", "_" and "-", and may not be "." or ".." (got "${o.id}").`);
      return read(t, S3_ORIGIN_KEYS, "accept_removals", where) ? { ...o, acceptRemovals: true } : o;
    }
    rejectUnknown(t, keyNames(LOCAL_ORIGIN_KEYS), where);
    const path = read(t, LOCAL_ORIGIN_KEYS, "path", where);
    if (!path) throw new UserError(`Config key ${where}path is missing: every origin needs the folder it reads (or url = "s3://BUCKET/PREFIX").`);
    if (isS3Url(path))
      throw new UserError(`Config key ${where}path is an s3:// URL ("${path}"): S3 origins use \`url =\`, not \`path =\`.`, `Write url = "${path}" in that [[origins]] table.`);
    const abs = resolve(expandHome(path));
    const id = idOf(read(t, LOCAL_ORIGIN_KEYS, "id", where)) ?? originIdForPath(abs);
    if (!isValidOriginId(id))
      throw new UserError(`Config key ${where}id may only use letters, digits, ".", "_" and "-", and may not be "." or ".." (got "${id}").`);
    return {
      id,
      path: abs,
      cache: setting(t, LOCAL_ORIGIN_KEYS, "cache", where),
      priority: read(t, LOCAL_ORIGIN_KEYS, "priority", where) ?? i,
      ...(read(t, LOCAL_ORIGIN_KEYS, "accept_removals", where) ? { acceptRemovals: true } : {}),
    };
  });
  const ids = new Set<string>();
  for (const o of origins) {
    if (ids.has(o.id)) throw new UserError(`Two origins have the id "${o.id}" in ${source}; ids must be unique.`);
    ids.add(o.id);
  }
  const cacheDir = read(raw, ROOT_KEYS, "cache_dir", "");
  const mountPoint = read(raw, ROOT_KEYS, "mount_point", "");
  return {
    mountPoint: mountPoint ? resolve(expandHome(mountPoint)) : null,
    cacheDir: cacheDir ? resolve(expandHome(cacheDir)) : defaultCacheDir(),
    cacheDirSet: cacheDir !== undefined,
    template: setting(raw, ROOT_KEYS, "template", ""),
    origins,
    allowOther: setting(raw, ROOT_KEYS, "allow_other", ""),
    metrics: parseMetricsAddress(read(raw, ROOT_KEYS, "metrics", "") ?? null, "metrics"),
    playlistsFolder: setting(raw, ROOT_KEYS, "playlists_folder", ""),
    specialDirs: setting(raw, ROOT_KEYS, "special_dirs", ""),
    cover: setting(raw, ROOT_KEYS, "cover", ""),
    views: parseViews(raw.view),
    cache: {
      maxBytes: setting(cache, CACHE_KEYS, "max_size", "cache."),
      readTimeoutMs: setting(cache, CACHE_KEYS, "read_timeout_ms", "cache."),
      minFree: setting(cache, CACHE_KEYS, "min_free", "cache."),
      scrubBytesPerSec: setting(cache, CACHE_KEYS, "scrub_rate", "cache."),
    },
    sync: {
      watch: setting(sync, SYNC_KEYS, "watch", "sync."),
      intervalS: setting(sync, SYNC_KEYS, "interval_secs", "sync."),
      offlineRetryS: setting(sync, SYNC_KEYS, "offline_retry_secs", "sync."),
    },
  };
}

/**
 * The folder an origin path names, however it is spelled (trailing slash, "~", "..", a symlink to it): the
 * identity of a local origin. A path that cannot be resolved now (offline) stands for itself.
 */
export function canonicalOriginPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/**
 * What makes two origins the same: for a local folder its canonical path, for a bucket its URL and endpoint. Used to
 * merge an origin given twice, and to recognise a folder whose id was changed (a rename).
 */
export function originIdentity(o: OriginConfig): string {
  return isS3Origin(o) ? `s3:${o.url} ${o.endpoint ?? ""}` : `folder:${canonicalOriginPath(o.path)}`;
}

/** Where an origin is, for messages: its folder, or its s3:// URL. */
export function describeOrigin(o: OriginConfig): string {
  return isS3Origin(o) ? o.url : tildify(o.path);
}

/** The same folder given twice is one origin (the first); walking it twice would parse every file twice. */
export function distinctOrigins(origins: readonly OriginConfig[]): OriginConfig[] {
  const seen = new Map<string, OriginConfig>();
  const out: OriginConfig[] = [];
  for (const o of origins) {
    const key = originIdentity(o);
    const first = seen.get(key);
    if (first) {
      log.warn(`The origin ${describeOrigin(o)} is the same folder as ${describeOrigin(first)}: it is used once (as "${first.id}").`);
      continue;
    }
    seen.set(key, o);
    out.push(o);
  }
  return out;
}

/**
 * The effective configuration: defaults ← config file (explicit --config, else the XDG one if present) ← flags.
 * Origins given on the command line replace the file's origins.
 */
export function loadConfig(o: ConfigOverrides = {}, env = process.env): MusicFsConfig {
  const path = o.configPath ? resolve(expandHome(o.configPath)) : defaultConfigPath(env);
  let base: ReturnType<typeof parseConfigText> | null = null;
  if (existsSync(path)) {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (e) {
      throw new UserError(`Cannot read the config file ${path}: ${errorMessage(e)}.`);
    }
    base = parseConfigText(text, path);
  } else if (o.configPath) {
    throw new UserError(`The config file ${path} does not exist.`, "Create it, or leave out --config to use the defaults.");
  }
  const origins: OriginConfig[] = o.origins?.length
    ? o.origins.map((p, i): OriginConfig => {
        if (isS3Url(p)) return s3OriginConfig(p, {}, "", i, o.cacheMode);
        const abs = resolve(expandHome(p));
        return { id: originIdForPath(abs), path: abs, cache: o.cacheMode ?? "off", priority: i };
      })
    : (base?.origins ?? []).map((x) => (o.cacheMode && !isS3Origin(x) ? { ...x, cache: o.cacheMode } : x));
  const envCache = env.MUSICFS_CACHE_DIR ? resolve(expandHome(env.MUSICFS_CACHE_DIR)) : undefined;
  const file = base ?? parseConfigText("", "(defaults)"); // no config file: every key at its default, from the table
  return {
    source: base ? path : null,
    mountPoint: o.mountPoint ? resolve(expandHome(o.mountPoint)) : file.mountPoint,
    cacheDir: o.cacheDir
      ? resolve(expandHome(o.cacheDir))
      : envCache ?? (base?.cacheDirSet ? base.cacheDir : defaultCacheDir(env)),
    template: o.template ?? file.template,
    origins: distinctOrigins(origins),
    allowOther: o.allowOther ?? file.allowOther,
    metrics: o.metrics !== undefined ? parseMetricsAddress(o.metrics, "--metrics") : file.metrics,
    playlistsFolder: file.playlistsFolder,
    specialDirs: file.specialDirs,
    cover: o.cover !== undefined ? parseCoverName(o.cover, "--cover") : file.cover,
    views: file.views,
    cache: file.cache,
    sync: { ...file.sync, watch: o.watch ?? file.sync.watch },
  };
}

export interface MetricsAddress {
  hostname: string;
  port: number;
}

/** Loopback hosts: metrics tell what a library holds and what is played, and are never served to a network. */
const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[?::1\]?)$/;

/** `HOST:PORT` (or `[::1]:PORT`) on loopback → where to serve metrics; anything else is refused naming `where`. */
export function parseMetricsAddress(text: string | null, where: string): MetricsAddress | null {
  if (text === null) return null;
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 1 && port <= 65535))
    throw new UserError(`${where} must be HOST:PORT, e.g. "127.0.0.1:9464" (got "${text}").`);
  const host = m[1]!;
  if (!LOOPBACK.test(host))
    throw new UserError(
      `${where} = "${text}" would serve metrics to the network: musicfs serves them on loopback only.`,
      'Use 127.0.0.1 (or ::1, localhost), e.g. "127.0.0.1:9464"; let a local Prometheus or agent forward them if needed.',
    );
  return { hostname: host.replace(/^\[|\]$/g, ""), port };
}
