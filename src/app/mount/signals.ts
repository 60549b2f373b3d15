import { readFileSync } from "node:fs";
import { log } from "../../core/logger.ts";

/**
 * One Ctrl-C can arrive twice: `bun run demo` forwards the terminal's SIGINT to its child, which the terminal also
 * signals (same process group). Started by such a runner (`startedByPackageRunner`), the first repeat of the first
 * signal is that echo, however late it comes (a loaded machine delivered it after more than 400 ms). Otherwise — a
 * runner we cannot tell — the same signal again within this window is taken for it.
 */
export const REPEAT_WINDOW_MS = 400;

/**
 * True when the parent process is a package runner running a script (`bun run`, `npm run`; they forward SIGINT and
 * SIGTERM to the script's process): the runner sets npm_lifecycle_event to the script's name in the script's
 * environment, and its own has another value or none. Pure: `parentEnviron` is the parent's /proc/PID/environ
 * (NUL-separated), null when unreadable. A process further down (a mount started by a test that `bun run test` runs)
 * inherits the variable, and so did its parent, with the same value: no.
 */
export function startedByPackageRunner(env: Record<string, string | undefined>, parentEnviron: string | null): boolean {
  const script = env.npm_lifecycle_event;
  if (script === undefined || parentEnviron === null) return false;
  return !parentEnviron.split("\0").includes(`npm_lifecycle_event=${script}`);
}

function parentEnviron(): string | null {
  try {
    return readFileSync(`/proc/${process.ppid}/environ`, "latin1");
  } catch {
    return null;
  }
}

export interface ShutdownSignalOptions {
  /** How long a repeat of the first signal counts as the same signal (default REPEAT_WINDOW_MS). */
  repeatWindowMs?: number;
  /** Every signal arrives twice: the first repeat is the echo, whenever it comes (default: startedByPackageRunner). */
  echoed?: boolean;
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
  private first: { signal: NodeJS.Signals; at: number; echoIgnored: boolean } | null = null;
  private readonly repeatWindowMs: number;
  private readonly echoed: boolean;
  private readonly now: () => number;
  private readonly exit: (code: number) => void;

  readonly handler = (signal: NodeJS.Signals) => {
    const at = this.now();
    const first = this.first;
    if (first) {
      const echo = signal === first.signal && (this.echoed ? !first.echoIgnored : at - first.at < this.repeatWindowMs);
      if (echo) {
        first.echoIgnored = true;
        log.debug(`${signal} again after ${Math.round(at - first.at)} ms: the same keypress delivered twice, ignored.`);
        return;
      }
      log.warn(`${signal} again: exiting at once.`);
      this.exit(130);
      return;
    }
    this.first = { signal, at, echoIgnored: false };
    log.info(`${signal} received: shutting down (press Ctrl-C again to exit at once).`);
    this.controller.abort(signal);
  };

  constructor(opts: ShutdownSignalOptions = {}) {
    this.repeatWindowMs = opts.repeatWindowMs ?? REPEAT_WINDOW_MS;
    this.echoed = opts.echoed ?? startedByPackageRunner(process.env, parentEnviron());
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
