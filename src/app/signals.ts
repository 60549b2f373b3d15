import { log } from "../core/logger.ts";

/**
 * Turns the first SIGINT/SIGTERM into a graceful-shutdown request and a second one into an immediate exit: a user
 * who presses Ctrl-C twice means it.
 */
export class ShutdownSignals {
  private readonly controller = new AbortController();
  private count = 0;
  private readonly handler = (signal: NodeJS.Signals) => {
    this.count++;
    if (this.count > 1) {
      log.warn(`${signal} again: exiting at once.`);
      process.exit(130);
    }
    log.info(`${signal} received: shutting down (press Ctrl-C again to exit at once).`);
    this.controller.abort(signal);
  };

  constructor() {
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
