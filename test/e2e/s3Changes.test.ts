/**
 * Issue 16, item 3: objects replaced or deleted on the store while mounted, through a real mount of a real Ceph RGW
 * (no periodic sync): a replaced object — read before or never — plays its new bytes with its new size on a later
 * open, without a remount; a deleted one is ENOENT on a later lookup, while a reader that had it open keeps reading
 * what was cached.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database as Sqlite } from "bun:sqlite";
import { closeSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { cleanupAll, findFiles, startMount, tempDir, type Running } from "./harness.ts";
import { rgwSkipReason, startRgw, type RgwCluster } from "../support/cephRgw.ts";
import { sampleLibraryObjects, uploadLibrary } from "../support/sampleObjects.ts";
import { eventually } from "../support/eventually.ts";

const skip = rgwSkipReason !== null;
if (skip) console.warn(`skipping S3 change tests: ${rgwSkipReason}`);

let rgw: RgwCluster;
const objects = new Map<string, Uint8Array>();

beforeAll(async () => {
  if (skip) return;
  rgw = await startRgw();
  await rgw.createBucket("changes");
  for (const [k, b] of await sampleLibraryObjects()) objects.set(k, b);
  await uploadLibrary(rgw.client("changes"), objects);
}, 90_000);

afterAll(async () => {
  await cleanupAll();
  await rgw?.stop();
}, 60_000);

function env(): Record<string, string> {
  return { AWS_ACCESS_KEY_ID: rgw.accessKeyId, AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey, AWS_REGION: rgw.region, AWS_PROFILE: "", AWS_ENDPOINT_URL: rgw.endpoint };
}

/** The FLAC tracks as the library placed them: key below lib/ → path in the mount. */
function placed(cache: string): Map<string, string> {
  const db = new Sqlite(join(cache, "metadata.db"), { readonly: true });
  const rows = db.query("SELECT real_path AS k, virtual_path AS v FROM files WHERE real_path LIKE '%.flac' ORDER BY real_path").all() as { k: string; v: string }[];
  db.close();
  return new Map(rows.map((r) => [r.k, r.v]));
}

/** The same track with 4 KiB more at its end: the same tags (same name in the tree), another size and ETag. */
const grown = (bytes: Uint8Array) => new Uint8Array([...bytes, ...new Uint8Array(4096).fill(0x2a)]);

/** Opens and reads the whole file (a player's open); null when the read fails (EIO) or the file is gone. */
function readWhole(path: string): Uint8Array | null {
  try {
    return new Uint8Array(readFileSync(path));
  } catch {
    return null;
  }
}

const same = (a: Uint8Array | null, b: Uint8Array) => a !== null && Buffer.from(a).equals(Buffer.from(b));

describe.skipIf(skip)("objects that change while mounted", () => {
  let m: Running;
  let mnt: string;
  let where: Map<string, string>;
  const cache = skip ? "" : tempDir();

  test("mount (no periodic sync)", async () => {
    mnt = join(tempDir(), "mnt");
    // A file's version is checked again 300 ms after the last check, not 5 s (MUSICFS_REMOTE_CHECK_INTERVAL_MS, not a
    // user setting; the default is unchanged): the tests below wait for the next check instead of sitting through 5 s.
    m = await startMount(mnt, ["-o", "s3://changes/lib", "--cache-dir", cache], { env: { ...env(), MUSICFS_REMOTE_CHECK_INTERVAL_MS: "300" } });
    await m.waitFor(/Delta sync complete/);
    where = placed(cache);
    expect(where.size).toBeGreaterThan(4);
  }, 120_000);

  test("a replaced object that was played (cached whole): a later open plays its new bytes, stat shows its new size", async () => {
    const [key, path] = [...where][0]!;
    const file = join(mnt, path);
    expect(same(readWhole(file), objects.get(key)!)).toBe(true);
    const next = grown(objects.get(key)!);
    await rgw.client("changes").write(`lib/${key}`, next);
    // Opens until one plays the new version (the open that notices the change still plays the cached one).
    await eventually(() => readWhole(file), (b) => same(b, next), 60_000);
    expect(statSync(file).size).toBe(next.length);
    expect(m.output()).toContain(`"${key}" changed on s3://changes/lib: syncing it.`);
  }, 120_000);

  test("a replaced object never played: the first open reads the old version (what the scan cached), the new one, or EIO — never a mix; a later open plays the new bytes", async () => {
    const [key, path] = [...where][1]!;
    const file = join(mnt, path);
    const next = grown(objects.get(key)!);
    await rgw.client("changes").write(`lib/${key}`, next);
    const first = readWhole(file);
    expect(first === null || same(first, next) || same(first, objects.get(key)!)).toBe(true);
    await eventually(() => readWhole(file), (b) => same(b, next), 60_000);
    expect(statSync(file).size).toBe(next.length);
  }, 120_000);

  test("a deleted object: a reader that has it open reads it to the end from the cache; later it is ENOENT and leaves the tree", async () => {
    const [key, path] = [...where][2]!;
    const file = join(mnt, path);
    expect(same(readWhole(file), objects.get(key)!)).toBe(true); // cached whole
    const fd = openSync(file, "r");
    try {
      await rgw.client("changes").delete(`lib/${key}`);
      const out = new Uint8Array(objects.get(key)!.length);
      let got = 0;
      for (let n; (n = readSync(fd, out, got, out.length - got, got)) > 0; ) got += n;
      expect(got).toBe(out.length);
      expect(Buffer.from(out).equals(Buffer.from(objects.get(key)!))).toBe(true);
    } finally {
      closeSync(fd);
    }
    // A later open notices (a HEAD at open): the file leaves the tree, a lookup answers ENOENT.
    const gone = () => {
      try {
        readFileSync(file);
        return "present";
      } catch (e) {
        return (e as NodeJS.ErrnoException).code ?? "error";
      }
    };
    await eventually(gone, (c) => c === "ENOENT", 60_000);
    expect((await findFiles(mnt)).includes(path)).toBe(false);
    expect(m.output()).toContain(`"${key}" is gone on s3://changes/lib: syncing it.`);
  }, 120_000);

  test("unmount", async () => {
    expect(await m.stop()).toBe(0);
  }, 60_000);
});
