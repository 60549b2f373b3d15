/**
 * Issue 16, item 6: the small ones, each through the real CLI — `cache stats` reads the cache dir without S3
 * credentials; `status -d /nonexistent` is an error like the cache commands; `musicfs unmount` is logged as a
 * requested unmount (a foreign one still as from outside); an S3 key ending in "/" that holds data is named in the
 * scan summary; `path = "s3://…"` is refused pointing at `url =`; kill -9 of a process that relaunched itself to
 * trust a CA bundle does not leave the relaunched one serving.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeFlac } from "../../src/sample/flacWriter.ts";
import { renderMelody } from "../../src/sample/tone.ts";
import { CLI, cleanupAll, findFiles, run, startMount, tempDir } from "./harness.ts";
import { putObjects, rgwSkipReason, startRgw, type RgwCluster } from "../support/cephRgw.ts";
import { eventually } from "../support/eventually.ts";

afterAll(cleanupAll, 60_000);

function track(i: number): Uint8Array {
  return writeFlac({ artists: ["Moss"], album: "Green", year: 2011, title: `T${i}`, track: i }, renderMelody({ seed: i, seconds: 0.3, sampleRate: 22050, channelCount: 1 }));
}

function localOrigin(): string {
  const dir = tempDir();
  for (const i of [1, 2]) writeFileSync(join(dir, `${i}.flac`), track(i));
  return dir;
}

const plain = { NO_COLOR: "1", MUSICFS_LOG_LEVEL: "info" };

describe("without a store", () => {
  test("status -d on a cache dir that does not exist exits 1 naming it, like the cache commands", async () => {
    const missing = join(tempDir(), "nonexistent");
    const status = await run(["bun", CLI, "status", "-d", missing], { env: plain });
    const stats = await run(["bun", CLI, "cache", "stats", "-d", missing], { env: plain });
    expect(stats.code).toBe(1);
    expect(status.code).toBe(1);
    expect(status.stderr).toContain(`The cache dir ${missing} does not exist.`);
  }, 30_000);

  test('path = "s3://…" in an [[origins]] table is refused: S3 origins use `url =`', async () => {
    const configFile = join(tempDir(), "config.toml");
    writeFileSync(configFile, `[[origins]]\npath = "s3://bucket/x"\n`);
    const r = await run(["bun", CLI, "scan", "--config", configFile, "--cache-dir", tempDir()], { env: plain });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("S3 origins use `url =`");
    expect(r.stderr).toContain('url = "s3://bucket/x"');
  }, 30_000);

  test("`musicfs unmount` is logged as a requested unmount; a foreign umount still as one from outside", async () => {
    const origin = localOrigin();
    const mnt = join(tempDir(), "mnt");
    const m = await startMount(mnt, ["-o", origin, "--cache-dir", tempDir()]);
    expect((await run(["bun", CLI, "unmount", mnt], { env: plain })).code).toBe(0);
    expect(await m.proc.exited).toBe(0);
    expect(m.output()).toContain("Ordered shutdown (unmount requested by `musicfs unmount`)");
    expect(m.output()).not.toContain("unmounted-externally");

    const other = await startMount(mnt, ["-o", origin, "--cache-dir", tempDir()]);
    expect((await run(["fusermount3", "-u", mnt])).code).toBe(0);
    expect(await other.proc.exited).toBe(0);
    expect(other.output()).toContain("Ordered shutdown (mount ended (unmounted-externally))");
  }, 60_000);
});

const skip = rgwSkipReason !== null || !Bun.which("openssl");
if (skip) console.warn(`skipping the S3 small-fix tests: ${rgwSkipReason ?? "openssl is not installed"}`);

describe.skipIf(skip)("with an S3 store (Ceph RGW)", () => {
  let rgw: RgwCluster;
  const env = (extra: Record<string, string> = {}) => ({
    AWS_ACCESS_KEY_ID: rgw.accessKeyId, AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey, AWS_REGION: rgw.region,
    AWS_PROFILE: "", AWS_ENDPOINT_URL: rgw.endpoint, ...plain, ...extra,
  });

  test("start RGW with a bucket of two tracks and an object whose key ends in \"/\" holding 32 KB", async () => {
    rgw = await startRgw();
    await rgw.createBucket("small");
    await putObjects(rgw.client("small"), [["lib/a/1.flac", track(1)], ["lib/a/2.flac", track(2)]]);
    // Bun's S3 client drops a key's trailing "/": a signed PUT with curl keeps it (as consoles and other tools do).
    const body = join(tempDir(), "odd");
    writeFileSync(body, new Uint8Array(32 * 1024).fill(7));
    const put = await run(["curl", "-fsS", "-X", "PUT", "--aws-sigv4", `aws:amz:${rgw.region}:s3`, "--user", `${rgw.accessKeyId}:${rgw.secretAccessKey}`,
      "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", "--data-binary", `@${body}`, `${rgw.endpoint}/small/lib/Odd/`]);
    expect(put.stderr).toBe("");
    expect((await rgw.client("small").list({ prefix: "lib/" })).contents?.map((o) => o.key)).toContain("lib/Odd/");
  }, 90_000);

  test('a scan names the object whose key ends in "/" and counts it in the summary (not silently skipped)', async () => {
    const r = await run(["bun", CLI, "scan", "-o", "s3://small/lib", "--cache-dir", tempDir()], { env: env() });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('Object "Odd/" of s3://small/lib skipped: its key ends in "/" (a folder\'s name) but it holds 32768 bytes');
    expect(r.stderr).toMatch(/Scan complete: 2 files parsed[^\n]*1 object with a key ending in "\/" skipped/);
  }, 60_000);

  test("cache stats reads an S3 library's cache dir without any S3 credentials", async () => {
    const cache = tempDir();
    const mnt = join(tempDir(), "mnt");
    const m = await startMount(mnt, ["-o", "s3://small/lib", "--cache-dir", cache], { env: env() });
    for (const f of (await findFiles(mnt)).filter((f) => f.endsWith(".flac"))) readFileSync(join(mnt, f));
    expect(await m.stop()).toBe(0);
    const home = tempDir(); // no ~/.aws there
    const noKeys = { ...plain, HOME: home, AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "", AWS_SESSION_TOKEN: "", AWS_PROFILE: "", AWS_SHARED_CREDENTIALS_FILE: join(home, "none"), AWS_CONFIG_FILE: join(home, "none") };
    const r = await run(["bun", CLI, "cache", "stats", "--cache-dir", cache], { env: noKeys });
    expect(r.stderr).not.toContain("No S3 credentials");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/cached files\s+2/);
  }, 90_000);

  test("kill -9 of a mount that relaunched itself to trust AWS_CA_BUNDLE: the relaunched process shuts down and unmounts", async () => {
    const pki = tempDir();
    const caFile = join(pki, "ca.pem");
    const made = await run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(pki, "key.pem"), "-out", caFile, "-days", "2", "-subj", "/CN=musicfs-test"]);
    expect(made.code).toBe(0);
    const mnt = join(tempDir(), "mnt");
    const m = await startMount(mnt, ["-o", "s3://small/lib", "--cache-dir", tempDir()], { env: env({ AWS_CA_BUNDLE: caFile }) });
    const first = m.proc.pid;
    const child = childrenOf(first).find((pid) => readFileSync(`/proc/${pid}/environ`, "latin1").includes("MUSICFS_CA_BUNDLE="));
    expect(child).toBeDefined();
    expect(mounted(mnt)).toBe(true);
    try {
      process.kill(first, "SIGKILL");
      await eventually(() => alive(child!), (a) => !a, 60_000);
      await eventually(() => mounted(mnt), (x) => !x, 30_000);
    } finally {
      if (alive(child!)) process.kill(child!, "SIGTERM"); // stopped by PID even when the test fails
    }
  }, 120_000);

  test("stop RGW", async () => {
    await rgw.stop();
  }, 60_000);
});

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

function mounted(mnt: string): boolean {
  return readFileSync("/proc/mounts", "utf8").split("\n").some((l) => l.split(" ")[1] === mnt);
}
