import { chmodSync, mkdirSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { log, tildify } from "../core/logger.ts";

/** XDG base directories, with the spec's fallbacks. */
export function configHome(env = process.env): string {
  return env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : join(homedir(), ".config");
}

export function cacheHome(env = process.env): string {
  return env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : join(homedir(), ".cache");
}

export function defaultConfigPath(env = process.env): string {
  return join(configHome(env), "musicfs", "config.toml");
}

/** --cache-dir, else MUSICFS_CACHE_DIR, else $XDG_CACHE_HOME/musicfs. */
export function defaultCacheDir(env = process.env): string {
  if (env.MUSICFS_CACHE_DIR) return resolve(expandHome(env.MUSICFS_CACHE_DIR));
  return join(cacheHome(env), "musicfs");
}

export function expandHome(path: string): string {
  if (path === "~") return homedir();
  if (path.startsWith("~/")) return join(homedir(), path.slice(2));
  return path;
}

/** The files musicfs keeps in a cache dir. */
export function cachePaths(cacheDir: string) {
  return {
    cacheDir,
    metadataDb: join(cacheDir, "metadata.db"),
    patternsDb: join(cacheDir, "patterns.db"),
    collectionsDb: join(cacheDir, "collections.db"),
    /** What `musicfs pin` keeps offline (its own file: a rebuilt metadata.db keeps the pins). */
    pinsDb: join(cacheDir, "pins.db"),
    chunksDir: join(cacheDir, "chunks"),
    /** Complete cached files, one data file per file version (src/cas/dataFileStore.ts). */
    dataDir: join(cacheDir, "data"),
    lockFile: join(cacheDir, "musicfs.lock"),
    /** The origins of the last mount or scan, kept out of metadata.db so that a damaged database cannot take them. */
    originsFile: join(cacheDir, "origins.json"),
    controlSocket: join(cacheDir, "control.sock"),
  };
}
export type CachePaths = ReturnType<typeof cachePaths>;

/**
 * Creates the cache dir (and missing parents) readable by its owner only, and narrows an existing one of ours to
 * 0700: it holds the content of private buckets and folders. Throws what mkdir throws.
 */
export function ensureCacheDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const s = statSync(dir);
  if ((s.mode & 0o077) !== 0 && s.uid === process.getuid?.()) {
    chmodSync(dir, 0o700);
    log.warn(`The cache dir ${tildify(dir)} was open to other users (mode ${(s.mode & 0o777).toString(8)}); it holds cached content of your origins: narrowed to 700.`);
  }
}
