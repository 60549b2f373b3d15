import { existsSync, readFileSync, realpathSync } from "node:fs";
import { basename, resolve } from "node:path";
import type { CacheMode, OriginId, SpecialDirsVisibility } from "../core/types.ts";
import { UserError, errorMessage } from "../core/errors.ts";
import { log, tildify } from "../core/logger.ts";
import { defaultCacheDir, defaultConfigPath, expandHome } from "./paths.ts";

export const DEFAULT_TEMPLATE = "$albumartist/$album ($year) [$format_upper]/$disctrack - $title.$format";
export const DEFAULT_CACHE_MAX_BYTES = 10 * 1024 ** 3;
export const DEFAULT_READ_TIMEOUT_MS = 30_000;
export const DEFAULT_SYNC_INTERVAL_S = 0;

export const DEFAULT_SPECIAL_DIRS: SpecialDirsVisibility = "hidden";

export interface OriginConfig {
  id: OriginId;
  /** Absolute path of a local folder. */
  path: string;
  cache: CacheMode;
  /** Lower wins when two origins hold the same file (placement order). */
  priority: number;
  /** Apply removals even when the listing looks like an outage (src/library/removalGuard.ts). Default false. */
  acceptRemovals?: boolean;
}

export interface MusicFsConfig {
  /** Where the config came from, for messages (null = defaults and flags only). */
  source: string | null;
  mountPoint: string | null;
  cacheDir: string;
  template: string;
  origins: OriginConfig[];
  allowOther: boolean;
  specialDirs: SpecialDirsVisibility;
  cache: { maxBytes: number; readTimeoutMs: number };
  sync: { watch: boolean; intervalS: number };
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
  watch?: boolean;
}

/**
 * A stable id for an origin given only as a path: the folder name plus a short hash of its absolute path, so that
 * the same folder keeps its stored files across runs, even while it is unreachable.
 */
export function originIdForPath(absPath: string): OriginId {
  const hash = Bun.hash.wyhash(absPath).toString(16).padStart(16, "0").slice(0, 8);
  const name = basename(absPath).replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 40) || "origin";
  return `${name}-${hash}`;
}

/** An origin id names the origin in messages, the database and `cache clear --origin`: a plain, safe word. */
export function isValidOriginId(id: string): boolean {
  return /^[A-Za-z0-9._-]+$/.test(id) && id !== "." && id !== "..";
}

const SIZE_UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3, t: 1024 ** 4, tb: 1024 ** 4, tib: 1024 ** 4 };

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
    if (!known.includes(k))
      throw new UserError(`Unknown config key ${where}${k}.`, `Known keys here: ${known.join(", ")}.`);
  }
}
function parseSpecialDirs(v: unknown): SpecialDirsVisibility | undefined {
  if (v === undefined || v === "hidden" || v === "visible") return v;
  throw new UserError(`Config key special_dirs must be "hidden" or "visible" (got ${JSON.stringify(v)}).`);
}
function parseCacheMode(v: unknown, key: string): CacheMode {
  if (v === "off" || v === "full") return v;
  throw new UserError(`Config key ${key} must be "off" or "full" (got ${JSON.stringify(v)}).`);
}

/** Parses and validates a config file's text. Pure apart from resolving "~". */
export function parseConfigText(text: string, source: string): Omit<MusicFsConfig, "source"> & { cacheDirSet: boolean } {
  let raw: Table;
  try {
    raw = Bun.TOML.parse(text) as Table;
  } catch (e) {
    throw new UserError(`The config file ${source} is not valid TOML: ${errorMessage(e)}.`, "Fix the file or move it away.");
  }
  rejectUnknown(raw, ["mount_point", "cache_dir", "template", "allow_other", "special_dirs", "origins", "cache", "sync"], "");
  const cache = expectTable(raw.cache, "cache");
  rejectUnknown(cache, ["max_size", "read_timeout_ms"], "cache.");
  const sync = expectTable(raw.sync, "sync");
  rejectUnknown(sync, ["watch", "interval_secs"], "sync.");

  const originsRaw = raw.origins ?? [];
  if (!Array.isArray(originsRaw)) throw new UserError("Config key origins must be an array of tables ([[origins]]).");
  const origins: OriginConfig[] = originsRaw.map((o, i) => {
    const where = `origins[${i}].`;
    const t = expectTable(o, `origins[${i}]`);
    rejectUnknown(t, ["id", "path", "cache", "priority", "accept_removals"], where);
    const path = optString(t, "path", where);
    if (!path) throw new UserError(`Config key ${where}path is missing: every origin needs the folder it reads.`);
    const abs = resolve(expandHome(path));
    const id = optString(t, "id", where) ?? originIdForPath(abs);
    if (!isValidOriginId(id))
      throw new UserError(`Config key ${where}id may only use letters, digits, ".", "_" and "-", and may not be "." or ".." (got "${id}").`);
    return {
      id,
      path: abs,
      cache: t.cache === undefined ? "off" : parseCacheMode(t.cache, `${where}cache`),
      priority: optNumber(t, "priority", where, 0) ?? i,
      ...(optBool(t, "accept_removals", where) ? { acceptRemovals: true } : {}),
    };
  });
  const ids = new Set<string>();
  for (const o of origins) {
    if (ids.has(o.id)) throw new UserError(`Two origins have the id "${o.id}" in ${source}; ids must be unique.`);
    ids.add(o.id);
  }
  const cacheDir = optString(raw, "cache_dir", "");
  const mountPoint = optString(raw, "mount_point", "");
  return {
    mountPoint: mountPoint ? resolve(expandHome(mountPoint)) : null,
    cacheDir: cacheDir ? resolve(expandHome(cacheDir)) : defaultCacheDir(),
    cacheDirSet: cacheDir !== undefined,
    template: optString(raw, "template", "") ?? DEFAULT_TEMPLATE,
    origins,
    allowOther: optBool(raw, "allow_other", "") ?? false,
    specialDirs: parseSpecialDirs(raw.special_dirs) ?? DEFAULT_SPECIAL_DIRS,
    cache: {
      maxBytes: cache.max_size === undefined ? DEFAULT_CACHE_MAX_BYTES : parseSize(cache.max_size, "cache.max_size"),
      readTimeoutMs: optNumber(cache, "read_timeout_ms", "cache.", 1) ?? DEFAULT_READ_TIMEOUT_MS,
    },
    sync: {
      watch: optBool(sync, "watch", "sync.") ?? false,
      intervalS: optNumber(sync, "interval_secs", "sync.", 0) ?? DEFAULT_SYNC_INTERVAL_S,
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
 * What makes two origins the same: for a local folder its canonical path (other kinds: the whole entry). Used to
 * merge an origin given twice, and to recognise a folder whose id was changed (a rename).
 */
export function originIdentity(o: OriginConfig): string {
  return "path" in o && typeof o.path === "string" ? `folder:${canonicalOriginPath(o.path)}` : `entry:${JSON.stringify({ ...o, id: "" })}`;
}

/** Where an origin is, for messages: its folder (other kinds: its id). */
export function describeOrigin(o: OriginConfig): string {
  return "path" in o && typeof o.path === "string" ? tildify(o.path) : `"${o.id}"`;
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
    ? o.origins.map((p, i) => {
        const abs = resolve(expandHome(p));
        return { id: originIdForPath(abs), path: abs, cache: o.cacheMode ?? "off", priority: i };
      })
    : (base?.origins ?? []).map((x) => (o.cacheMode ? { ...x, cache: o.cacheMode } : x));
  const envCache = env.MUSICFS_CACHE_DIR ? resolve(expandHome(env.MUSICFS_CACHE_DIR)) : undefined;
  return {
    source: base ? path : null,
    mountPoint: o.mountPoint ? resolve(expandHome(o.mountPoint)) : (base?.mountPoint ?? null),
    cacheDir: o.cacheDir
      ? resolve(expandHome(o.cacheDir))
      : envCache ?? (base?.cacheDirSet ? base.cacheDir : defaultCacheDir(env)),
    template: o.template ?? base?.template ?? DEFAULT_TEMPLATE,
    origins: distinctOrigins(origins),
    allowOther: o.allowOther ?? base?.allowOther ?? false,
    specialDirs: base?.specialDirs ?? DEFAULT_SPECIAL_DIRS,
    cache: base?.cache ?? { maxBytes: DEFAULT_CACHE_MAX_BYTES, readTimeoutMs: DEFAULT_READ_TIMEOUT_MS },
    sync: { watch: o.watch ?? base?.sync.watch ?? false, intervalS: base?.sync.intervalS ?? DEFAULT_SYNC_INTERVAL_S },
  };
}
