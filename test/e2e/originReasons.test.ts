/**
 * Issue 16, item 4: the mount log says why an S3 origin fails — a rejected key, a missing bucket, throttling — in the
 * words `musicfs scan` uses, once per origin and kind, not once per read. Real mounts of a real Ceph RGW; faults
 * (503 SlowDown) from our proxy between musicfs and RGW.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database as Sqlite } from "bun:sqlite";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupAll, findFiles, run, startMount, tempDir, type Running } from "./harness.ts";
import { rgwSkipReason, startRgw, type RgwCluster } from "../support/cephRgw.ts";
import { sampleLibraryObjects, uploadLibrary } from "../support/sampleObjects.ts";
import { startFaultProxy, type FaultProxy } from "../support/faultProxy.ts";

const skip = rgwSkipReason !== null;
if (skip) console.warn(`skipping origin-reason tests: ${rgwSkipReason}`);

let rgw: RgwCluster;
let proxy: FaultProxy;
const objects = new Map<string, Uint8Array>();

beforeAll(async () => {
  if (skip) return;
  rgw = await startRgw();
  proxy = startFaultProxy({ port: rgw.port });
  for (const [k, b] of await sampleLibraryObjects()) objects.set(k, b);
  for (const bucket of ["reasons", "doomed"]) {
    await rgw.createBucket(bucket);
    await uploadLibrary(rgw.client(bucket), objects);
  }
}, 90_000);

afterAll(async () => {
  await cleanupAll();
  proxy?.stop();
  await rgw?.stop();
}, 60_000);

function env(extra: Record<string, string> = {}): Record<string, string> {
  return rgw.credentialsEnv(extra);
}

function config(bucket: string, endpoint = proxy.endpoint): string {
  const path = join(tempDir(), "config.toml");
  writeFileSync(path, `[cache]\nread_timeout_ms = 1000\n\n[[origins]]\nid = "cloud"\nurl = "s3://${bucket}/lib"\nendpoint = "${endpoint}"\nrequest_timeout_ms = 2000\n`);
  return path;
}

/** A first mount (scan), stopped: the library is stored, no track is cached whole. */
async function library(bucket: string, endpoint?: string, firstEnv: Record<string, string> = {}): Promise<{ cache: string; configFile: string }> {
  const cache = tempDir();
  const configFile = config(bucket, endpoint);
  const m = await startMount(join(tempDir(), "mnt"), ["--config", configFile, "--cache-dir", cache], { env: env(firstEnv) });
  expect(await m.stop()).toBe(0);
  return { cache, configFile };
}

const tracks = async (mnt: string) => (await findFiles(mnt)).filter((f) => /\.(flac|mp3|ogg|opus|m4a)$/.test(f));

/** Reads three tracks to the end with cat: each fails (EIO). */
async function readThreeFailing(m: Running): Promise<void> {
  for (const f of (await tracks(m.mountPoint)).slice(0, 3)) {
    const r = await run(["cat", join(m.mountPoint, f)], { timeoutMs: 60_000 });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("Input/output error");
  }
}

const count = (text: string, pattern: RegExp) => text.match(new RegExp(pattern.source, "g"))?.length ?? 0;

describe.skipIf(skip)("the mount log names why an S3 origin fails, once per origin and kind", () => {
  test("a rejected secret key after a good first mount: the sync and the reads say so, the reads once", async () => {
    const { cache, configFile } = await library("reasons");
    const m = await startMount(join(tempDir(), "mnt"), ["--config", configFile, "--cache-dir", cache], { env: env({ AWS_SECRET_ACCESS_KEY: "a-wrong-secret-key" }) });
    await m.waitFor(/Delta sync: origin s3:\/\/reasons\/lib cannot be listed/);
    await readThreeFailing(m);
    await m.waitFor(/Reads from s3:\/\/reasons\/lib fail/);
    const out = m.output();
    expect(out).toContain("Delta sync: origin s3://reasons/lib cannot be listed: the secret key was rejected by s3://reasons/lib");
    expect(count(out, /Reads from s3:\/\/reasons\/lib fail: /)).toBe(1);
    expect(out).toMatch(/Reads from s3:\/\/reasons\/lib fail: [^\n]*(secret key was rejected|access denied|access key id is unknown)/);
    expect(out).not.toContain("is not reachable");
    expect(out).not.toMatch(/Read of [^\n]* failed/); // no line per read
    expect(out).not.toContain("a-wrong-secret-key");
    expect(await m.stop()).toBe(0);
  }, 180_000);

  test("throttling (503 SlowDown on every object request): the reads say the store is throttling, once", async () => {
    const { cache, configFile } = await library("reasons");
    const m = await startMount(join(tempDir(), "mnt"), ["--config", configFile, "--cache-dir", cache], { env: env() });
    await m.waitFor(/Delta sync complete/);
    proxy.inject("slowdown", 100_000, /^\/reasons\/lib\/[^?]/);
    try {
      await readThreeFailing(m);
    } finally {
      proxy.clearFaults();
    }
    await m.waitFor(/Reads from s3:\/\/reasons\/lib fail/);
    const out = m.output();
    expect(count(out, /Reads from s3:\/\/reasons\/lib fail: /)).toBe(1);
    expect(out).toMatch(/Reads from s3:\/\/reasons\/lib fail: [^\n]*is throttling requests \(SlowDown\)/);
    expect(out).not.toMatch(/Read of [^\n]* failed/);
    expect(await m.stop()).toBe(0);
  }, 180_000);

  test("a bucket deleted after a good first mount: the sync at mount says the bucket does not exist", async () => {
    const { cache, configFile } = await library("doomed");
    const client = rgw.client("doomed");
    for (const key of objects.keys()) await client.delete(`lib/${key}`);
    const del = await run(["curl", "-fsS", "-X", "DELETE", "--aws-sigv4", `aws:amz:${rgw.region}:s3`, "--user", `${rgw.accessKeyId}:${rgw.secretAccessKey}`, "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", `${rgw.endpoint}/doomed`]);
    expect(del.stderr).toBe("");
    const m = await startMount(join(tempDir(), "mnt"), ["--config", configFile, "--cache-dir", cache], { env: env() });
    await m.waitFor(/Delta sync: origin s3:\/\/doomed\/lib cannot be listed/);
    await readThreeFailing(m);
    await m.waitFor(/Reads from s3:\/\/doomed\/lib fail/);
    const out = m.output();
    expect(out).toMatch(/Delta sync: origin s3:\/\/doomed\/lib cannot be listed: the bucket of s3:\/\/doomed\/lib[^;]* does not exist; check the bucket name/);
    expect(count(out, /Reads from s3:\/\/doomed\/lib fail: /)).toBe(1);
    expect(out).not.toMatch(/Read of [^\n]* failed/);
    expect(await m.stop()).toBe(0);
  }, 180_000);

  test.skipIf(!Bun.which("openssl"))("a certificate no longer trusted (the CA bundle gone after a good first mount): the sync and the reads name TLS, the reads once", async () => {
    const pki = tempDir();
    const caFile = join(pki, "ca.pem");
    const made = await run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(pki, "key.pem"), "-out", caFile,
      "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]);
    expect(made.code).toBe(0);
    const tls = startFaultProxy({ port: rgw.port }, { tls: { cert: readFileSync(caFile, "utf8"), key: readFileSync(join(pki, "key.pem"), "utf8") } });
    try {
      const { cache, configFile } = await library("reasons", tls.endpoint, { AWS_CA_BUNDLE: caFile });
      const db = new Sqlite(join(cache, "metadata.db"), { readonly: true });
      expect(Number(db.query("SELECT count(*) FROM files").values()[0][0])).toBeGreaterThan(3); // the first mount worked over TLS
      db.close();
      const m = await startMount(join(tempDir(), "mnt"), ["--config", configFile, "--cache-dir", cache], { env: env() });
      await m.waitFor(/Delta sync: origin s3:\/\/reasons\/lib cannot be listed/);
      await readThreeFailing(m);
      await m.waitFor(/Reads from s3:\/\/reasons\/lib fail/);
      const out = m.output();
      expect(out).toContain(`Delta sync: origin s3://reasons/lib cannot be listed: the TLS certificate of s3://reasons/lib at ${tls.endpoint} is not trusted`);
      expect(count(out, /Reads from s3:\/\/reasons\/lib fail: /)).toBe(1);
      expect(out).toMatch(/Reads from s3:\/\/reasons\/lib fail: the TLS certificate of [^\n]* is not trusted/);
      expect(out).not.toMatch(/Read of [^\n]* failed/);
      expect(await m.stop()).toBe(0);
    } finally {
      tls.stop();
    }
  }, 180_000);
});
