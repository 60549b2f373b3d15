import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { describeOrigin, type MusicFsConfig, type OriginConfig } from "../../config/config.ts";
import type { CachePaths } from "../../config/paths.ts";
import { errnoCode, errorMessage } from "../../core/errors.ts";
import { log, tildify } from "../../core/logger.ts";
import type { Database } from "../../db/database.ts";

/** What a mount or scan works with: the origins to use, and the ones remembered from before (renames, removals). */
export interface OriginChoice {
  origins: OriginConfig[];
  /** The origins of the previous mount or scan of this cache dir; null when none are known. */
  previous: OriginConfig[] | null;
  /** The origins were given (--origin, [[origins]]) and differ from the remembered ones: remember them once applied. */
  changed: boolean;
}

/** Where musicfs ≤ 0.1 kept the remembered origins (read once to migrate). */
const LEGACY_META_KEY = "origins";

/**
 * The origins to use: the ones given, or — when none are given — the ones of the last mount of this cache dir, so
 * `musicfs mount ~/MusicView` alone brings the library back. Writes nothing: origins given are remembered
 * (`rememberOrigins`) only once they were checked and applied, so a mistyped one never becomes the next default.
 *
 * They are remembered in `origins.json` in the cache dir, not in metadata.db: a damaged database is moved aside and
 * rebuilt by a fresh scan, and that scan needs the origins. A cache dir from before this file had them in the
 * database's meta table; they are copied over the first time.
 */
export function chooseOrigins(paths: CachePaths, db: Database | null, config: MusicFsConfig): OriginChoice {
  const previous = readRememberedOrigins(paths, db);
  if (config.origins.length > 0) return { origins: config.origins, previous, changed: !sameOrigins(previous, config.origins) };
  if (!previous) return { origins: [], previous: null, changed: false };
  log.info(`Using the origins of the last mount: ${previous.map(describeOrigin).join(", ")}.`);
  return { origins: previous, previous, changed: false };
}

/** Remembers the origins of a choice once they are applied (origins.json), when they changed. */
export function rememberOrigins(paths: CachePaths, choice: OriginChoice): void {
  if (choice.changed) writeRememberedOrigins(paths, choice.origins);
}

/** The remembered origins (migrating them from an older database), or null when none are known. */
export function readRememberedOrigins(paths: CachePaths, db: Database | null): OriginConfig[] | null {
  let text: string | null = null;
  try {
    text = readFileSync(paths.originsFile, "utf8");
  } catch (e) {
    if (errnoCode(e) !== "ENOENT") log.warn(`Cannot read ${tildify(paths.originsFile)} (${errorMessage(e)}); the origins of the last mount are not known.`);
  }
  if (text !== null) {
    const parsed = parseOriginsFile(text);
    if (parsed) return parsed;
    log.warn(`${tildify(paths.originsFile)} is damaged; give the origins again (--origin DIR or [[origins]] in the config file).`);
  }
  const legacy = db?.getMeta(LEGACY_META_KEY);
  if (!legacy) return null;
  const migrated = parseOriginList(legacy);
  if (migrated) writeRememberedOrigins(paths, migrated);
  return migrated;
}

/** Writes origins.json atomically (a crash leaves the old file or the new one, never half of one). */
export function writeRememberedOrigins(paths: CachePaths, origins: readonly OriginConfig[]): void {
  const tmp = `${paths.originsFile}.tmp-${process.pid}`;
  try {
    // 0600: an origin may carry credentials (remote stores).
    const fd = openSync(tmp, "w", 0o600);
    try {
      writeSync(fd, `${JSON.stringify({ version: 1, origins }, null, 2)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, paths.originsFile);
  } catch (e) {
    log.warn(`Cannot remember the origins in ${tildify(paths.originsFile)} (${errorMessage(e)}); the next mount needs them given again.`);
  }
}

function parseOriginsFile(text: string): OriginConfig[] | null {
  try {
    const doc = JSON.parse(text) as { version?: unknown; origins?: unknown };
    return doc.version === 1 ? validOrigins(doc.origins) : null;
  } catch {
    return null;
  }
}

function parseOriginList(text: string): OriginConfig[] | null {
  try {
    return validOrigins(JSON.parse(text));
  } catch {
    return null;
  }
}

function validOrigins(value: unknown): OriginConfig[] | null {
  if (!Array.isArray(value)) return null;
  const ok = value.every(
    (o) => typeof o?.id === "string" && (o.kind === "s3" ? typeof o.url === "string" && typeof o.bucket === "string" : typeof o?.path === "string"),
  );
  return ok ? (value as OriginConfig[]) : null;
}

function sameOrigins(a: readonly OriginConfig[] | null, b: readonly OriginConfig[]): boolean {
  return a !== null && JSON.stringify(a) === JSON.stringify(b);
}
