/**
 * The one rule for the MUSICFS_*_MS environment variables that let the tests shorten (or lengthen) a product
 * interval instead of sleeping through it — status.json's refresh, the shutdown's grace, the origin watcher's quiet
 * time, the remote version check, the scrub's first step, the listening gap. None of them is a user setting: the
 * config file is. A value that is not a positive number of milliseconds counts as unset, so a typo never turns an
 * interval into 0 (a busy loop) or NaN (a timer that fires at once).
 */
export function msFromEnv(name: string): number | undefined {
  const ms = Number(process.env[name]);
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}
