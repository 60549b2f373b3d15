/**
 * A network drop while playing from S3 (issue 16 item 2), measured on Ceph RGW through the fault proxy and a real
 * mount:
 *  - resume: a paced reader plays an uncached track (the proxy capped at 512 KiB/s so that the fetch spans the
 *    outage); connections are refused — or reset — for `--outage` ms; the figure is the time from the end of the
 *    outage to the first byte the store sends again (how soon the fetch notices the store is back), and the reader
 *    must finish byte-exact;
 *  - EIO: with `read_timeout_ms = --deadline` and the store refusing (or resetting) connections, how long `cat` of an
 *    uncached track takes to fail — the deadline is the lower bound, the figure is how far past it the EIO comes.
 *
 *   bun run bench/s3/outage.ts [--runs 3] [--outage 4000] [--deadline 3000]
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeFlac } from "../../src/sample/flacWriter.ts";
import { silence } from "../../src/sample/tone.ts";
import { rgwSkipReason, startRgw, putObjects } from "../../test/support/cephRgw.ts";
import { startFaultProxy } from "../../test/support/faultProxy.ts";
import { load1, median, mountAndWait, option, REPO, type MusicFsChild } from "../mount/harness.ts";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";

if (rgwSkipReason) {
  console.error(rgwSkipReason);
  process.exit(2);
}
const RUNS = Number(option("runs", "3"));
const OUTAGE_MS = Number(option("outage", "4000"));
const DEADLINE_MS = Number(option("deadline", "3000"));
const KiB = 1024;
const MODES = ["refuse", "reset"] as const;

const sha = (b: Uint8Array) => new Bun.CryptoHasher("sha256").update(b).digest("hex");
const temp = () => mkdtempSync(join(tmpdir(), "mfs-outage-"));

function noiseFlac(title: string, seed: number): Uint8Array {
  const pcm = silence(20, 44100, 2);
  let x = seed;
  for (const ch of pcm.channels) for (let i = 0; i < ch.length; i++) ch[i] = ((x = (x * 1103515245 + 12345) >>> 0) >>> 16) - 32768;
  return writeFlac({ artists: ["Bench"], album: "Outage", year: 2024, title, track: 1 }, pcm); // ~3.5 MB
}

const rgw = await startRgw();
const proxy = startFaultProxy({ port: rgw.port });
const children: MusicFsChild[] = [];
try {
  await rgw.createBucket("outage");
  const tracks = new Map<string, Uint8Array>();
  for (const mode of MODES) for (let r = 0; r < RUNS; r++) {
    tracks.set(`play-${mode}-${r}`, noiseFlac(`play ${mode} ${r}`, 100 + tracks.size));
    tracks.set(`eio-${mode}-${r}`, noiseFlac(`eio ${mode} ${r}`, 100 + tracks.size));
  }
  await putObjects(rgw.client("outage"), [...tracks].map(([k, b]): [string, Uint8Array] => [`lib/${k}.flac`, b]));
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: rgw.accessKeyId, AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey, AWS_REGION: rgw.region, AWS_PROFILE: "",
    AWS_ENDPOINT_URL: proxy.endpoint,
  });
  const mount = async (readTimeoutMs: number) => {
    const cfg = join(temp(), "config.toml");
    writeFileSync(cfg, `[cache]\nread_timeout_ms = ${readTimeoutMs}\n`);
    const mnt = join(temp(), "mnt");
    const { child } = await mountAndWait({ mnt, origin: "s3://outage/lib", cacheDir: temp(), extraArgs: ["--config", cfg] }, 120_000);
    children.push(child);
    return { child, mnt };
  };
  /** The tree lays tracks out by tags: find a track's path by its title. */
  const pathOf = (mnt: string, title: string) => {
    const r = Bun.spawnSync(["find", mnt, "-name", `*${title}.flac`]);
    const p = new TextDecoder().decode(r.stdout).trim().split("\n")[0];
    if (!p) throw new Error(`no track ${title}`);
    return p;
  };
  const waitBytes = async (n: number) => {
    while (proxy.bytesToClients < n) await Bun.sleep(10);
  };

  const play = await mount(30_000);
  const resume: Record<string, number[]> = { refuse: [], reset: [] };
  for (const mode of MODES) for (let r = 0; r < RUNS; r++) {
    const key = `play-${mode}-${r}`;
    proxy.rateBytesPerS = 512 * KiB;
    const from = proxy.bytesToClients;
    const reader = Bun.spawn(["bun", join(REPO, "test/support/pacedReader.ts"), pathOf(play.mnt, `play ${mode} ${r}`), "65536", "20"], { stdout: "pipe", stderr: "pipe" });
    const out = Promise.all([new Response(reader.stdout).text(), new Response(reader.stderr).text(), reader.exited]);
    await waitBytes(from + 512 * KiB);
    proxy.outage(mode);
    await Bun.sleep(OUTAGE_MS);
    const before = proxy.bytesToClients;
    proxy.outage(null);
    const up = performance.now();
    await waitBytes(before + 1);
    resume[mode].push(performance.now() - up);
    const [stdout, stderr, code] = await out;
    if (code !== 0 || stdout.trim() !== `${sha(tracks.get(key)!)} ${tracks.get(key)!.length}`)
      throw new Error(`the reader of ${key} did not finish byte-exact (${code}): ${stderr}`);
    proxy.rateBytesPerS = 0;
  }
  await play.child.stop();

  const short = await mount(DEADLINE_MS);
  const eio: Record<string, number[]> = { refuse: [], reset: [] };
  for (const mode of MODES) for (let r = 0; r < RUNS; r++) {
    const path = pathOf(short.mnt, `eio ${mode} ${r}`);
    proxy.outage(mode);
    const t0 = performance.now();
    const cat = Bun.spawn(["cat", path], { stdout: "ignore", stderr: "pipe" });
    const [err, code] = await Promise.all([new Response(cat.stderr).text(), cat.exited]);
    eio[mode].push(performance.now() - t0);
    proxy.outage(null);
    if (code === 0 || !err.includes("Input/output error")) throw new Error(`expected EIO, got ${code}: ${err}`);
  }
  await short.child.stop();

  const fmt = (xs: number[]) => `median ${Math.round(median(xs))} ms, max ${Math.round(Math.max(...xs))} ms (${xs.map((x) => Math.round(x)).join(", ")})`;
  console.log(`load ${load1()}; outage ${OUTAGE_MS} ms, ${RUNS} runs per mode; every reader finished byte-exact`);
  for (const mode of MODES) console.log(`resume after the store is back (${mode}): ${fmt(resume[mode])}`);
  for (const mode of MODES) console.log(`EIO with read_timeout_ms ${DEADLINE_MS} (${mode}): ${fmt(eio[mode])}`);
} finally {
  for (const c of children) await c.stop();
  proxy.stop();
  await rgw.stop();
}
