/**
 * A single-node Ceph cluster with the RADOS Gateway (a real S3 server) for tests: one monitor, one OSD whose
 * objects live in RAM (memstore), radosgw with the beast frontend, all on free loopback ports in a temp dir.
 * Installs nothing: `bun run setup` installs ceph-mon, ceph-osd and radosgw; without them `rgwSkipReason` says why
 * the tests skip. Daemons are stopped by PID, one at a time (rgw → osd → mon: all at once takes ~10 s).
 *
 * Settings that matter (each found by trying, see the design note on remote origins):
 * - `ms mon client mode = crc`: with auth none, radosgw otherwise loops on cephx and never listens;
 * - `paxos propose interval = 0.05`: start 11.7 s → 1 s;
 * - `tcp_nodelay=1` on the beast frontend: small range GETs take ~1 ms instead of ~44 ms (Nagle + delayed ACK).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { atEndOfProcess, processEndHookActive } from "./cleanup.ts";

export const RGW_ACCESS_KEY = "musicfstestaccess";
export const RGW_SECRET_KEY = "musicfs-test-secret-0123456789";
export const RGW_REGION = "us-east-1";

const PROGRAMS = ["ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "monmaptool", "ceph", "curl"];

/** Why RGW tests cannot run here, or null when they can. */
export const rgwSkipReason: string | null = (() => {
  const missing = PROGRAMS.filter((p) => !Bun.which(p) && !Bun.which(p, { PATH: "/usr/sbin:/sbin:/usr/bin" }));
  return missing.length ? `Ceph RGW is not installed (missing ${missing.join(", ")}; run \`bun run setup\`)` : null;
})();

export interface RgwCluster {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  port: number;
  dir: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** CreateBucket (SigV4-signed PUT; Bun.S3Client cannot create buckets). */
  createBucket(name: string): Promise<void>;
  /** A client for one bucket (for putting and deleting test objects). */
  client(bucket: string): Bun.S3Client;
  /**
   * The environment a musicfs child needs to reach this cluster: its keys, its region, and no profile or endpoint
   * from the machine's own AWS settings (the config names the endpoint); `extra` adds or overrides variables.
   */
  credentialsEnv(extra?: Record<string, string>): Record<string, string>;
  /** Stops radosgw only (the store becomes unreachable); `startGateway` brings it back on the same port. */
  stopGateway(): Promise<void>;
  startGateway(): Promise<void>;
  /** Stops every daemon by PID and removes the data dir. Safe to call twice. */
  stop(): Promise<void>;
}

/** A port that was free a moment ago (bind to 0, read, close). */
export function freePort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

async function exec(cmd: string[], env: Record<string, string>, what: string): Promise<string> {
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 60_000);
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${what} failed (exit ${code}): ${err.trim() || out.trim()}`);
  return out;
}

/** Alive and not a zombie (an exited daemon stays a zombie until reaped: `kill -0` would still succeed). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

function readPid(file: string): number | null {
  try {
    const n = Number(readFileSync(file, "utf8").trim());
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

async function killByPidFile(file: string): Promise<void> {
  const pid = readPid(file);
  rmSync(file, { force: true });
  if (pid === null || !alive(pid)) return;
  process.kill(pid, "SIGTERM");
  for (let i = 0; i < 100 && alive(pid); i++) await Bun.sleep(50);
  if (alive(pid)) process.kill(pid, "SIGKILL");
  for (let i = 0; i < 40 && alive(pid); i++) await Bun.sleep(50);
}

function cephConf(dir: string, fsid: string, monPort: number, rgwPort: number): string {
  return `[global]
fsid = ${fsid}
mon host = v2:127.0.0.1:${monPort}
public addr = 127.0.0.1
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
run dir = ${dir}/run
pid file = ${dir}/run/$name.pid
admin socket = ${dir}/run/$name.asok
log file = ${dir}/log/$name.log
chdir = ""
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon max pg per osd = 1000
mon allow pool delete = true
mon allow pool size one = true
mon warn on pool no redundancy = false
mon data avail warn = 2
mon data avail crit = 1
paxos propose interval = 0.05
[mon.a]
mon data = ${dir}/mon
[osd.0]
osd data = ${dir}/osd
osd objectstore = memstore
memstore device bytes = ${2 * 1024 ** 3}
osd memory target = 939524096
osd class load list = *
osd class default list = *
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:${rgwPort} tcp_nodelay=1
rgw data = ${dir}/rgw
`;
}

async function waitForHttp(url: string, timeoutMs: number, logFile: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      await fetch(url, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      await Bun.sleep(100);
    }
  }
  throw new Error(`radosgw did not answer on ${url} within ${timeoutMs} ms; see ${logFile}`);
}

/** Starts the cluster (about 1–2 s). Call `stop()` in afterAll. */
/**
 * A Ceph RGW cluster for a test file. Starting one costs seconds and stopping it more (the OSD is slow to go), so
 * when the end-of-process hook is preloaded (bunfig.toml) every test file of the process gets the same cluster:
 * its `stop()` then hands it back emptied — every bucket removed with its objects, the gateway running — so the
 * next file sees a cluster as fresh as a new one; the daemons are stopped by PID after the last file. Without the
 * hook (bun test run from elsewhere) each call starts a cluster of its own, stopped by `stop()` as before.
 */
export async function startRgw(): Promise<RgwCluster> {
  if (!processEndHookActive()) return startCluster();
  if (!shared) {
    shared = startCluster();
    shared.catch(() => (shared = null)); // a failed start is tried again by the next file
    atEndOfProcess(async () => {
      await emptying;
      const cluster = await shared?.catch(() => null);
      shared = null;
      await cluster?.stop();
    });
  }
  const cluster = await shared;
  await emptying; // what the file before left is being removed: this file starts once it is gone
  // A file before may have left the gateway stopped (a test that failed between stopGateway and startGateway).
  const up = await fetch(cluster.endpoint, { signal: AbortSignal.timeout(5000) }).then(() => true, () => false);
  if (!up) await cluster.startGateway();
  await emptyCluster(cluster); // also when a file before did not get to its stop(), or its emptying failed
  return {
    ...cluster,
    // The file's buckets are removed in the background (~0.5 s each): the files that need no S3 run meanwhile, and
    // the next one that asks for the cluster waits for it above.
    stop: async () => {
      emptying = emptyCluster(cluster).catch(() => {});
    },
  };
}

let shared: Promise<RgwCluster> | null = null;
/** The emptying the last file's `stop()` started. */
let emptying: Promise<void> = Promise.resolve();

/** Removes every bucket with its objects (all at once): what a test file leaves behind, gone before the next file. */
async function emptyCluster(cluster: RgwCluster): Promise<void> {
  const env = { CEPH_CONF: join(cluster.dir, "ceph.conf") };
  const buckets = JSON.parse(await exec(["radosgw-admin", "bucket", "list"], env, "radosgw-admin bucket list")) as string[];
  await Promise.all(buckets.map((bucket) => exec(["radosgw-admin", "bucket", "rm", `--bucket=${bucket}`, "--purge-objects"], env, `radosgw-admin bucket rm ${bucket}`)));
}

async function startCluster(): Promise<RgwCluster> {
  const dir = mkdtempSync(join(tmpdir(), "musicfs-rgw-"));
  for (const d of ["mon", "osd", "run", "log", "rgw"]) mkdirSync(join(dir, d));
  const monPort = freePort();
  const port = freePort();
  const fsid = crypto.randomUUID();
  const conf = join(dir, "ceph.conf");
  writeFileSync(conf, cephConf(dir, fsid, monPort, port));
  const env = { CEPH_CONF: conf };
  const pidFile = (name: string) => join(dir, "run", `${name}.pid`);
  const endpoint = `http://127.0.0.1:${port}`;
  let stopped = false;

  const stopGateway = () => killByPidFile(pidFile("client.rgw.a"));
  const startGateway = async () => {
    await exec(["radosgw", "-n", "client.rgw.a"], env, "radosgw");
    await waitForHttp(endpoint, 30_000, join(dir, "log", "client.rgw.a.log"));
  };
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const name of ["client.rgw.a", "osd.0", "mon.a"]) await killByPidFile(pidFile(name));
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await exec(["monmaptool", "--create", "--fsid", fsid, "--addv", "a", `[v2:127.0.0.1:${monPort}]`, join(dir, "monmap")], env, "monmaptool");
    await exec(["ceph-mon", "--mkfs", "-i", "a", "--monmap", join(dir, "monmap"), "--keyring", "/dev/null"], env, "ceph-mon --mkfs");
    await exec(["ceph-mon", "-i", "a"], env, "ceph-mon"); // daemonizes, writes run/mon.a.pid
    const uuid = crypto.randomUUID();
    const osdId = (await exec(["ceph", "osd", "new", uuid], env, "ceph osd new")).trim();
    await exec(["ceph-osd", "-i", osdId, "--mkfs", "--osd-uuid", uuid], env, "ceph-osd --mkfs");
    await exec(["ceph-osd", "-i", osdId], env, "ceph-osd");
    await startGateway();
    await exec(
      ["radosgw-admin", "user", "create", "--uid=test", "--display-name=test", `--access-key=${RGW_ACCESS_KEY}`, `--secret-key=${RGW_SECRET_KEY}`],
      env,
      "radosgw-admin user create",
    );
  } catch (e) {
    await stop();
    throw e;
  }

  return {
    endpoint,
    port,
    dir,
    accessKeyId: RGW_ACCESS_KEY,
    secretAccessKey: RGW_SECRET_KEY,
    region: RGW_REGION,
    async createBucket(name) {
      await exec(
        [
          "curl", "-fsS", "-X", "PUT", "--aws-sigv4", `aws:amz:${RGW_REGION}:s3`, "--user", `${RGW_ACCESS_KEY}:${RGW_SECRET_KEY}`,
          "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", `${endpoint}/${name}`,
        ],
        {},
        `CreateBucket ${name}`,
      );
    },
    credentialsEnv(extra = {}) {
      return { AWS_ACCESS_KEY_ID: RGW_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: RGW_SECRET_KEY, AWS_REGION: RGW_REGION, AWS_PROFILE: "", AWS_ENDPOINT_URL: "", ...extra };
    },
    client(bucket) {
      return new Bun.S3Client({ endpoint, bucket, accessKeyId: RGW_ACCESS_KEY, secretAccessKey: RGW_SECRET_KEY, region: RGW_REGION });
    },
    stopGateway,
    startGateway,
    stop,
  };
}

/** Puts many objects with `concurrency` requests in flight. */
export async function putObjects(client: Bun.S3Client, objects: Iterable<[key: string, body: Uint8Array | string]>, concurrency = 32): Promise<void> {
  const it = objects[Symbol.iterator]();
  const worker = async () => {
    for (let n = it.next(); !n.done; n = it.next()) await client.write(n.value[0], n.value[1]);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}
