/**
 * Issue 9 item 9: a mountpoint that cannot take the mount is refused before anything else happens — no cache dir,
 * no database, no scan. (Before, the refusal came only after the whole first scan.)
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { scannedSampleLibrary } from "../support/scannedLibrary.ts";
import { CLI, cleanupAll, run, startMount, tempDir } from "./harness.ts";

afterAll(cleanupAll);

let origin: string;
/** A cache dir of that library, scanned already: the running mount of the last test needs no first scan. */
let scannedCache: string;
beforeAll(async () => {
  const lib = await scannedSampleLibrary();
  origin = lib.origin;
  scannedCache = lib.paths.cacheDir;
}, 180_000);

/** Mounts with a cache dir that does not exist yet; the refusal must leave it uncreated and start no scan. */
async function mountRefused(mountPoint: string) {
  const cache = join(tempDir(), "cache");
  const r = await run(["bun", CLI, "mount", mountPoint, "--origin", origin, "--cache-dir", cache], { env: { NO_COLOR: "1" } });
  const text = r.stdout + r.stderr;
  expect(r.code).toBe(1);
  expect(existsSync(cache)).toBe(false); // neither the cache dir nor metadata.db was created
  expect(text).not.toContain("Scanning");
  expect(text).not.toMatch(/\n\s+at /); // no stack trace
  return text;
}

describe("the mountpoint is checked before the cache dir and the first scan", () => {
  test("a non-empty mountpoint is refused at once, naming an entry in it", async () => {
    const mnt = tempDir();
    writeFileSync(join(mnt, "keep.txt"), "mine");
    const text = await mountRefused(mnt);
    expect(text).toContain(`${mnt} is not empty`);
    expect(text).toContain("keep.txt");
    expect(readFileSync(join(mnt, "keep.txt"), "utf8")).toBe("mine");
  });

  test("a mountpoint that is a file is refused at once", async () => {
    const file = join(tempDir(), "a-file");
    writeFileSync(file, "not a directory");
    const text = await mountRefused(file);
    expect(text).toContain(`${file} is not a directory`);
    expect(readFileSync(file, "utf8")).toBe("not a directory");
  });

  test("a mountpoint served by another running musicfs is refused at once; that mount keeps serving", async () => {
    const mnt = join(tempDir(), "mnt");
    const first = await startMount(mnt, ["--origin", origin, "--cache-dir", scannedCache]);
    const text = await mountRefused(mnt);
    expect(text).toContain(`${mnt} is already served by a running musicfs`);
    expect(first.proc.exitCode).toBeNull();
    expect((await run(["ls", mnt])).stdout.trim()).not.toBe("");
  }, 60_000);
});
