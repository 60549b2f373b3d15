import { describe, expect, test } from "bun:test";
import { GiB, mayWrite, planEviction, reserveBytes, type CacheSpace } from "../../src/cas/evictionPolicy.ts";

const MiB = 1024 ** 2;
/** A cache far from every limit, on a big disk: each test changes what it is about. */
const roomy: CacheSpace = { usedBytes: 0, inFlightBytes: 0, capBytes: 100 * MiB, fsFreeBytes: 500 * GiB, fsTotalBytes: 1000 * GiB };

describe("the free-space reserve", () => {
  test("default: 5 % of the file system or 1 GiB, whichever is smaller", () => {
    expect(reserveBytes(60 * 1e6)).toBe(3 * 1e6); // a 60 MB disk keeps 3 MB free
    expect(reserveBytes(10 * GiB)).toBe(GiB / 2);
    expect(reserveBytes(1000 * GiB)).toBe(GiB);
  });
  test("min_free as a size or a percentage; an unknown file system keeps none", () => {
    expect(reserveBytes(1000 * GiB, { bytes: 200 * MiB })).toBe(200 * MiB);
    expect(reserveBytes(100 * MiB, { bytes: 200 * MiB })).toBe(100 * MiB);
    expect(reserveBytes(1000 * GiB, { percent: 10 })).toBe(100 * GiB);
    expect(reserveBytes(Number.POSITIVE_INFINITY)).toBe(0);
  });
});

describe("planEviction", () => {
  test("under the high-water mark nothing is freed", () => {
    expect(planEviction({ ...roomy, usedBytes: 89 * MiB }, MiB)).toEqual({ mustFree: 0, shouldFree: 0, reason: null });
  });
  test("past the high-water mark a sweep runs down to the low-water mark, without holding the write", () => {
    const p = planEviction({ ...roomy, usedBytes: 95 * MiB }, MiB);
    expect(p).toEqual({ mustFree: 0, shouldFree: 16 * MiB, reason: "cap" });
  });
  test("a write that would take the cache over its cap must wait for eviction; writes in flight count", () => {
    const p = planEviction({ ...roomy, usedBytes: 99 * MiB, inFlightBytes: 2 * MiB }, MiB);
    expect(p.mustFree).toBe(2 * MiB);
    expect(p.shouldFree).toBe(22 * MiB);
    expect(mayWrite({ ...roomy, usedBytes: 99 * MiB }, MiB)).toBe(true); // exactly at the cap is allowed
    expect(mayWrite({ ...roomy, usedBytes: 99 * MiB, inFlightBytes: 1 }, MiB)).toBe(false);
  });
  test("a disk with less free space than the reserve frees the difference (and a tenth of the reserve more), whatever the cap", () => {
    // A 60 MB disk (reserve 3 MB) with 2 MB free and a 10 GiB cap: the cap is far, the disk is not.
    const disk = { ...roomy, capBytes: 10 * GiB, usedBytes: 40 * 1e6, fsFreeBytes: 2 * 1e6, fsTotalBytes: 60 * 1e6 };
    const p = planEviction(disk, 100_000);
    expect(p).toEqual({ mustFree: 1_100_000, shouldFree: 1_400_000, reason: "reserve" });
    expect(mayWrite(disk, 100_000)).toBe(false);
    expect(mayWrite({ ...disk, fsFreeBytes: 3.1 * 1e6 }, 100_000)).toBe(true);
    expect(mayWrite({ ...disk, fsFreeBytes: 3.1 * 1e6, inFlightBytes: 100_000 }, 100_000)).toBe(false);
  });
  test("the room the bookkeeping may still take unasked (access.db's WAL) is kept on top of the reserve", () => {
    // A 60 MB disk (reserve 3 MB) with 3.2 MB free: a 100 kB write fits, unless the WAL may still grow by 150 kB.
    const disk = { ...roomy, capBytes: 10 * GiB, fsFreeBytes: 3.2 * 1e6, fsTotalBytes: 60 * 1e6 };
    expect(mayWrite(disk, 100_000)).toBe(true);
    expect(mayWrite({ ...disk, unaskedBytes: 150_000 }, 100_000)).toBe(false);
    expect(planEviction({ ...disk, unaskedBytes: 150_000 }, 100_000)).toEqual({ mustFree: 50_000, shouldFree: 350_000, reason: "reserve" });
  });
  test("an unknown file system (statfs failed) is judged by the cap alone", () => {
    expect(planEviction({ ...roomy, fsFreeBytes: Number.POSITIVE_INFINITY, fsTotalBytes: Number.POSITIVE_INFINITY }, MiB).mustFree).toBe(0);
  });
});
