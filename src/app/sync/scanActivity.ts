/**
 * What the scans of a library are doing, for the mount's metrics: the first scan (before the mount serves) and each
 * delta sync report their counts here as they go. One scan runs at a time (the first scan before any sync, syncs one
 * after another: syncRunner.ts); the figures of the latest scan of each kind stay until the next one starts.
 */
import type { ScanCountsAndBytes } from "../../library/scanner.ts";

export type ScanKind = "first_scan" | "sync";
export const SCAN_KINDS: readonly ScanKind[] = ["first_scan", "sync"];

export interface ScanFigures extends ScanCountsAndBytes {
  running: boolean;
}

const NONE: ScanFigures = { running: false, found: 0, toParse: 0, done: 0, walkDone: false, foundBytes: 0, toParseBytes: 0, doneBytes: 0 };

export class ScanActivity {
  private readonly latest = new Map<ScanKind, ScanFigures>();

  /** Runs one scan of `kind`, handing it the callback that records its progress (scanOrigins' onProgress). */
  async track<T>(kind: ScanKind, scan: (onProgress: (counts: ScanCountsAndBytes) => void) => Promise<T>): Promise<T> {
    this.latest.set(kind, { ...NONE, running: true });
    try {
      return await scan((counts) => this.latest.set(kind, { ...counts, running: true }));
    } finally {
      this.latest.set(kind, { ...(this.latest.get(kind) ?? NONE), running: false });
    }
  }

  /** The running or latest scan of `kind` (zeros when there was none). */
  figures(kind: ScanKind): ScanFigures {
    return this.latest.get(kind) ?? NONE;
  }
}
