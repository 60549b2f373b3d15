/**
 * What RGW itself delivers, without musicfs: one 64 MiB object read with ranged GETs (Bun.S3Client) of `--seg` MiB,
 * `--par` in flight, in file order (as a sequential reader needs them), direct and through the proxy at each RTT.
 * Also one streaming GET of the whole object. The upper bound for a cold sequential read through any mount.
 *
 *   bun run bench/s3/ceiling.ts [--rtt 0,20] [--mib 64] [--seg 1,4,8] [--par 1,4,8,16] [--runs 3]
 */
import { loadavg } from "node:os";
import { pseudoRandomBytes } from "../../test/cas/testData.ts";
import { rgwSkipReason, startRgw } from "../../test/support/cephRgw.ts";
import { startFaultProxy } from "../../test/support/faultProxy.ts";
import { median, numberList, option } from "../mount/harness.ts";
import { rangedGetsMBps } from "./measure.ts";

if (rgwSkipReason) {
  console.error(rgwSkipReason);
  process.exit(2);
}
const RTTS = numberList("rtt", "0,20");
const MIB = Number(option("mib", "64"));
const SEGS = numberList("seg", "1,4,8");
const PARS = numberList("par", "1,4,8,16");
const RUNS = Number(option("runs", "3"));
const MB = 1_000_000;

const rgw = await startRgw();
const proxy = startFaultProxy({ port: rgw.port });
try {
  await rgw.createBucket("ceiling");
  const size = MIB * 1024 * 1024;
  await rgw.client("ceiling").write("big", pseudoRandomBytes(size, 7));
  const clientFor = (endpoint: string) =>
    new Bun.S3Client({ endpoint, bucket: "ceiling", accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey, region: rgw.region });

  /** Ranged GETs of `seg` bytes, `par` in flight, consumed in order: MB/s. */
  const ranged = (client: Bun.S3Client, seg: number, par: number) => rangedGetsMBps(client.file("big"), size, seg, par);
  const streamed = async (client: Bun.S3Client) => {
    const t = performance.now();
    let got = 0;
    for await (const piece of client.file("big").stream()) got += piece.length;
    if (got !== size) throw new Error(`short stream ${got}`);
    return size / ((performance.now() - t) / 1000) / MB;
  };
  const ttfb = async (client: Bun.S3Client) => {
    const t = performance.now();
    await client.file("big").slice(0, 128 * 1024).arrayBuffer();
    return performance.now() - t;
  };

  console.log(`# RGW ceiling: ${MIB} MiB object, load ${loadavg()[0].toFixed(2)}; MB/s medians of ${RUNS}`);
  console.log(`| path | RTT | one GET of 128 KiB (ms) | stream | ${SEGS.flatMap((s) => PARS.map((p) => `${s} MiB × ${p}`)).join(" | ")} |`);
  console.log(`|---|---|---|---|${SEGS.flatMap(() => PARS.map(() => "---:")).join("|")}|`);
  const paths: [string, string, number][] = [["direct", rgw.endpoint, 0], ...RTTS.map((r): [string, string, number] => ["proxy", proxy.endpoint, r])];
  for (const [name, endpoint, rtt] of paths) {
    proxy.delayMs = rtt / 2;
    const client = clientFor(endpoint);
    const cells: string[] = [];
    const t = median(await Promise.all([0, 1, 2].map(() => ttfb(client))));
    const s = [];
    for (let i = 0; i < RUNS; i++) s.push(await streamed(client));
    for (const seg of SEGS)
      for (const par of PARS) {
        const xs = [];
        for (let i = 0; i < RUNS; i++) xs.push(await ranged(client, seg * 1024 * 1024, par));
        cells.push(median(xs).toFixed(0));
      }
    console.log(`| ${name} | ${rtt} ms | ${t.toFixed(1)} | ${median(s).toFixed(0)} | ${cells.join(" | ")} |`);
  }
  console.log(`load at the end ${loadavg()[0].toFixed(2)}`);
} finally {
  proxy.stop();
  await rgw.stop();
}
