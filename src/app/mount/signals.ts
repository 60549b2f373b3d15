import { log } from "../../core/logger.ts";

/**
 * One Ctrl-C can arrive twice: a runner that forwards the terminal's SIGINT to its child (`npm run`, a `bun run`
 * script), which the terminal also signals (same process group). The same signal again within this window is taken
 * for that echo, not a second keypress. A loaded machine can deliver the echo later than this, so the README's
 * `bun run demo` does not go through a script at all (demo.ts: one process, one SIGINT per keypress).
 */
export const REPEAT_WINDOW_MS = 400;

export interface ShutdownSignalOptions {
  /** How long a repeat of the first signal counts as the same signal (default REPEAT_WINDOW_MS). */
  repeatWindowMs?: number;
  /** Clock (tests). */
  now?: () => number;
  /** What "exit at once" does (tests). */
  exit?: (code: number) => void;
}

/**
 * Turns the first SIGINT/SIGTERM into a graceful-shutdown request and a second one into an immediate exit: a user
 * who presses Ctrl-C twice means it. A repeat of the first signal within the repeat window is ignored (see above).
 */
export class ShutdownSignals {
  private readonly controller = new AbortController();
  private first: { signal: NodeJS.Signals; at: number } | null = null;
  private readonly repeatWindowMs: number;
  private readonly now: () => number;
  private readonly exit: (code: number) => void;

  readonly handler = (signal: NodeJS.Signals) => {
    const at = this.now();
    if (this.first) {
      if (signal === this.first.signal && at - this.first.at < this.repeatWindowMs) {
        log.debug(`${signal} again after ${at - this.first.at} ms: the same keypress delivered twice, ignored.`);
        return;
      }
      log.warn(`${signal} again: exiting at once.`);
      this.exit(130);
      return;
    }
    this.first = { signal, at };
    log.info(`${signal} received: shutting down (press Ctrl-C again to exit at once).`);
    this.controller.abort(signal);
  };

  constructor(opts: ShutdownSignalOptions = {}) {
    this.repeatWindowMs = opts.repeatWindowMs ?? REPEAT_WINDOW_MS;
    this.now = opts.now ?? (() => performance.now());
    this.exit = opts.exit ?? ((code) => process.exit(code));
    process.on("SIGINT", this.handler);
    process.on("SIGTERM", this.handler);
  }

  /** Aborted at the first signal; its reason is the signal name. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Resolves at the first signal. */
  get requested(): Promise<string> {
    return new Promise((resolve) => {
      if (this.controller.signal.aborted) resolve(String(this.controller.signal.reason));
      else this.controller.signal.addEventListener("abort", () => resolve(String(this.controller.signal.reason)), { once: true });
    });
  }

  dispose(): void {
    process.off("SIGINT", this.handler);
    process.off("SIGTERM", this.handler);
  }
}
