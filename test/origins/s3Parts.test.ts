import { describe, expect, test } from "bun:test";
import { formatS3Url, parseS3Url, rejectCredentialsInUrl } from "../../src/core/s3Url.ts";
import { UserError } from "../../src/core/errors.ts";
import { FolderGrouper } from "../../src/origins/folderGrouper.ts";
import { RequestLimiter } from "../../src/origins/requestLimiter.ts";
import { DEADLINE_MAX_DELAY_MS, backoffMs, isRetryable, nextWaitMs, withRetry } from "../../src/origins/retryPolicy.ts";
import { keyOfPath, pathOfKey } from "../../src/origins/s3Keys.ts";

describe("s3:// URLs", () => {
  test("bucket and prefix, with the prefix ending in a slash", () => {
    expect(parseS3Url("s3://music")).toEqual({ bucket: "music", prefix: "" });
    expect(parseS3Url("s3://music/FLAC/Jazz")).toEqual({ bucket: "music", prefix: "FLAC/Jazz/" });
    expect(parseS3Url("s3://music//a b/")).toEqual({ bucket: "music", prefix: "a b/" });
    expect(formatS3Url({ bucket: "music", prefix: "FLAC/" })).toBe("s3://music/FLAC");
  });
  test("a URL without a usable bucket is a user error naming it", () => {
    expect(() => parseS3Url("s3:///x")).toThrow(UserError);
    expect(() => parseS3Url("s3://a")).toThrow(/no valid bucket name/);
    expect(() => parseS3Url("http://x/y")).toThrow(/not an S3 URL/);
  });
  test("credentials in a URL are refused, and the message does not repeat them (a secret with / and @ included)", () => {
    for (const url of ["s3://AKIAEXAMPLE:s3cr3t/x+y@music/lib", "s3://AKIAEXAMPLE:s3cr3t@music/lib", "s3://AKIAEXAMPLE@music"]) {
      let message = "";
      try {
        parseS3Url(url, "--origin");
      } catch (e) {
        message = (e as UserError).message + (e as UserError).hint;
      }
      expect(message).toContain("holds credentials");
      expect(message).toContain("@music");
      expect(message).toContain("AWS_ACCESS_KEY_ID");
      expect(message).not.toContain("s3cr3t");
      expect(message).not.toContain("AKIAEXAMPLE");
    }
    // An @ in the key prefix is not a credential, nor is a port.
    expect(parseS3Url("s3://music/me@home")).toEqual({ bucket: "music", prefix: "me@home/" });
    expect(() => rejectCredentialsInUrl("https://s3.example.com:9000/x@y", "endpoint")).not.toThrow();
    expect(() => rejectCredentialsInUrl("https://AK:SK@s3.example.com", "endpoint")).toThrow(/"https:\/\/…@s3.example.com" holds credentials/);
  });
});

describe("keys and paths", () => {
  test("hostile keys map to paths and back byte for byte, never outside the prefix", () => {
    for (const path of ["a b/c+d&e.flac", "Ünïcødé/東京.mp3", "x/../y.flac", "../../etc/passwd", "%41.flac", "a//b.flac"]) {
      const key = keyOfPath("lib/", path);
      expect(key.startsWith("lib/")).toBe(true);
      expect(pathOfKey("lib/", key)).toBe(path);
    }
  });
  test("folder markers and keys outside the prefix are not files", () => {
    expect(pathOfKey("lib/", "lib/")).toBeNull();
    expect(pathOfKey("lib/", "lib/Album/")).toBeNull();
    expect(pathOfKey("lib/", "other/x.flac")).toBeNull();
  });
});

describe("folder grouping of a flat listing", () => {
  const e = (realPath: string) => ({ realPath, size: 1, mtimeMs: 0 });
  test("every folder comes out once, with all its files, although the listing interleaves subfolders", () => {
    const keys = ["1.flac", "a/1.flac", "a/b c/1.flac", "a/b/1.flac", "a/b/c/1.flac", "a/b/z.flac", "a/z.flac", "b/1.flac", "z.flac"];
    const g = new FolderGrouper();
    const out = [...keys.flatMap((k) => g.add(e(k))), ...g.finish()].map((batch) => batch.map((x) => x.realPath));
    const dirs = out.map((b) => b[0].slice(0, b[0].lastIndexOf("/") + 1));
    expect(new Set(dirs).size).toBe(dirs.length);
    expect(out.flat().sort()).toEqual([...keys].sort());
    expect(out.find((b) => b.includes("a/b/1.flac"))).toEqual(["a/b/1.flac", "a/b/z.flac"]);
    expect(out.find((b) => b.includes("1.flac"))).toEqual(["1.flac", "z.flac"]);
  });
});

describe("retry policy", () => {
  test("throttling, 5xx and broken connections are retried; 4xx answers are not", () => {
    for (const code of ["SlowDown", "InternalError", "ServiceUnavailable", "503", "ConnectionRefused", "ECONNRESET", "Timeout"])
      expect(isRetryable(Object.assign(new Error("x"), { code }))).toBe(true);
    for (const code of ["NoSuchKey", "AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId", "NoSuchBucket", "InvalidRange"])
      expect(isRetryable(Object.assign(new Error("x"), { code }))).toBe(false);
  });
  test("backoff grows exponentially up to the cap, with full jitter", () => {
    const p = { attempts: 5, baseDelayMs: 100, maxDelayMs: 1000 };
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(n, p, () => 0.999))).toEqual([99, 199, 399, 799, 999]);
    expect(backoffMs(3, p, () => 0)).toBe(0);
  });
  test("retries until success, gives up after the last try, stops at once on a 4xx", async () => {
    const sleeps: number[] = [];
    const sleep = async (ms: number) => void sleeps.push(ms);
    let calls = 0;
    const flaky = () => (++calls < 3 ? Promise.reject(Object.assign(new Error("slow"), { code: "SlowDown" })) : Promise.resolve("ok"));
    expect(await withRetry(flaky, { attempts: 5, baseDelayMs: 10, maxDelayMs: 100 }, { sleep })).toBe("ok");
    expect(calls).toBe(3);
    expect(sleeps.length).toBe(2);
    calls = 0;
    const denied = () => (calls++, Promise.reject(Object.assign(new Error("no"), { code: "AccessDenied" })));
    await expect(withRetry(denied, { attempts: 5, baseDelayMs: 10, maxDelayMs: 100 }, { sleep })).rejects.toThrow("no");
    expect(calls).toBe(1);
    calls = 0;
    const down = () => (calls++, Promise.reject(Object.assign(new Error("down"), { code: "ServiceUnavailable" })));
    await expect(withRetry(down, { attempts: 3, baseDelayMs: 10, maxDelayMs: 100 }, { sleep })).rejects.toThrow("down");
    expect(calls).toBe(3);
  });
  test("with a deadline, refused connections are tried again until the deadline, however many tries that takes", async () => {
    // A fake clock: each sleep advances it. The store refuses connections for 4 s, then answers.
    let clock = 0;
    const sleep = async (ms: number) => void (clock += ms);
    const now = () => clock;
    let calls = 0;
    const refusedFor4s = () => (++calls, clock < 4000 ? Promise.reject(Object.assign(new Error("refused"), { code: "ConnectionRefused" })) : Promise.resolve("ok"));
    const policy = { attempts: 5, baseDelayMs: 100, maxDelayMs: 5000 };
    expect(await withRetry(refusedFor4s, policy, { sleep, now, deadline: 20_000 })).toBe("ok");
    expect(calls).toBeGreaterThan(5); // the count of tries no longer ends it
    expect(clock).toBeGreaterThanOrEqual(4000);
    expect(clock).toBeLessThan(4000 + DEADLINE_MAX_DELAY_MS + 1); // back within the longest wait after the store is
    // Past the deadline the last error comes out — not before it.
    clock = 0;
    calls = 0;
    const down = () => (++calls, Promise.reject(Object.assign(new Error("reset"), { code: "ECONNRESET" })));
    await expect(withRetry(down, policy, { sleep, now, deadline: 20_000 })).rejects.toThrow("reset");
    expect(clock).toBe(20_000);
    // A 4xx still ends it at once, deadline or not.
    clock = 0;
    calls = 0;
    const denied = () => (calls++, Promise.reject(Object.assign(new Error("no"), { code: "AccessDenied" })));
    await expect(withRetry(denied, policy, { sleep, now, deadline: 20_000 })).rejects.toThrow("no");
    expect(calls).toBe(1);
    expect(clock).toBe(0);
  });
  test("waits with a deadline stay under a second and end at the deadline", () => {
    const p = { attempts: 5, baseDelayMs: 100, maxDelayMs: 5000 };
    expect(nextWaitMs(10, p, { deadline: 100_000, now: () => 0, random: () => 0.999 })).toBe(999);
    expect(nextWaitMs(10, p, { deadline: 300, now: () => 0, random: () => 0.999 })).toBe(300);
    expect(nextWaitMs(1, p, { deadline: 300, now: () => 300 })).toBeNull();
    expect(nextWaitMs(5, p)).toBeNull(); // no deadline: out of tries
  });
});

describe("request limiter", () => {
  test("never more than the limit in flight, and every task runs", async () => {
    const limiter = new RequestLimiter(3);
    let peak = 0;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        limiter.run(async () => {
          peak = Math.max(peak, limiter.inFlight);
          await Bun.sleep(1 + (i % 3));
          return i;
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(limiter.inFlight).toBe(0);
  });
});
