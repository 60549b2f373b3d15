/**
 * Issue 11 with the robustness rule (src/library/removalGuard.ts) on real mounts of a real Ceph RGW: a listing that
 * fails half-way, or a prefix that suddenly lists nothing, removes nothing and says so; an empty bucket on a first
 * mount says what the user sees. Faults come from our proxy between musicfs and RGW.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database as Sqlite } from "bun:sqlite";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupAll, findFiles, startMount, tempDir } from "./harness.ts";
import { putObjects, rgwSkipReason, startRgw, type RgwCluster } from "../support/cephRgw.ts";
import { sampleLibraryObjects, uploadLibrary } from "../support/sampleObjects.ts";
import { startFaultProxy, type FaultProxy } from "../support/faultProxy.ts";

const skip = rgwSkipReason !== null;
if (skip) console.warn(`skipping S3 listing tests: ${rgwSkipReason}`);

const BUCKET = "listings";
let rgw: RgwCluster;
let proxy: FaultProxy;
/** key below lib/ → bytes */
const objects = new Map<string, Uint8Array>();

beforeAll(async () => {
  if (skip) return;
  rgw = await startRgw();
  proxy = startFaultProxy({ port: rgw.port });
  await rgw.createBucket(BUCKET);
  await rgw.createBucket("empty");
  for (const [k, b] of await sampleLibraryObjects()) objects.set(k, b);
  await uploadLibrary(rgw.client(BUCKET), objects);
}, 60_000);

afterAll(async () => {
  await cleanupAll();
  proxy?.stop();
  await rgw?.stop();
});

function env(): Record<string, string> {
  return rgw.credentialsEnv();
}

function config(bucket = BUCKET): string {
  const path = join(tempDir(), "config.toml");
  writeFileSync(path, `[[origins]]\nid = "cloud"\nurl = "s3://${bucket}/lib"\nendpoint = "${proxy.endpoint}"\nrequest_timeout_ms = 2000\n`);
  return path;
}

function storedCount(cache: string): number {
  const db = new Sqlite(join(cache, "metadata.db"), { readonly: true });
  const n = (db.query("SELECT count(*) AS n FROM files").get() as { n: number }).n;
  db.close();
  return n;
}

const tracks = async (mnt: string) => (await findFiles(mnt)).filter((f) => !f.startsWith(".") && !/(^|\/)cover\.(jpg|png|webp)$/.test(f));

describe.skipIf(skip)("S3 listings that look like an outage remove nothing", () => {
  const cache = skip ? "" : tempDir();

  test("first mount", async () => {
    const mnt = join(tempDir(), "mnt");
    const m = await startMount(mnt, ["--config", config(), "--cache-dir", cache], { env: env() });
    expect((await tracks(mnt)).length).toBe(objects.size);
    expect(await m.stop()).toBe(0);
  }, 120_000);

  test("a later ListObjectsV2 page that fails beyond the retries (connection resets) during the delta sync: nothing removed, a warning", async () => {
    // The walk lists the top-level folders first, then key ranges side by side (start-after=…): fail every try of
    // one range's pages, after the first listing of the sync succeeded.
    const later = /list-type=2.*start-after=/;
    proxy.inject("reset", 40, later);
    const seen = proxy.requests.length;
    const mnt = join(tempDir(), "mnt");
    const m = await startMount(mnt, ["--config", config(), "--cache-dir", cache], { env: env() });
    await m.waitFor(/Delta sync complete/);
    proxy.clearFaults();
    const listings = proxy.requests.slice(seen).filter((r) => r.path.includes("list-type"));
    expect(listings.some((r) => !later.test(r.path))).toBe(true); // the first pages were answered…
    expect(listings.filter((r) => later.test(r.path)).length).toBeGreaterThan(1); // …a later one failed, retried
    expect(m.output()).toMatch(/Delta sync complete: 0 added, 0 modified, 0 removed/);
    expect(m.output()).toContain("Delta sync: origin s3://listings/lib could not be listed to the end; nothing was removed");
    expect(m.output()).toMatch(/\[warn\] cannot read cloud:\. \(Listing s3:\/\/listings\/lib: /); // the store's own reason
    expect(storedCount(cache)).toBe(objects.size);
    expect((await tracks(mnt)).length).toBe(objects.size);
    expect(await m.stop()).toBe(0);
  }, 120_000);

  test("the prefix lists zero objects on a later sync: nothing removed, a warning saying why and how to confirm", async () => {
    const client = rgw.client(BUCKET);
    for (const key of objects.keys()) await client.delete(`lib/${key}`);
    try {
      const mnt = join(tempDir(), "mnt");
      const m = await startMount(mnt, ["--config", config(), "--cache-dir", cache], { env: env() });
      await m.waitFor(/looks offline/);
      await m.waitFor(/Delta sync complete/);
      expect(m.output()).toContain(`Origin s3://listings/lib looks offline: it lists no files (${objects.size} stored). Nothing was removed`);
      expect(m.output()).toContain("--accept-removals");
      expect(m.output()).toMatch(/Delta sync complete: 0 added, 0 modified, 0 removed/);
      expect(storedCount(cache)).toBe(objects.size);
      expect((await tracks(mnt)).length).toBe(objects.size);
      expect(await m.stop()).toBe(0);
    } finally {
      await putObjects(client, [...objects].map(([k, b]): [string, Uint8Array] => [`lib/${k}`, b]));
    }
  }, 120_000);

  test("a first mount of an empty bucket says it found nothing there, and mounts an empty tree", async () => {
    const mnt = join(tempDir(), "mnt");
    const m = await startMount(mnt, ["--config", config("empty"), "--cache-dir", tempDir()], { env: env() });
    expect(m.output()).toContain("Origin s3://empty/lib holds no audio files: the tree shows nothing from it. Check the bucket, the prefix");
    expect(await tracks(mnt)).toEqual([]);
    expect(await m.stop()).toBe(0);
  }, 120_000);
});
