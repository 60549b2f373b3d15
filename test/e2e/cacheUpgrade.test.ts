/**
 * Issue 17 item 6 on a real S3 server (Ceph RGW, through the fault proxy that counts requests): a cache dir of the
 * chunk layout (complete files as chunk files + manifests, before data files) keeps serving after the upgrade —
 * every completely cached file (and album cover) gets its data file from the chunks on disk and not one GET is sent
 * for it — and a
 * complete file is then served by the kernel (FUSE passthrough: no READ reaches musicfs) where it can be.
 * And a cache dir whose manifests have SHA-256 chunk ids (algorithm 1, written before keyed XXH3 ids) keeps serving
 * with zero GETs, mixed with new manifests; `cache verify` counts both and still finds their damaged data files.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database as Sqlite } from "bun:sqlite";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { chunkPath } from "../../src/cas/chunkPaths.ts";
import { dataFilePath } from "../../src/cas/dataFilePaths.ts";
import { buildManifest, decodeManifest, encodeManifest, manifestChunkHex } from "../../src/cas/manifestCodec.ts";
import { KEYED_XXH3_ALGORITHM_ID, SHA256_ALGORITHM_ID, sha256ChunkId } from "../../src/cas/chunkHash.ts";
import { CLI, cleanupAll, findFiles, isCoverFile, run, startMount, tempDir } from "./harness.ts";
import { gradientPng } from "../../src/sample/tinyImages.ts";
import { rgwSkipReason, startRgw, type RgwCluster } from "../support/cephRgw.ts";
import { sampleLibraryObjects, uploadLibrary } from "../support/sampleObjects.ts";
import { startFaultProxy, type FaultProxy } from "../support/faultProxy.ts";
import { eventually } from "../support/eventually.ts";
import { dropPagesOf } from "../support/pageCache.ts";
import { asContentId } from "../../src/core/ids.ts";

const skip = rgwSkipReason !== null;
const BUCKET = "upgrade";
let rgw: RgwCluster;
let proxy: FaultProxy;
const objects = new Map<string, Uint8Array>();
const FOLDER_IMAGE = gradientPng(0x336699, 8).data;
const sha = (b: Uint8Array) => new Bun.CryptoHasher("sha256").update(b).digest("hex");

beforeAll(async () => {
  if (skip) return;
  rgw = await startRgw();
  proxy = startFaultProxy({ port: rgw.port });
  await rgw.createBucket(BUCKET);
  for (const [k, b] of await sampleLibraryObjects()) objects.set(k, b);
  // A folder image beside one album's tracks: that album's cover, cached like a file (a negative content id).
  const folder = `${dirname([...objects.keys()][0])}/folder.png`;
  await uploadLibrary(rgw.client(BUCKET), objects, { extra: [[`lib/${folder}`, FOLDER_IMAGE]] });
}, 60_000);

afterAll(async () => {
  await cleanupAll();
  proxy?.stop();
  await rgw?.stop();
});

function env(): Record<string, string> {
  return rgw.credentialsEnv();
}

interface CachedRow { id: number; real: string; virtual: string; manifest: Uint8Array | null }

function rows(cache: string): CachedRow[] {
  const db = new Sqlite(join(cache, "metadata.db"), { readonly: true });
  const out = db.query("SELECT id, real_path, virtual_path, chunk_manifest FROM files").values() as [number, string, string, Uint8Array | null][];
  db.close();
  return out.map(([id, real, virtual, manifest]) => ({ id, real, virtual, manifest }));
}

/** Folder images with a manifest, as content ids (negative) and rows like files'. */
function imageRows(cache: string): CachedRow[] {
  const db = new Sqlite(join(cache, "metadata.db"), { readonly: true });
  const out = db.query("SELECT id, real_path, chunk_manifest FROM folder_images WHERE chunk_manifest IS NOT NULL").values() as [number, string, Uint8Array][];
  db.close();
  return out.map(([id, real, manifest]) => ({ id: -id, real, virtual: "", manifest }));
}

function dataFileOf(cache: string, r: CachedRow): string {
  const m = decodeManifest(r.manifest!);
  return dataFilePath(join(cache, "data"), asContentId(r.id), m.originSize, m.originMtimeMs);
}

/**
 * Turns a cache dir into the layout musicfs wrote before data files: each complete file's bytes as chunk files
 * (`chunks/<hh>/<hh>/<id>`, cut where its manifest says), no data files, no data_files table. Exactly what
 * that version left on disk (the ledger rows of the chunks are rebuilt from the files at start, as they were then).
 */
function toChunkLayout(cache: string): number {
  let chunks = 0;
  for (const r of [...rows(cache).filter((x) => x.manifest), ...imageRows(cache)]) {
    const m = decodeManifest(r.manifest!);
    const bytes = readFileSync(dataFileOf(cache, r));
    for (let i = 0; i < m.chunkCount; i++) {
      const path = chunkPath(join(cache, "chunks"), manifestChunkHex(m, i));
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, bytes.subarray(m.offsets[i], m.offsets[i + 1]));
      chunks++;
    }
  }
  renameSync(join(cache, "data"), join(cache, "data-removed"));
  const access = new Sqlite(join(cache, "chunks", "access.db"));
  access.exec("DROP TABLE IF EXISTS data_files");
  access.close();
  return chunks;
}

/**
 * Rewrites the manifests of the files `which` picks as a musicfs before keyed XXH3 ids wrote them: algorithm 1
 * (SHA-256 of each chunk, from the data file), the same boundaries and read checksums; with `v1`, also without read
 * checksums (format 1, as the oldest caches have them: their data files are checked by SHA-256).
 */
function toSha256Manifests(cache: string, which: (r: CachedRow, i: number) => boolean, v1: (r: CachedRow) => boolean): CachedRow[] {
  const db = new Sqlite(join(cache, "metadata.db"));
  const changed: CachedRow[] = [];
  [...rows(cache).filter((x) => x.manifest), ...imageRows(cache)].forEach((r, i) => {
    if (!which(r, i)) return;
    const m = decodeManifest(r.manifest!);
    expect(m.algorithm).toBe(KEYED_XXH3_ALGORITHM_ID);
    const bytes = new Uint8Array(readFileSync(dataFileOf(cache, r)));
    const chunks = Array.from({ length: m.chunkCount }, (_, k) => ({
      id: sha256ChunkId(bytes.subarray(m.offsets[k], m.offsets[k + 1])),
      length: m.offsets[k + 1] - m.offsets[k],
      checksum: v1(r) ? undefined : m.checksums![k],
    }));
    const old = encodeManifest(buildManifest(chunks, m.originSize, m.originMtimeMs));
    if (r.id > 0) db.query("UPDATE files SET chunk_manifest = ? WHERE id = ?").run(old, r.id);
    else db.query("UPDATE folder_images SET chunk_manifest = ? WHERE id = ?").run(old, -r.id);
    changed.push({ ...r, manifest: old });
  });
  db.close();
  return changed;
}

function flipByte(path: string, at: number): void {
  const b = new Uint8Array(readFileSync(path));
  b[at] ^= 0xff;
  writeFileSync(path, b);
}

async function cat(path: string): Promise<Uint8Array> {
  const proc = Bun.spawn(["cat", path], { stdout: "pipe", stderr: "pipe" });
  const [out, code] = await Promise.all([new Response(proc.stdout).arrayBuffer(), proc.exited]);
  expect(code).toBe(0);
  return new Uint8Array(out);
}

describe.skipIf(skip)("upgrade of a chunk-layout cache dir", () => {
  test("every completely cached file gets its data file from the chunks: zero GETs, byte-exact, then served by the kernel", async () => {
    const cache = tempDir();
    const cfgPath = join(tempDir(), "config.toml");
    writeFileSync(cfgPath, `[[origins]]\nid = "cloud"\nurl = "s3://${BUCKET}/lib"\nendpoint = "${proxy.endpoint}"\nrequest_timeout_ms = 2000\n`);
    const mnt = join(tempDir(), "mnt");
    let m = await startMount(mnt, ["--config", cfgPath, "--cache-dir", cache], { env: env() });
    const placed = new Map(rows(cache).map((r) => [r.real, r.virtual]));
    for (const [key, bytes] of objects) expect(sha(await cat(join(mnt, placed.get(key)!)))).toBe(sha(bytes));
    const covers = (await findFiles(mnt)).filter(isCoverFile);
    const coverBytes = new Map<string, string>();
    for (const c of covers) coverBytes.set(c, sha(await cat(join(mnt, c))));
    expect([...coverBytes.values()]).toContain(sha(FOLDER_IMAGE));
    await eventually(() => rows(cache).filter((r) => r.manifest && existsSync(dataFileOf(cache, r))).length, (n) => n === objects.size, 60_000);
    await eventually(() => imageRows(cache).filter((r) => existsSync(dataFileOf(cache, r))).length, (n) => n === 1, 60_000);
    expect(await m.stop()).toBe(0);

    // The chunk layout predates keyed XXH3 ids: its manifests and chunk files have SHA-256 ids (64 hex names).
    toSha256Manifests(cache, () => true, () => false);
    const chunks = toChunkLayout(cache);
    expect(chunks).toBeGreaterThan(objects.size);

    const gets = () => proxy.requests.filter((r) => r.method === "GET" && !r.path.includes("list-type")).length;
    const before = gets();
    m = await startMount(mnt, ["--config", cfgPath, "--cache-dir", cache], { env: { ...env(), MUSICFS_LOG_LEVEL: "debug" } });
    // Served during the upgrade as after it: the chunks answer until the data file is there.
    for (const [key, bytes] of objects) expect(sha(await cat(join(mnt, placed.get(key)!)))).toBe(sha(bytes));
    for (const [c, digest] of coverBytes) expect(sha(await cat(join(mnt, c)))).toBe(digest);
    await eventually(() => rows(cache).filter((r) => r.manifest && existsSync(dataFileOf(cache, r))).length, (n) => n === objects.size, 60_000);
    await eventually(() => m.output(), (o) => o.includes("now served from data files"), 60_000);
    expect(imageRows(cache).every((r) => existsSync(dataFileOf(cache, r)))).toBe(true);
    // The chunks went once every file had its data file.
    const left = [...rows(cache).filter((r) => r.manifest), ...imageRows(cache)].flatMap((r) => {
      const man = decodeManifest(r.manifest!);
      return Array.from({ length: man.chunkCount }, (_, i) => chunkPath(join(cache, "chunks"), manifestChunkHex(man, i)));
    }).filter((p) => existsSync(p));
    expect(left).toEqual([]);
    expect(gets() - before).toBe(0);
    expect(await m.stop()).toBe(0);

    // A mount of the upgraded cache dir, the data files' pages dropped: every file is read from its data file on disk,
    // by the kernel itself where FUSE passthrough works (root, Linux ≥ 6.9): then no READ reaches musicfs at all. A new
    // mount starts with an empty page cache of its own; only the data files' pages are dropped, not the machine's
    // (other shards count what the kernel's caches answer).
    m = await startMount(mnt, ["--config", cfgPath, "--cache-dir", cache], { env: { ...env(), MUSICFS_LOG_LEVEL: "debug" } });
    await dropPagesOf(...[...rows(cache).filter((r) => r.manifest), ...imageRows(cache)].map((r) => dataFileOf(cache, r)));
    for (const [key, bytes] of objects) expect(sha(await cat(join(mnt, placed.get(key)!)))).toBe(sha(bytes));
    for (const [c, digest] of coverBytes) expect(sha(await cat(join(mnt, c)))).toBe(digest);
    expect(gets() - before).toBe(0);
    expect(await m.stop()).toBe(0);
    const served = /FUSE requests served: (\{.*\})/.exec(m.output());
    expect(served).not.toBeNull();
    const counts = JSON.parse(served![1]) as Record<string, number>;
    expect(counts.OPEN).toBeGreaterThanOrEqual(objects.size);
    // Tracks: passthrough. Album covers are answered by the worker from their data file (a cover file has no handle
    // of its own: its bytes may be a range of a track), one READ each for these small images.
    if (process.getuid?.() === 0 && passthroughKernel()) expect(counts.READ ?? 0).toBeLessThanOrEqual(covers.length);
  }, 240_000);
});

describe.skipIf(skip)("a cache dir of SHA-256 chunk ids (algorithm 1), mixed with new ones", () => {
  test("serves byte-exact with zero GETs; cache verify counts both algorithms and finds damaged data files of both", async () => {
    const cache = tempDir();
    const cfgPath = join(tempDir(), "config.toml");
    writeFileSync(cfgPath, `[[origins]]\nid = "cloud"\nurl = "s3://${BUCKET}/lib"\nendpoint = "${proxy.endpoint}"\nrequest_timeout_ms = 2000\n`);
    const args = ["--config", cfgPath, "--cache-dir", cache];
    const mnt = join(tempDir(), "mnt");
    let m = await startMount(mnt, args, { env: env() });
    const placed = new Map(rows(cache).map((r) => [r.real, r.virtual]));
    for (const [key, bytes] of objects) expect(sha(await cat(join(mnt, placed.get(key)!)))).toBe(sha(bytes));
    const covers = (await findFiles(mnt)).filter(isCoverFile);
    const coverBytes = new Map<string, string>();
    for (const c of covers) coverBytes.set(c, sha(await cat(join(mnt, c))));
    await eventually(() => rows(cache).filter((r) => r.manifest && existsSync(dataFileOf(cache, r))).length, (n) => n === objects.size, 60_000);
    await eventually(() => imageRows(cache).filter((r) => existsSync(dataFileOf(cache, r))).length, (n) => n === 1, 60_000);
    expect(await m.stop()).toBe(0);

    // Every other file (and the cover) as an older musicfs left it: SHA-256 ids; the first of them without checksums.
    let firstOld: number | undefined;
    const old = toSha256Manifests(cache, (r, i) => i % 2 === 0 || r.id < 0, (r) => (firstOld ??= r.id) === r.id);
    const all = rows(cache).filter((r) => r.manifest).length + imageRows(cache).length;
    expect(old.length).toBeGreaterThan(1);
    expect(old.length).toBeLessThan(all);

    const gets = () => proxy.requests.filter((r) => r.method === "GET" && !r.path.includes("list-type")).length;
    const before = gets();
    m = await startMount(mnt, args, { env: env() });
    await dropPagesOf(...[...rows(cache).filter((r) => r.manifest), ...imageRows(cache)].map((r) => dataFileOf(cache, r)));
    for (const [key, bytes] of objects) expect(sha(await cat(join(mnt, placed.get(key)!)))).toBe(sha(bytes));
    for (const [c, digest] of coverBytes) expect(sha(await cat(join(mnt, c)))).toBe(digest);
    expect(gets() - before).toBe(0);
    expect(await m.stop()).toBe(0);
    // Nothing was fetched or rewritten: the old manifests are still the old ones.
    const stillOld = [...rows(cache), ...imageRows(cache)].filter((r) => r.manifest && decodeManifest(r.manifest).algorithm === SHA256_ALGORITHM_ID);
    expect(stillOld.length).toBe(old.length);

    // A byte of two old files' data files goes bad: the one without checksums (found by SHA-256), one with them;
    // and one of the album cover's (covers are cached and served from data files like tracks).
    const noSums = old.find((r) => r.id === firstOld)!;
    const withSums = old.find((r) => r.id !== firstOld && r.id > 0)!;
    const cover = imageRows(cache)[0];
    expect(decodeManifest(noSums.manifest!).checksums).toBeNull();
    for (const r of [noSums, withSums, cover]) flipByte(dataFileOf(cache, r), Math.floor(decodeManifest(r.manifest!).originSize / 2));
    const verify = await run(["bun", CLI, "cache", "verify", "--json", ...args], { env: env(), timeoutMs: 120_000 });
    expect(verify.code).toBe(0);
    const report = JSON.parse(verify.stdout) as {
      dataFilesChecked: number; dataFilesDamaged: number; filesRepaired: number; filesUnrepaired: unknown[];
      manifestsByAlgorithm: { sha256: number; keyedXxh3: number };
    };
    // Files and the album cover: every manifest counted, every data file checked, the three damaged ones repaired.
    expect(report.manifestsByAlgorithm).toEqual({ sha256: old.length, keyedXxh3: all - old.length });
    expect(report.dataFilesChecked).toBe(all);
    expect(report.dataFilesDamaged).toBe(3);
    expect(report.filesRepaired).toBe(3);
    expect(report.filesUnrepaired).toEqual([]);

    // Repaired from the origin (their chunks only): every file byte-exact again, from data files, with no GET.
    const afterRepair = gets();
    m = await startMount(mnt, args, { env: env() });
    for (const [key, bytes] of objects) expect(sha(await cat(join(mnt, placed.get(key)!)))).toBe(sha(bytes));
    for (const [c, digest] of coverBytes) expect(sha(await cat(join(mnt, c)))).toBe(digest);
    for (const r of [noSums, withSums, cover]) expect(existsSync(dataFileOf(cache, r))).toBe(true);
    expect(gets() - afterRepair).toBe(0);
    expect(await m.stop()).toBe(0);
  }, 240_000);
});

/** Linux ≥ 6.9 has FUSE passthrough. */
function passthroughKernel(): boolean {
  const [major, minor] = readFileSync("/proc/sys/kernel/osrelease", "utf8").split(".").map(Number);
  return major > 6 || (major === 6 && minor >= 9);
}
