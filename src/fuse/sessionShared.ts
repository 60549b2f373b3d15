/**
 * What the workers of one session share through a SharedArrayBuffer: what the kernel offered in INIT (only one
 * worker answers INIT, but every worker must know, e.g. whether OPENDIR may be answered ENOSYS), one request
 * counter per opcode (where a workload's time goes: `FuseSession.requestCounts()`), and the calls that wake standby
 * workers (sessionWorker.ts).
 */
import { Opcode, opcodeName } from "./abi.ts";

/** Kernel housekeeping nobody waits for: not counted as traffic. */
const NO_REPLY_OPCODES: ReadonlySet<number> = new Set([Opcode.FORGET, Opcode.BATCH_FORGET, Opcode.INTERRUPT]);

/** Opcodes are below 64 today (STATX = 52); larger ones share the last counter. */
const COUNTERS = 64;
/** Int32 layout: [0] INIT seen (0/1), [1] the kernel's INIT flags (bits 0–31), [2] answered requests (all opcodes
 *  but NO_REPLY_OPCODES), [3] calls for a standby worker, [4] standby workers in read(2), [5] direct-I/O files may be
 *  mmapped (0/1, agreed in INIT), [6…] a counter per opcode. */
const INIT_SEEN = 0;
const KERNEL_FLAGS = 1;
const ANSWERED = 2;
const STANDBY_CALLS = 3;
const STANDBY_READING = 4;
const DIRECT_IO_MMAP = 5;
const FIRST_COUNTER = 6;
/** STANDBY_CALLS after releaseStandby(): standby workers never sleep again. */
const RELEASED = -1;

/**
 * Upper bounds (seconds) of the answer-time histogram per opcode (`FuseSession.requestLatency()`, the metrics'
 * musicfs_fuse_request_duration_seconds); a last bucket takes the rest.
 */
export const LATENCY_BUCKETS_S = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5] as const;
const BUCKETS = LATENCY_BUCKETS_S.length + 1;
const FIRST_BUCKET = FIRST_COUNTER + COUNTERS;
const INT_WORDS = FIRST_BUCKET + COUNTERS * BUCKETS;
/** Sums of answer times per opcode, in microseconds (BigInt64, after the Int32 words, 8-aligned). */
const SUMS_BYTE_OFFSET = Math.ceil((4 * INT_WORDS) / 8) * 8;

/**
 * A clock every thread of the process reads alike (ms since the epoch, sub-millisecond): `performance.now()` counts
 * from each thread's own start, so a request received by a worker and answered by the main thread needs this one.
 */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

export interface OpcodeLatency {
  /** Requests per bucket of LATENCY_BUCKETS_S (not cumulative), the last one above the last bound. */
  buckets: number[];
  sumSeconds: number;
  count: number;
}

export function createSessionShared(): SharedArrayBuffer {
  return new SharedArrayBuffer(SUMS_BYTE_OFFSET + 8 * COUNTERS);
}

export class SessionShared {
  private readonly words: Int32Array;
  private readonly sums: BigInt64Array;

  constructor(sab: SharedArrayBuffer) {
    this.words = new Int32Array(sab, 0, INT_WORDS);
    this.sums = new BigInt64Array(sab, SUMS_BYTE_OFFSET, COUNTERS);
  }

  /** Called by the worker answering INIT, before its reply is written (so before any other request arrives). */
  recordKernelFlags(flags: number, directIoMmap = false): void {
    Atomics.store(this.words, KERNEL_FLAGS, flags | 0);
    Atomics.store(this.words, DIRECT_IO_MMAP, directIoMmap ? 1 : 0);
    Atomics.store(this.words, INIT_SEEN, 1);
  }

  /** Whether the kernel offered `flag` (an InitFlag bit of the low word); false before INIT. */
  kernelOffers(flag: number): boolean {
    return Atomics.load(this.words, INIT_SEEN) === 1 && (Atomics.load(this.words, KERNEL_FLAGS) & flag) !== 0;
  }

  /** Whether FUSE_DIRECT_IO_ALLOW_MMAP was agreed: FOPEN_DIRECT_IO then keeps mmap working. */
  directIoMmap(): boolean {
    return Atomics.load(this.words, DIRECT_IO_MMAP) === 1;
  }

  /** Wake one standby worker to read the next request (worker 0 calls this before a request that may block). */
  callStandby(): void {
    if (Atomics.load(this.words, STANDBY_CALLS) === RELEASED) return;
    Atomics.add(this.words, STANDBY_CALLS, 1);
    Atomics.notify(this.words, STANDBY_CALLS, 1);
  }

  /**
   * Send every standby worker to read(2) for good, where an unmounted session ends them with ENODEV. For good: a
   * worker that still gets a request on the way out (a FORGET, DESTROY) must not go back to sleep, or the shutdown
   * waits for it in vain.
   */
  releaseStandby(): void {
    Atomics.store(this.words, STANDBY_CALLS, RELEASED);
    Atomics.notify(this.words, STANDBY_CALLS);
  }

  /** A standby worker is (about to be) blocked in read(2) and will take the next request. */
  enterRead(): void {
    Atomics.add(this.words, STANDBY_READING, 1);
  }

  leaveRead(): void {
    Atomics.sub(this.words, STANDBY_READING, 1);
  }

  standbyReading(): boolean {
    return Atomics.load(this.words, STANDBY_READING) > 0;
  }

  /** Calls so far; a standby worker passes the count it has answered to awaitCall. */
  standbyCalls(): number {
    return Atomics.load(this.words, STANDBY_CALLS);
  }

  /** Block until there are calls beyond `answered`; returns the new count. */
  awaitCall(answered: number): number {
    for (;;) {
      const calls = Atomics.load(this.words, STANDBY_CALLS);
      if (calls !== answered || calls === RELEASED) return calls;
      Atomics.wait(this.words, STANDBY_CALLS, calls);
    }
  }

  countRequest(opcode: number): void {
    Atomics.add(this.words, FIRST_COUNTER + Math.min(opcode, COUNTERS - 1), 1);
    if (!NO_REPLY_OPCODES.has(opcode)) Atomics.add(this.words, ANSWERED, 1);
  }

  /** How long a request of `opcode` took, from when a worker read it to when its reply was written (by whichever thread). */
  recordLatency(opcode: number, seconds: number): void {
    const op = Math.min(opcode, COUNTERS - 1);
    let b = 0;
    while (b < LATENCY_BUCKETS_S.length && seconds > LATENCY_BUCKETS_S[b]!) b++;
    Atomics.add(this.words, FIRST_BUCKET + op * BUCKETS + b, 1);
    Atomics.add(this.sums, op, BigInt(Math.round(seconds * 1e6)));
  }

  /** Answer times by opcode name (only opcodes seen at least once). */
  requestLatency(): Record<string, OpcodeLatency> {
    const out: Record<string, OpcodeLatency> = {};
    for (let op = 0; op < COUNTERS; op++) {
      const buckets = Array.from({ length: BUCKETS }, (_, b) => Atomics.load(this.words, FIRST_BUCKET + op * BUCKETS + b));
      const count = buckets.reduce((n, c) => n + c, 0);
      if (count > 0) out[opcodeName(op)] = { buckets, count, sumSeconds: Number(Atomics.load(this.sums, op)) / 1e6 };
    }
    return out;
  }

  /** Requests some caller waited for (all but FORGET, BATCH_FORGET and INTERRUPT), so far. */
  answeredRequests(): number {
    return Atomics.load(this.words, ANSWERED);
  }

  /** Requests received so far, by opcode name (only opcodes seen at least once). */
  requestCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let op = 0; op < COUNTERS; op++) {
      const n = Atomics.load(this.words, FIRST_COUNTER + op);
      if (n > 0) out[opcodeName(op)] = n;
    }
    return out;
  }
}
