/**
 * Issue 16, item 1: a mistyped origin changes nothing. Every spelling of the mistake (`-o` to a missing folder, to an
 * empty folder, to a missing bucket, to a bucket with wrong credentials), on `scan` and on `mount`, exits 1 naming
 * the origin and what to do, and leaves the library rows, origins.json and every cached byte as they were; the file
 * cached before still plays byte-exact with the store gone (RGW gateway stopped). And an origin removed on purpose
 * comes back with its cached content (under another id), readable with the store gone again.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database as Sqlite } from "bun:sqlite";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CLI, cleanupAll, findFiles, run, startMount, tempDir } from "./harness.ts";
import { putObjects, rgwSkipReason, startRgw, type RgwCluster } from "../support/cephRgw.ts";
import { sampleLibraryObjects, uploadLibrary } from "../support/sampleObjects.ts";
import { eventually } from "../support/eventually.ts";

const skip = rgwSkipReason !== null;
if (skip) console.warn(`skipping mistyped-origin tests: ${rgwSkipReason}`);

let rgw: RgwCluster;
/** key below lib/ → bytes */
const objects = new Map<string, Uint8Array>();

beforeAll(async () => {
  if (skip) return;
  rgw = await startRgw();
  await rgw.createBucket("music");
  await rgw.createBucket("other");
  for (const [k, b] of await sampleLibraryObjects()) objects.set(k, b);
  await uploadLibrary(rgw.client("music"), objects);
  const [firstKey, firstBytes] = [...objects].find(([k]) => k.endsWith(".flac"))!;
  await putObjects(rgw.client("other"), [[`lib/${firstKey}`, firstBytes]]);
}, 90_000);

afterAll(async () => {
  await cleanupAll();
  await rgw?.stop();
}, 60_000);

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: rgw.accessKeyId, AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey, AWS_REGION: rgw.region,
    AWS_PROFILE: "", AWS_ENDPOINT_URL: rgw.endpoint, NO_COLOR: "1", MUSICFS_LOG_LEVEL: "info", ...extra,
  };
}

interface Snapshot {
  files: unknown[];
  originsJson: string;
  chunks: string[];
}

/** The library rows (ids, origins, paths, names, manifests), origins.json and a hash of every cached chunk. */
function snapshot(cache: string): Snapshot {
  const db = new Sqlite(join(cache, "metadata.db"), { readonly: true });
  const files = db.query("SELECT id, origin_id, real_path, virtual_path, size, hex(chunk_manifest) AS manifest FROM files ORDER BY id").all();
  db.close();
  const chunks: string[] = [];
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      if (name.startsWith("access.db")) continue; // the LRU ledger, not content
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path, `${rel}${name}/`);
      else chunks.push(`${rel}${name} ${createHash("sha256").update(readFileSync(path)).digest("hex")}`);
    }
  };
  walk(join(cache, "chunks"), "");
  return { files, originsJson: readFileSync(join(cache, "origins.json"), "utf8"), chunks };
}

function cachedFiles(cache: string): { realPath: string; virtualPath: string }[] {
  const db = new Sqlite(join(cache, "metadata.db"), { readonly: true });
  const rows = db.query("SELECT real_path AS realPath, virtual_path AS virtualPath FROM files WHERE chunk_manifest IS NOT NULL").all() as { realPath: string; virtualPath: string }[];
  db.close();
  return rows;
}

/** `musicfs mount` expected to refuse: its exit code and output (a mount that comes up anyway is stopped). */
async function mountRefused(args: string[], environment: Record<string, string>): Promise<{ code: number | "mounted"; output: string }> {
  const mnt = join(tempDir(), "mnt");
  const m = await startMount(mnt, args, { env: environment, waitReady: false });
  for (;;) {
    if (m.proc.exitCode !== null) return { code: m.proc.exitCode, output: m.output() };
    if (/mounted at/.test(m.output())) {
      await m.stop();
      return { code: "mounted", output: m.output() };
    }
    await Bun.sleep(100);
  }
}

function emptyFolder(): string {
  const dir = join(tempDir(), "empty");
  mkdirSync(dir);
  return dir;
}

const tracks = async (mnt: string) => (await findFiles(mnt)).filter((f) => !f.startsWith(".") && !/(^|\/)cover\.(jpg|png|webp)$/.test(f));

describe.skipIf(skip)("a mistyped origin changes nothing", () => {
  const cache = skip ? "" : tempDir();
  let listing: string[] = [];
  let played: { realPath: string; virtualPath: string };

  test("first mount of s3://music/lib; one file played to the end (cached whole)", async () => {
    const mnt = join(tempDir(), "mnt");
    const m = await startMount(mnt, ["-o", "s3://music/lib", "--cache-dir", cache], { env: env() });
    listing = await tracks(mnt);
    expect(listing.length).toBeGreaterThan(3);
    const db = new Sqlite(join(cache, "metadata.db"), { readonly: true });
    const row = db.query("SELECT real_path AS realPath, virtual_path AS virtualPath FROM files ORDER BY size DESC LIMIT 1").get() as { realPath: string; virtualPath: string };
    db.close();
    played = row;
    expect(Buffer.from(readFileSync(join(mnt, row.virtualPath))).equals(Buffer.from(objects.get(row.realPath)!))).toBe(true);
    await eventually(() => cachedFiles(cache), (rows) => rows.some((r) => r.realPath === row.realPath));
    expect(await m.stop()).toBe(0);
  }, 120_000);

  const mistakes: { name: string; origin: () => string; env?: () => Record<string, string>; says: RegExp }[] = [
    { name: "a missing folder", origin: () => join(tempDir(), "Musik"), says: /The origin \S+Musik does not exist\. Nothing was changed: the library keeps its \d+ files of origin "[^"]+" \(s3:\/\/music\/lib\)/ },
    { name: "an empty folder", origin: () => emptyFolder(), says: /The origin \S+empty holds no audio files\. Nothing was changed: the library keeps its \d+ files[\s\S]*--accept-removals/ },
    { name: "a missing bucket", origin: () => "s3://nosuchbucket/lib", says: /Cannot list s3:\/\/nosuchbucket\/lib: the bucket of s3:\/\/nosuchbucket\/lib[^;]* does not exist; check the bucket name[^\n]*\. Nothing was changed/ },
    { name: "a prefix that lists nothing (wrong case)", origin: () => "s3://music/Lib", says: /The origin s3:\/\/music\/Lib holds no audio files\. Nothing was changed/ },
    {
      name: "a bucket with wrong credentials",
      origin: () => "s3://other/lib",
      env: () => ({ AWS_SECRET_ACCESS_KEY: "not-the-secret" }),
      says: /Cannot list s3:\/\/other\/lib: the secret key was rejected[^\n]*\. Nothing was changed/,
    },
  ];

  for (const mistake of mistakes) {
    for (const command of ["scan", "mount"] as const) {
      test(`${command} -o ${mistake.name}: exit 1 naming the origin, library, origins.json and cache untouched`, async () => {
        const before = snapshot(cache);
        const origin = mistake.origin();
        const environment = env(mistake.env?.());
        const args = ["-o", origin, "--cache-dir", cache];
        const r =
          command === "scan"
            ? await (async () => {
                const out = await run(["bun", CLI, "scan", ...args], { env: environment, timeoutMs: 60_000 });
                return { code: out.code as number | "mounted", output: out.stderr + out.stdout };
              })()
            : await mountRefused(args, environment);
        expect(r.output).toMatch(mistake.says);
        expect(r.output).not.toContain("is no longer configured");
        expect(r.code).toBe(1);
        expect(snapshot(cache)).toEqual(before);
      }, 120_000);
    }
  }

  test("afterwards, with the store gone (gateway stopped), a plain mount lists the same library and plays the cached file byte-exact", async () => {
    await rgw.stopGateway();
    try {
      const mnt = join(tempDir(), "mnt");
      const m = await startMount(mnt, ["--cache-dir", cache], { env: env() });
      expect(await tracks(mnt)).toEqual(listing);
      expect(Buffer.from(readFileSync(join(mnt, played.virtualPath))).equals(Buffer.from(objects.get(played.realPath)!))).toBe(true);
      expect(await m.stop()).toBe(0);
    } finally {
      await rgw.startGateway();
    }
  }, 120_000);
});

describe.skipIf(skip)("an origin removed on purpose", () => {
  test("keeps its cached content and takes it back when it returns under another id: plays with the store gone", async () => {
    const cache = tempDir();
    const mnt = join(tempDir(), "mnt");
    const first = await startMount(mnt, ["-o", "s3://music/lib", "--cache-dir", cache], { env: env() });
    const db = new Sqlite(join(cache, "metadata.db"), { readonly: true });
    const row = db.query("SELECT real_path AS realPath, virtual_path AS virtualPath FROM files ORDER BY size DESC LIMIT 1").get() as { realPath: string; virtualPath: string };
    db.close();
    expect(Buffer.from(readFileSync(join(mnt, row.virtualPath))).equals(Buffer.from(objects.get(row.realPath)!))).toBe(true);
    await eventually(() => cachedFiles(cache), (rows) => rows.some((r) => r.realPath === row.realPath));
    expect(await first.stop()).toBe(0);

    const replaced = await startMount(mnt, ["-o", "s3://other/lib", "--cache-dir", cache], { env: env() });
    // The played file, and any the prefetcher fetched after it.
    expect(replaced.output()).toMatch(/is no longer configured: \d+ files of it removed from the library; the cached content of \d+ files? (is|are) kept until evicted/);
    expect(await replaced.stop()).toBe(0);
    expect(cachedFiles(cache)).toEqual([]);

    const configFile = join(tempDir(), "config.toml");
    writeFileSync(configFile, `[[origins]]\nid = "back"\nurl = "s3://music/lib"\n`);
    const back = await startMount(mnt, ["--config", configFile, "--cache-dir", cache], { env: env() });
    await back.waitFor(/Delta sync complete/);
    expect(back.output()).not.toMatch(/Delta sync complete: 0 added/);
    expect(cachedFiles(cache).map((r) => r.realPath)).toContain(row.realPath);
    expect(await back.stop()).toBe(0);

    await rgw.stopGateway();
    try {
      const offline = await startMount(mnt, ["--config", configFile, "--cache-dir", cache], { env: env() });
      const db2 = new Sqlite(join(cache, "metadata.db"), { readonly: true });
      const now = db2.query("SELECT virtual_path AS v FROM files WHERE real_path = ?").get(row.realPath) as { v: string };
      db2.close();
      expect(Buffer.from(readFileSync(join(mnt, now.v))).equals(Buffer.from(objects.get(row.realPath)!))).toBe(true);
      expect(await offline.stop()).toBe(0);
    } finally {
      await rgw.startGateway();
    }
  }, 240_000);
});
