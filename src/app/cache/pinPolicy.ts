/**
 * The rules of pinning, pure: what fits under the cap, and how far a pin's fetch has come.
 */
import { UserError } from "../../core/errors.ts";

/** A size as people read it: MiB below a GiB, GiB above. */
export const gib = (n: number) => (n < 1024 ** 3 ? `${(n / 1024 ** 2).toFixed(1)} MiB` : `${(n / 1024 ** 3).toFixed(2)} GiB`);

/**
 * Pinned bytes must fit under eviction's low-water mark: above it every sweep would find nothing but pinned bytes
 * to evict, and what is played would have no room. Refused with the sizes and the ways out.
 */
export function checkPinBudget(o: { label: string; pinnedBytes: number; addedBytes: number; limitBytes: number; capBytes: number }): void {
  if (o.addedBytes === 0 || o.pinnedBytes + o.addedBytes <= o.limitBytes) return;
  throw new UserError(
    `Pinning "${o.label}" needs ${gib(o.addedBytes)} more: ${gib(o.pinnedBytes)} pinned + ${gib(o.addedBytes)} is over the ${gib(o.limitBytes)} ` +
      `pins may take (${Math.round((o.limitBytes / o.capBytes) * 100)} % of the ${gib(o.capBytes)} cache cap; the rest is for what you play).`,
    "Unpin something first (`musicfs pins` lists them, `musicfs unpin PATH` drops one), pin less, or raise cache.max_size in config.toml and mount again.",
  );
}

/**
 * Whole-file pin fetches to run at once: as many as the fetcher runs at once (4, like rclone copy's transfers), one
 * fewer while a player waits for bytes not cached yet, so that the file it plays gets a fetch slot of its own at
 * once instead of waiting behind the pins (never fewer than one: pins always make progress).
 */
export function pinFetchLimit(fetcherSlots: number, foregroundBusy: boolean): number {
  return Math.max(1, foregroundBusy ? fetcherSlots - 1 : fetcherSlots);
}

export interface PinProgress {
  files: number;
  cachedFiles: number;
  bytes: number;
  cachedBytes: number;
  /** Files whose last fetch failed (origin unreachable): tried again later. */
  failedFiles: number;
  /** Bytes per second of the pin fetches since they started, null before anything arrived. */
  rateBytesPerS: number | null;
  /** Seconds to go at that rate, null when unknown (no rate yet) or nothing is left. */
  etaS: number | null;
  lastError: string | null;
}

export function progressOf(o: {
  files: number; cachedFiles: number; bytes: number; cachedBytes: number; failedFiles: number;
  fetchedBytes: number; fetchingForMs: number; lastError: string | null;
}): PinProgress {
  const rate = o.fetchedBytes > 0 && o.fetchingForMs > 0 ? (o.fetchedBytes * 1000) / o.fetchingForMs : null;
  const left = o.bytes - o.cachedBytes;
  return {
    files: o.files, cachedFiles: o.cachedFiles, bytes: o.bytes, cachedBytes: o.cachedBytes, failedFiles: o.failedFiles,
    rateBytesPerS: rate, etaS: rate && left > 0 ? left / rate : null, lastError: o.lastError,
  };
}

/** One line for `pin --wait` and `status`: "12/40 files, 0.31/1.02 GiB, 24.1 MB/s, ETA 29 s". */
export function formatProgress(p: PinProgress): string {
  const rate = p.rateBytesPerS === null ? "" : `, ${(p.rateBytesPerS / 1e6).toFixed(1)} MB/s`;
  const eta = p.etaS === null ? "" : `, ETA ${formatSeconds(p.etaS)}`;
  const failed = p.failedFiles > 0 ? `, ${p.failedFiles} failed (retried later${p.lastError ? `: ${p.lastError}` : ""})` : "";
  return `${p.cachedFiles}/${p.files} files, ${gib(p.cachedBytes)} of ${gib(p.bytes)}${rate}${eta}${failed}`;
}

function formatSeconds(s: number): string {
  if (s < 90) return `${Math.ceil(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}
