/**
 * Scan progress for people: on a terminal, one line redrawn in place (files done / found, files/s, ETA); otherwise
 * (CI, systemd, a log file) a plain consola info line every few seconds, so logs stay readable.
 */
import type { ConsolaInstance } from "consola";
import { log as defaultLog } from "../core/logger.ts";
import { isTerminal } from "../core/terminal.ts";

export interface ScanCounts {
  /** Audio files the walk has found so far (including unchanged ones). */
  found: number;
  /** Files that need parsing, found so far. */
  toParse: number;
  /** Files parsed (successfully or not) so far. */
  done: number;
  /** The walk has finished: `toParse` is final and the ETA is real. */
  walkDone: boolean;
}

export interface ScanProgress {
  update(counts: ScanCounts): void;
  /** Clears the live line; the caller logs the summary. */
  stop(): void;
}

export interface ScanProgressOptions {
  /** Where the live line goes (default process.stderr). A non-TTY stream gets periodic log lines instead. */
  stream?: { isTTY?: boolean; write(s: string): unknown; columns?: number };
  log?: ConsolaInstance;
  /** Redraw at most this often on a TTY (default 100 ms). */
  redrawMs?: number;
  /** Log line interval when not on a TTY (default 5 s). */
  logEveryMs?: number;
  now?: () => number;
}

const NOT_A_TERMINAL: NonNullable<ScanProgressOptions["stream"]> = { isTTY: false, write: () => true };

export function createScanProgress(options: ScanProgressOptions = {}): ScanProgress {
  // process.stderr only on a terminal (building Node's stream costs ~15 ms of CPU; off a terminal the log is used).
  const stream = options.stream ?? (isTerminal(2) ? process.stderr : NOT_A_TERMINAL);
  const log = options.log ?? defaultLog;
  const now = options.now ?? (() => performance.now());
  const started = now();
  const rate = new RateMeter(now);
  const tty = stream.isTTY === true && log.level >= 3;
  const interval = tty ? (options.redrawMs ?? 100) : (options.logEveryMs ?? 5000);
  let lastShown = -Infinity;
  let drawn = false;

  return {
    update(counts) {
      const t = now();
      rate.sample(counts.done);
      if (t - lastShown < interval) return;
      lastShown = t;
      const line = describeProgress(counts, rate.perSecond(), (t - started) / 1000);
      if (tty) {
        const width = Math.max(20, (stream.columns ?? 100) - 1);
        // consola's colours only here: they load node:tty.
        const { colors } = require("consola/utils") as typeof import("consola/utils");
        stream.write(`\r${colors.cyan("◐")} ${line.slice(0, width - 2)}\x1b[K`);
        drawn = true;
      } else if (counts.done > 0 || counts.walkDone) {
        log.info(`scan: ${line}`);
      }
    },
    stop() {
      if (drawn) stream.write("\r\x1b[K");
      drawn = false;
    },
  };
}

/** "1,234 / 5,678 files · 3,210 files/s · ETA 0:02" (or "walking…" while the total is still growing). Pure. */
export function describeProgress(counts: ScanCounts, filesPerSecond: number, elapsedSeconds: number): string {
  const n = (x: number) => x.toLocaleString("en-US");
  const parts = [`${n(counts.done)} / ${n(counts.toParse)}${counts.walkDone ? "" : "+"} files`];
  if (filesPerSecond > 0) parts.push(`${n(Math.round(filesPerSecond))} files/s`);
  if (counts.walkDone && filesPerSecond > 0) {
    parts.push(`ETA ${formatDuration((counts.toParse - counts.done) / filesPerSecond)}`);
  } else if (!counts.walkDone) {
    parts.push(`walking (${n(counts.found)} audio files found)`);
  }
  parts.push(`${formatDuration(elapsedSeconds)} elapsed`);
  return parts.join(" · ");
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (x: number) => String(x).padStart(2, "0");
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

/** Files/s over roughly the last 5 seconds, so the ETA follows the current pace rather than the start's. */
class RateMeter {
  private samples: { t: number; done: number }[] = [];
  constructor(private readonly now: () => number) {}

  sample(done: number): void {
    const t = this.now();
    this.samples.push({ t, done });
    while (this.samples.length > 2 && t - this.samples[1].t > 5000) this.samples.shift();
    if (this.samples.length > 256) this.samples.splice(1, this.samples.length - 128);
  }

  perSecond(): number {
    if (this.samples.length < 2) return 0;
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const dt = (last.t - first.t) / 1000;
    return dt > 0 ? (last.done - first.done) / dt : 0;
  }
}
