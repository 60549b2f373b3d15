/**
 * A fault-injecting wrapper around any Origin, for tests: fail every Nth operation, fail after N operations, delay
 * each operation, short reads, offline (fail at once, or hang until switched back). Switchable at any time, and it
 * counts what passed through, so a test can assert "this file was never fetched again".
 *
 * An "operation" is one call of stat/read/isAvailable/walk, or one piece yielded by stream (each piece of a stream
 * stands for one network round trip of a remote origin).
 */
import type { Origin, OriginCallOptions, OriginEntry, StreamOptions, WalkReport } from "./origin.ts";
import type { OriginId } from "../core/ids.ts";

export type FaultMode =
  | { kind: "healthy" }
  /** Operations number N, 2N, 3N... fail. */
  | { kind: "failEveryNth"; n: number }
  /** The first N operations succeed, every later one fails. */
  | { kind: "failAfter"; n: number }
  /** Every operation waits this long first. */
  | { kind: "delay"; ms: number }
  /** read returns at most `maxBytes` (a short read before EOF); stream pieces are cut to at most `maxBytes`. */
  | { kind: "partial"; maxBytes: number }
  /** Unreachable: operations fail immediately ("fail") or block until the mode changes ("hang"). */
  | { kind: "offline"; behaviour: "fail" | "hang" };

export interface FaultCounts {
  /** Operations attempted, by kind. */
  stat: number;
  read: number;
  streamCalls: number;
  streamPieces: number;
  walk: number;
  isAvailable: number;
  /** Bytes handed out by read and stream. */
  bytesRead: number;
  /** Operations that failed because of an injected fault. */
  injectedFailures: number;
}

export class InjectedFaultError extends Error {
  override readonly name = "InjectedFaultError";
  constructor(
    message: string,
    /** "EIO" for injected failures; an origin "offline" refuses connections, as an unreachable server does. */
    readonly code = "EIO",
  ) {
    super(message);
  }
}

function zeroCounts(): FaultCounts {
  return { stat: 0, read: 0, streamCalls: 0, streamPieces: 0, walk: 0, isAvailable: 0, bytesRead: 0, injectedFailures: 0 };
}

export class FaultyOrigin implements Origin {
  readonly id: OriginId;
  readonly displayName: string;
  counts: FaultCounts = zeroCounts();
  private mode: FaultMode = { kind: "healthy" };
  private operations = 0;
  /** Resolvers of operations hanging in offline/"hang" mode; released by setMode. */
  private hanging: (() => void)[] = [];

  constructor(private readonly inner: Origin, mode?: FaultMode) {
    this.id = inner.id;
    this.displayName = `faulty(${inner.displayName})`;
    if (mode) this.mode = mode;
  }

  setMode(mode: FaultMode): void {
    this.mode = mode;
    this.operations = 0;
    const release = this.hanging;
    this.hanging = [];
    for (const r of release) r();
  }

  getMode(): FaultMode {
    return this.mode;
  }

  resetCounts(): void {
    this.counts = zeroCounts();
  }

  /** Operations (of any kind) that reached the origin since the last reset. */
  get totalOperations(): number {
    const c = this.counts;
    return c.stat + c.read + c.streamPieces + c.walk + c.isAvailable;
  }

  async stat(realPath: string, opts?: OriginCallOptions): Promise<{ size: number; mtimeMs: number }> {
    this.counts.stat++;
    await this.fault();
    return this.inner.stat(realPath, opts);
  }

  async read(realPath: string, offset: number, length: number, opts?: OriginCallOptions): Promise<Uint8Array> {
    this.counts.read++;
    await this.fault();
    const limit = this.mode.kind === "partial" ? Math.min(length, this.mode.maxBytes) : length;
    const bytes = await this.inner.read(realPath, offset, limit, opts);
    this.counts.bytesRead += bytes.length;
    return bytes;
  }

  async *stream(realPath: string, offset: number, chunkSize?: number, opts?: StreamOptions): AsyncIterable<Uint8Array> {
    this.counts.streamCalls++;
    for await (const piece of this.inner.stream(realPath, offset, chunkSize, opts)) {
      const max = this.mode.kind === "partial" ? this.mode.maxBytes : piece.length;
      for (let at = 0; at < piece.length; at += max) {
        this.counts.streamPieces++;
        await this.fault();
        const part = piece.subarray(at, Math.min(piece.length, at + max));
        this.counts.bytesRead += part.length;
        yield part;
      }
    }
  }

  async *walk(report?: WalkReport): AsyncIterable<OriginEntry[]> {
    this.counts.walk++;
    await this.fault();
    yield* this.inner.walk(report);
  }

  async isAvailable(): Promise<boolean> {
    this.counts.isAvailable++;
    if (this.mode.kind === "offline") return false;
    return this.inner.isAvailable();
  }

  private async fault(): Promise<void> {
    const n = ++this.operations;
    const m = this.mode;
    switch (m.kind) {
      case "healthy":
      case "partial":
        return;
      case "delay":
        await Bun.sleep(m.ms);
        return;
      case "failEveryNth":
        if (n % m.n === 0) this.fail(`injected failure (operation ${n}, every ${m.n})`);
        return;
      case "failAfter":
        if (n > m.n) this.fail(`injected failure (operation ${n}, after ${m.n})`);
        return;
      case "offline":
        if (m.behaviour === "fail") this.fail("origin offline (injected)", "ECONNREFUSED");
        await new Promise<void>((resolve) => this.hanging.push(resolve));
        // Switched back: behave as the new mode says.
        this.operations--;
        return this.fault();
    }
  }

  private fail(message: string, code?: string): never {
    this.counts.injectedFailures++;
    throw new InjectedFaultError(message, code);
  }
}
