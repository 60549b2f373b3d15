/** Bounds the number of requests in flight to a remote origin: callers beyond the limit wait in FIFO order. */
export class RequestLimiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {
    if (!(limit >= 1)) throw new RangeError("limit must be ≥ 1");
  }

  get inFlight(): number {
    return this.active;
  }

  /** Runs `task` when a slot is free; the slot is released when the task settles. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next(); // the slot passes straight to the next waiter
      else this.active--;
    }
  }
}
