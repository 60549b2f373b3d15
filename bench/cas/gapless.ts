/**
 * Gapless starts (issue 17 item 5): mpv plays an album of 3 MP3s in order from a fresh S3 mount (Ceph RGW behind the
 * fault proxy with added latency), traced with strace; for each track change N → N+1 it reports the time from the
 * player's last read of N to the first byte of N+1, and how long N+1's first read took from its open.
 *
 *   bun run bench/cas/gapless.ts [--repo CHECKOUT] [--rtt 80] [--seconds 30]
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Database as Sqlite } from "bun:sqlite";
import { writeMp3 } from "../../src/sample/mp3Writer.ts";
import { putObjects, startRgw } from "../../test/support/cephRgw.ts";
import { startFaultProxy } from "../../test/support/faultProxy.ts";
import { cleanupAll, startMount, tempDir } from "../../test/e2e/harness.ts";
import { run } from "../../test/support/process.ts";

const { values } = parseArgs({ options: { repo: { type: "string" }, rtt: { type: "string" }, seconds: { type: "string" } } });
const repo = values.repo ?? join(import.meta.dir, "../..");
const rtt = Number(values.rtt ?? 80);
const seconds = Number(values.seconds ?? 30);

const rgw = await startRgw();
const proxy = startFaultProxy({ port: rgw.port }, { delayMs: rtt / 2 });
try {
  await rgw.createBucket("album");
  const tracks = [1, 2, 3].map((i) => writeMp3({ title: `Song ${i}`, artists: ["Band"], album: "Record", track: i }, { seconds, bitrateKbps: 192 }));
  await putObjects(rgw.client("album"), tracks.map((b, i): [string, Uint8Array] => [`lib/Band/Record/${i + 1}.mp3`, b]));
  const cache = tempDir();
  const mnt = join(tempDir(), "mnt");
  const config = join(tempDir(), "config.toml");
  writeFileSync(config, `[[origins]]\nid = "cloud"\nurl = "s3://album/lib"\nendpoint = "${proxy.endpoint}"\n`);
  const env = { AWS_ACCESS_KEY_ID: rgw.accessKeyId, AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey, AWS_REGION: rgw.region, AWS_PROFILE: "", AWS_ENDPOINT_URL: "" };
  const server = await startMount(mnt, [], { env, command: ["bun", join(repo, "src/cli/main.ts"), "mount", mnt, "--config", config, "--cache-dir", cache] });
  const db = new Sqlite(join(cache, "metadata.db"), { readonly: true });
  const paths = (db.query("SELECT virtual_path FROM files ORDER BY real_path").values() as [string][]).map((r) => join(mnt, r[0]));
  db.close();
  const trace = join(tempDir(), "strace.log");
  const played = await run(
    ["strace", "-f", "-ttt", "-T", "-e", "trace=openat,read", "-o", trace, "mpv", "--no-config", "--no-video", "--ao=null", "--really-quiet", ...paths],
    { timeoutMs: (seconds * 3 + 120) * 1000 },
  );
  if (played.code !== 0) throw new Error(`mpv failed: ${played.stderr}`);
  await server.stop();
  const t = parseTrace(readFileSync(trace, "utf8"), paths);
  for (let i = 0; i + 1 < paths.length; i++) {
    const [a, b] = [t[i], t[i + 1]];
    console.log(
      `track ${i + 1} → ${i + 2}: last read of ${i + 1} → first byte of ${i + 2}: ${((b.firstByte - a.lastRead) * 1000).toFixed(0)} ms; ` +
        `open → first byte of ${i + 2}: ${((b.firstByte - b.open) * 1000).toFixed(1)} ms`,
    );
  }
} finally {
  await cleanupAll();
  proxy.stop();
  await rgw.stop();
}

/** Per file: when it was opened, when its first byte arrived, when its last read ended (seconds, from strace -ttt -T). */
function parseTrace(text: string, paths: string[]): { open: number; firstByte: number; lastRead: number }[] {
  const out = paths.map(() => ({ open: 0, firstByte: 0, lastRead: 0 }));
  const fdFile = new Map<number, number>();
  const pendingOpen = new Map<string, number>(); // pid → file index of an unfinished openat
  const pendingRead = new Map<string, number>(); // pid → fd of an unfinished read
  for (const line of text.split("\n")) {
    const m = /^(\d+)\s+(\d+\.\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const [, pid, tsText, rest] = m;
    const ts = Number(tsText);
    const dur = Number(/<(\d+\.\d+)>\s*$/.exec(rest)?.[1] ?? 0);
    const open = /^openat\([^,]+, "([^"]+)"/.exec(rest);
    if (open) {
      const idx = paths.indexOf(open[1]);
      if (idx < 0) continue;
      if (out[idx].open === 0) out[idx].open = ts;
      const fd = /\)\s+=\s+(\d+)/.exec(rest);
      if (fd) fdFile.set(Number(fd[1]), idx);
      else pendingOpen.set(pid, idx);
      continue;
    }
    const resumedOpen = /^<\.\.\. openat resumed>.*=\s+(\d+)/.exec(rest);
    if (resumedOpen && pendingOpen.has(pid)) {
      fdFile.set(Number(resumedOpen[1]), pendingOpen.get(pid)!);
      pendingOpen.delete(pid);
      continue;
    }
    const unfinished = /^read\((\d+), <unfinished/.exec(rest);
    if (unfinished) {
      pendingRead.set(pid, Number(unfinished[1]));
      continue;
    }
    const resumed = /^<\.\.\. read resumed>.*=\s+(\d+)/.exec(rest);
    const read = /^read\((\d+),.*\)\s+=\s+(\d+)/.exec(rest);
    const fd = resumed ? pendingRead.get(pid) : read ? Number(read[1]) : undefined;
    if (resumed) pendingRead.delete(pid);
    const bytes = Number(resumed ? resumed[1] : read?.[2] ?? 0);
    const idx = fd === undefined ? undefined : fdFile.get(fd);
    if (idx === undefined || bytes === 0) continue;
    const end = resumed ? ts : ts + dur; // a resumed line is stamped when the call returned
    if (out[idx].firstByte === 0) out[idx].firstByte = end;
    out[idx].lastRead = end;
  }
  return out;
}
