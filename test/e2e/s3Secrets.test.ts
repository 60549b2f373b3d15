/**
 * Issue 11 item 8 on real mounts: S3 keys never leave the places the user put them. A real Ceph RGW, behind our
 * proxy (plain, and TLS with a certificate of our own CA made with openssl). Every musicfs run here logs at trace
 * level; its output, `musicfs status`, every file of the cache dir and /proc/PID/{cmdline,environ} of each musicfs
 * process are searched for the secret, the session token and the access key id.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CLI, cleanupAll, findFiles, run, startMount, tempDir, type Running } from "./harness.ts";
import { rgwSkipReason, startRgw, type RgwCluster } from "../support/cephRgw.ts";
import { sampleLibraryObjects, uploadLibrary } from "../support/sampleObjects.ts";
import { startFaultProxy, type FaultProxy } from "../support/faultProxy.ts";

const skip = rgwSkipReason !== null || !Bun.which("openssl");
if (skip) console.warn(`skipping S3 secrets tests: ${rgwSkipReason ?? "openssl is not installed"}`);

const BUCKET = "secrets";
const TOKEN = "FAKE-SESSION-TOKEN-5e1f0c";
let rgw: RgwCluster;
let plain: FaultProxy;
let tls: FaultProxy;
let caFile = "";
let objectCount = 0;

beforeAll(async () => {
  if (skip) return;
  rgw = await startRgw();
  plain = startFaultProxy({ port: rgw.port });
  await rgw.createBucket(BUCKET);
  const files = [...(await sampleLibraryObjects())].slice(0, 6);
  objectCount = files.length;
  await uploadLibrary(rgw.client(BUCKET), files);
  const pki = tempDir();
  caFile = join(pki, "ca.pem");
  const made = await run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(pki, "key.pem"), "-out", caFile,
    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]);
  if (made.code !== 0) throw new Error(`openssl failed: ${made.stderr}`);
  tls = startFaultProxy({ port: rgw.port }, { tls: { cert: readFileSync(caFile, "utf8"), key: readFileSync(join(pki, "key.pem"), "utf8") } });
}, 60_000);

afterAll(async () => {
  await cleanupAll();
  plain?.stop();
  tls?.stop();
  await rgw?.stop();
});

/** What must never show: the secret, the session token, the access key id. */
function secrets(): string[] {
  return [rgw.secretAccessKey, TOKEN, rgw.accessKeyId];
}

function expectNoSecret(where: string, text: string): void {
  for (const s of secrets()) if (text.includes(s)) throw new Error(`${where} contains a credential (${s.slice(0, 4)}…):\n${text.slice(0, 2000)}`);
}

/** A clean environment: trace logging, a HOME without ~/.aws, no AWS_* of the test machine. */
function baseEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = { MUSICFS_LOG_LEVEL: "trace", HOME: tempDir(), AWS_REGION: rgw.region };
  for (const k of Object.keys(process.env)) if (k.startsWith("AWS_")) env[k] = "";
  return { ...env, ...extra };
}

function keysEnv(secret = rgw.secretAccessKey, token?: string): Record<string, string> {
  return baseEnv({ AWS_ACCESS_KEY_ID: rgw.accessKeyId, AWS_SECRET_ACCESS_KEY: secret, ...(token ? { AWS_SESSION_TOKEN: token } : {}) });
}

function config(endpoint: string, extra = "", bucket = BUCKET): string {
  const path = join(tempDir(), "config.toml");
  writeFileSync(path, `[[origins]]\nid = "cloud"\nurl = "s3://${bucket}/lib"\nendpoint = "${endpoint}"\nrequest_timeout_ms = 2000\n${extra}`);
  return path;
}

/** The tracks of a mounted tree (not the special dirs, not the album folders' cover files). */
async function tracks(mnt: string): Promise<string[]> {
  return (await findFiles(mnt)).filter((f) => !f.startsWith(".") && !/(^|\/)cover\.(jpg|png|webp)$/.test(f));
}

/** Every file below a dir (databases, WAL files, chunks, status.json, origins.json, the CA bundle…). */
function allFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    const s = statSync(p);
    return s.isDirectory() ? allFiles(p) : s.isFile() ? [p] : [];
  });
}

/** The musicfs processes of a mount: the one started, and the one it started again for the CA bundle. */
async function musicfsPids(m: Running): Promise<number[]> {
  const children = await run(["pgrep", "-P", String(m.proc.pid)]);
  return [m.proc.pid, ...children.stdout.split("\n").filter(Boolean).map(Number)];
}

describe.skipIf(skip)("S3 credentials stay secret", () => {
  test("a mount over HTTPS (ca_file) with a credentials_file others can read: a warning with the chmod; the keys in no log line, status, cache file, command line or environment", async () => {
    const creds = join(tempDir(), "s3-credentials");
    writeFileSync(creds, `[default]\naws_access_key_id = ${rgw.accessKeyId}\naws_secret_access_key = ${rgw.secretAccessKey}\n`);
    chmodSync(creds, 0o644);
    const cache = join(tempDir(), "fresh", "cache"); // created by musicfs
    const cfg = config(tls.endpoint, `ca_file = "${caFile}"\ncredentials_file = "${creds}"\n`);
    const mnt = join(tempDir(), "mnt");
    const m = await startMount(mnt, ["--config", cfg, "--cache-dir", cache], { env: baseEnv() });
    expect(m.output()).toContain(`The file ${creds} holds S3 secrets and can be read by other users of this machine: run \`chmod 600 ${creds}\``);
    const files = await tracks(mnt);
    expect(files.length).toBe(objectCount);
    for (const f of files) expect((await run(["cat", join(mnt, f)])).code).toBe(0); // fetched over HTTPS into the cache
    expect(statSync(cache).mode & 0o777).toBe(0o700);

    const pids = await musicfsPids(m);
    expect(pids.length).toBe(2); // ca_file: the command ran itself again with the CA bundle
    for (const pid of pids) {
      expectNoSecret(`/proc/${pid}/cmdline`, readFileSync(`/proc/${pid}/cmdline`, "latin1"));
      const environ = readFileSync(`/proc/${pid}/environ`, "latin1");
      expectNoSecret(`/proc/${pid}/environ`, environ);
      expect(environ).not.toMatch(/(^|\0)AWS_SECRET_ACCESS_KEY=[^\0]/); // nothing the user did not pass
    }
    const status = await run(["bun", CLI, "status", "--cache-dir", cache], { env: baseEnv() });
    const statusJson = await run(["bun", CLI, "status", "--json", "--cache-dir", cache], { env: baseEnv() });
    expect(status.stdout).toContain("s3://secrets/lib");
    expect(JSON.parse(statusJson.stdout)).toBeTruthy();
    expectNoSecret("musicfs status", status.stdout + status.stderr + statusJson.stdout + statusJson.stderr);
    expect(await m.stop()).toBe(0);
    expect(m.output()).toContain("[debug]"); // trace level (the most talkative) was really on: debug lines show
    expectNoSecret("the mount's output", m.output());
    const stored = allFiles(cache);
    for (const name of ["metadata.db", "origins.json", "status.json", "access.db"])
      expect(stored.some((p) => p.endsWith(`/${name}`))).toBe(true);
    for (const p of stored) expectNoSecret(p, readFileSync(p).toString("latin1"));
  }, 120_000);

  test("failures name the bucket and endpoint and never a key: wrong secret (with a session token), missing bucket, endpoint unreachable, untrusted certificate", async () => {
    const closed = startFaultProxy({ port: rgw.port });
    const deadEndpoint = closed.endpoint;
    closed.stop();
    const cases: { name: string; args: string[]; env: Record<string, string>; says: string[] }[] = [
      { name: "wrong secret", args: ["--config", config(plain.endpoint)], env: keysEnv("wrong-secret-for-the-test", TOKEN), says: ["s3://secrets/lib"] },
      { name: "missing bucket", args: ["--config", config(plain.endpoint, "", "nobucket")], env: keysEnv(), says: ["s3://nobucket/lib", "does not exist"] },
      { name: "unreachable", args: ["--config", config(deadEndpoint)], env: keysEnv(), says: ["s3://secrets/lib", deadEndpoint, "not reachable"] },
      { name: "untrusted TLS", args: ["--config", config(tls.endpoint)], env: keysEnv(), says: [tls.endpoint, "is not trusted", "ca_file", "AWS_CA_BUNDLE"] },
    ];
    for (const c of cases) {
      const r = await run(["bun", CLI, "scan", ...c.args, "--cache-dir", tempDir()], { env: c.env, timeoutMs: 60_000 });
      const out = r.stdout + r.stderr;
      expect({ case: c.name, failed: r.code !== 0 }).toEqual({ case: c.name, failed: true });
      for (const s of c.says) expect({ case: c.name, says: out.includes(s) }).toEqual({ case: c.name, says: true });
      expect(out).not.toMatch(/\n\s+at /); // one message, no stack trace
      expectNoSecret(c.name, out);
    }
  }, 120_000);

  test("an HTTPS endpoint with a private CA: the mount fails naming the endpoint and the CA option; AWS_CA_BUNDLE makes it work", async () => {
    const refused = await startMount(join(tempDir(), "mnt"), ["--config", config(tls.endpoint), "--cache-dir", tempDir()], { env: keysEnv(), waitReady: false });
    const code = await refused.proc.exited;
    const out = refused.output();
    expect(code).not.toBe(0);
    expect(out).toContain(`the TLS certificate of s3://secrets/lib at ${tls.endpoint} is not trusted`);
    expect(out).toContain("ca_file");
    expectNoSecret("the refused mount", out);

    const mnt = join(tempDir(), "mnt");
    const m = await startMount(mnt, ["--config", config(tls.endpoint), "--cache-dir", tempDir()], { env: { ...keysEnv(), AWS_CA_BUNDLE: caFile } });
    const files = await tracks(mnt);
    expect(files.length).toBe(objectCount);
    expect((await run(["cat", join(mnt, files[0])])).code).toBe(0);
    expect(await musicfsPids(m)).toHaveLength(2); // run again with the bundle
    expect(await m.stop()).toBe(0);
    expectNoSecret("the mount", m.output());

    // A machine that already trusts the bundle (NODE_EXTRA_CA_CERTS names the same file): no second process.
    const mnt2 = join(tempDir(), "mnt");
    const one = await startMount(mnt2, ["--config", config(tls.endpoint), "--cache-dir", tempDir()], {
      env: { ...keysEnv(), AWS_CA_BUNDLE: caFile, NODE_EXTRA_CA_CERTS: caFile },
    });
    expect((await tracks(mnt2)).length).toBe(objectCount);
    expect(await musicfsPids(one)).toHaveLength(1);
    expect(await one.stop()).toBe(0);
  }, 120_000);

  test("--origin s3://KEY:SECRET@bucket is refused without repeating the keys", async () => {
    const url = `s3://${rgw.accessKeyId}:${rgw.secretAccessKey}@${BUCKET}/lib`;
    const r = await run(["bun", CLI, "scan", "--origin", url, "--cache-dir", tempDir()], { env: keysEnv() });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`"s3://…@${BUCKET}/lib" holds credentials`);
    expect(r.stderr).toContain("AWS_SECRET_ACCESS_KEY");
    expectNoSecret("the refusal", r.stdout + r.stderr);
  }, 60_000);

  test("a cache dir open to other users is narrowed to 0700 with a warning", async () => {
    const cache = join(tempDir(), "cache");
    mkdirSync(cache);
    chmodSync(cache, 0o755);
    const r = await run(["bun", CLI, "scan", "--config", config(plain.endpoint), "--cache-dir", cache], { env: keysEnv() });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`The cache dir ${cache} was open to other users (mode 755)`);
    expect(statSync(cache).mode & 0o777).toBe(0o700);
    expectNoSecret("the scan", r.stdout + r.stderr);
  }, 60_000);
});
