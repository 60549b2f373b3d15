/**
 * The CPU per MiB of Bun's HTTP client thread (and the main thread) for ranged GETs of one object straight from RGW
 * (no proxy, no FUSE, no disk), two ways: Bun.S3Client (`file.slice(a, b).arrayBuffer()`, what the S3 origin does)
 * and `fetch` of a presigned URL with a Range header. Alternated rounds; each thread's CPU from
 * /proc/self/task/TID/schedstat. For "is the HTTP thread's cost the client's, the request size's, or ours?".
 *
 *   bun run bench/s3/clientCpu.ts [--mib 64] [--seg 2] [--par 4] [--rounds 6]
 */
import { readdirSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { pseudoRandomBytes } from "../../test/cas/testData.ts";
import { rgwSkipReason, startRgw } from "../../test/support/cephRgw.ts";
import { option } from "../mount/harness.ts";

if (rgwSkipReason) {
  console.error(rgwSkipReason);
  process.exit(2);
}
const MIB = Number(option("mib", "64"));
const SEG = Number(option("seg", "2")) * 2 ** 20;
const PAR = Number(option("par", "4"));
const ROUNDS = Number(option("rounds", "6"));
const size = MIB * 2 ** 20;

/** CPU ms of each of this process's threads, by name ("main" for the main thread). */
function threads(): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      const raw = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
      const name = Number(tid) === process.pid ? "main" : raw.slice(raw.indexOf("(") + 1, raw.lastIndexOf(")"));
      const ns = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      out.set(name, (out.get(name) ?? 0) + ns / 1e6);
    } catch {}
  }
  return out;
}

const rgw = await startRgw();
try {
  await rgw.createBucket("clientcpu");
  await rgw.client("clientcpu").write("big", pseudoRandomBytes(size, 7));
  const client = new Bun.S3Client({ endpoint: rgw.endpoint, bucket: "clientcpu", accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey, region: rgw.region });
  const file = client.file("big");
  const variants: [string, (from: number, to: number) => Promise<ArrayBuffer>][] = [
    ["S3Client", (from, to) => file.slice(from, to).arrayBuffer()],
    ["presigned fetch", (from, to) => fetch(file.presign({ expiresIn: 600 }), { headers: { Range: `bytes=${from}-${to - 1}` } }).then((r) => r.arrayBuffer())],
  ];
  console.log(`# ${MIB} MiB, ranged GETs of ${SEG / 2 ** 20} MiB, ${PAR} in flight, straight to RGW; load ${loadavg()[0].toFixed(2)}`);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, get] of round % 2 ? [...variants].reverse() : variants) {
      const before = threads();
      const t = performance.now();
      let next = 0;
      let got = 0;
      const lane = async () => {
        while (next < size) {
          const from = next;
          next += SEG;
          const body = await get(from, Math.min(size, from + SEG));
          got += body.byteLength;
        }
      };
      await Promise.all(Array.from({ length: PAR }, lane));
      const s = (performance.now() - t) / 1000;
      if (got !== size) throw new Error(`${name}: ${got} bytes, expected ${size}`);
      const used = [...threads()].map(([k, v]) => [k, (v - (before.get(k) ?? 0)) / MIB] as const).filter(([, v]) => v >= 0.02);
      console.log(`round ${round} ${name.padEnd(16)} ${(size / s / 1e6).toFixed(0)} MB/s, load ${loadavg()[0].toFixed(2)}; CPU ms per MiB: ${used.map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", ")}`);
    }
  }
} finally {
  await rgw.stop();
}
