/**
 * FUSE transport benchmark: the test filesystem (test/fuse/memfs.ts) served by src/fuse, against the same operation
 * on ext4. Medians over interleaved rounds (see docs/fuse.md).
 *
 *   bun run bench/fuse/run.ts [--dir /var/tmp/musicfs-bench-fuse] [--rounds 5] [--no-drop-caches]
 *
 * Needs root for the full set (drop_caches, read_ahead_kb, passthrough); `cc` builds the latency probe.
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { cleanupAll, mountpoint, run, type Server, startServer } from "../../test/fuse/helpers.ts";

const { values } = parseArgs({
  options: {
    dir: { type: "string", default: "/var/tmp/musicfs-bench-fuse" },
    rounds: { type: "string", default: "5" },
    "no-drop-caches": { type: "boolean", default: false },
  },
});
const WORK = values.dir!;
const ROUNDS = Number(values.rounds);
const isRoot = process.getuid?.() === 0;
const dropCaches = isRoot && !values["no-drop-caches"];
const GiB = 1024 ** 3;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmt = (x: number, digits = 2) => x.toFixed(digits);

async function must(cmd: string[]): Promise<string> {
  const r = await run(cmd, { timeoutMs: 600_000 });
  if (r.code !== 0) throw new Error(`${cmd.join(" ")} failed (${r.code}): ${r.stderr}`);
  return r.stdout + r.stderr;
}

async function setup() {
  mkdirSync(join(WORK, "backing"), { recursive: true });
  const big = join(WORK, "backing/big.bin");
  if (!existsSync(big) || statSync(big).size !== GiB) {
    console.log("creating a 1 GiB file of random bytes…");
    await must(["dd", "if=/dev/urandom", `of=${big}`, "bs=1M", "count=1024", "status=none"]);
  }
  const ext4Dir = join(WORK, "ext4-1000");
  if (!existsSync(join(ext4Dir, "f0999"))) {
    mkdirSync(ext4Dir, { recursive: true });
    for (let i = 0; i < 1000; i++) {
      const name = `f${String(i).padStart(4, "0")}`;
      writeFileSync(join(ext4Dir, name), `${name}\n`);
    }
  }
  const probe = join(WORK, "latency");
  await must(["cc", "-O2", "-o", probe, new URL("./latency.c", import.meta.url).pathname]);
  return { big, ext4Dir, probe, ext4File: join(ext4Dir, "f0042") };
}

async function serve(args: string[]): Promise<{ server: Server; mnt: string }> {
  const mnt = mountpoint();
  const server = await startServer(mnt, args);
  if (server.failure) throw new Error(`server failed: ${server.failure}`);
  return { server, mnt };
}

async function stop(s: { server: Server }) {
  s.server.proc.kill("SIGTERM");
  await s.server.proc.exited;
}

/** GB/s of `dd if=FILE of=/dev/null bs=1M`, from dd's own byte count and our wall clock around the copy. */
async function ddGBps(file: string): Promise<number> {
  const out = await must(["dd", `if=${file}`, "of=/dev/null", "bs=1M"]);
  const m = out.match(/(\d+) bytes .* copied, ([\d.]+) s/);
  if (!m) throw new Error(`cannot parse dd output: ${out}`);
  return Number(m[1]) / Number(m[2]) / 1e9;
}

/** Drop only the FUSE file's cached pages (fadvise DONTNEED), keep the backing file warm (doc 8.1). */
async function warmBackingFuseRead(big: string, fuseFile: string): Promise<number> {
  await must(["sh", "-c", `cat ${big} >/dev/null`]);
  await must(["dd", `if=${fuseFile}`, "iflag=nocache", "count=0", "status=none"]);
  return ddGBps(fuseFile);
}

async function latency(probe: string, mode: string, path: string, n: number): Promise<number> {
  const [med] = (await must([probe, mode, path, String(n)])).trim().split(" ").map(Number);
  return med!;
}

async function lsMs(dir: string): Promise<number> {
  const drop = dropCaches ? "echo 2 > /proc/sys/vm/drop_caches; " : "";
  const out = await must(["sh", "-c", `${drop}s=$(date +%s%N); ls -l ${dir} >/dev/null; e=$(date +%s%N); echo $((e-s))`]);
  return Number(out.trim()) / 1e6;
}

const results: Record<string, number | string> = {};
function record(key: string, value: number | string) {
  results[key] = value;
  console.log(`${key.padEnd(44)} ${typeof value === "number" ? fmt(value) : value}`);
}

async function main() {
  const env = await setup();
  console.log(`rounds: ${ROUNDS}, drop caches: ${dropCaches}, root: ${isRoot}`);

  // 1. Sequential 1 MiB reads of a 1 GiB file, warm backing, normal READs through the workers: with the session's
  //    default readahead (1024 KiB as root) and with the kernel's 128 KiB.
  for (const readahead of [undefined, "128"]) {
    const s = await serve(["--backing", join(WORK, "backing"), "--no-passthrough", ...(readahead ? ["--readahead", readahead] : [])]);
    const label = readahead ? `read_ahead_kb=${readahead}` : isRoot ? "read_ahead_kb=1024 (default)" : "default";
    const fuseFile = join(s.mnt, "mirror/big.bin");
    const fuse: number[] = [];
    const direct: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      fuse.push(await warmBackingFuseRead(env.big, fuseFile));
      direct.push(await ddGBps(env.big));
    }
    record(`seq read FUSE warm backing, ${label} GB/s`, median(fuse));
    record(`  runs`, fuse.map((x) => fmt(x)).join(" "));
    record(`  direct (page cache) GB/s`, median(direct));
    if (!readahead) {
      await must(["sh", "-c", `cat ${fuseFile} >/dev/null`]);
      const reread: number[] = [];
      for (let r = 0; r < 3; r++) reread.push(await ddGBps(fuseFile));
      record("seq re-read FUSE page cache GB/s", median(reread));
    }
    await stop(s);
  }

  // 2. Passthrough (root, kernel ≥ 6.9).
  if (isRoot) {
    const s = await serve(["--backing", join(WORK, "backing")]);
    if (s.server.ready?.passthrough) {
      const fuseFile = join(s.mnt, "mirror/big.bin");
      const pt: number[] = [];
      for (let r = 0; r < ROUNDS; r++) pt.push(await warmBackingFuseRead(env.big, fuseFile));
      record("seq read FUSE passthrough GB/s", median(pt));
    }
    await stop(s);
  }

  // 3. GETATTR round trip with zero TTLs (fstat on an open fd) and stat(path).
  {
    const s = await serve(["--ttl", "0"]);
    const file = join(s.mnt, "hello.txt");
    const fuse: number[] = [];
    const ext4: number[] = [];
    const statPath: number[] = [];
    const getattrCount = async () => {
      s.server.send("stats");
      return JSON.parse((await s.server.lines.next(["STATS "])).slice(6)).getattrs as number;
    };
    let getattrs = 0;
    for (let r = 0; r < 4; r++) {
      const before = await getattrCount();
      fuse.push(await latency(env.probe, "fstat", file, 20_000));
      getattrs += (await getattrCount()) - before;
      ext4.push(await latency(env.probe, "fstat", env.ext4File, 20_000));
      statPath.push(await latency(env.probe, "stat", join(s.mnt, "sub/nested.txt"), 5_000));
    }
    record("GETATTR round trip (fstat, TTL 0) µs", median(fuse));
    // Honesty check: every fstat really reached the server.
    record("  GETATTR requests per fstat (≥ 1 expected)", getattrs / (4 * 20_000));
    record("fstat ext4 µs", median(ext4));
    record("stat(path) 2 levels, TTL 0 µs", median(statPath));
    await stop(s);
  }

  // 4. open+close: zero-message open vs OPEN/RELEASE round trips (TTL 60 s, so no LOOKUP/GETATTR).
  for (const zero of [true, false]) {
    const s = await serve(zero ? ["--zero-open"] : []);
    const file = join(s.mnt, "hello.txt");
    const fuse: number[] = [];
    const ext4: number[] = [];
    for (let r = 0; r < 4; r++) {
      fuse.push(await latency(env.probe, "open", file, 5_000));
      if (zero) ext4.push(await latency(env.probe, "open", env.ext4File, 5_000));
    }
    record(zero ? "open+close zero-message µs" : "open+close with OPEN/RELEASE µs", median(fuse));
    if (zero) record("open+close ext4 µs", median(ext4));
    await stop(s);
  }

  // 5. ls -l of a 1000-entry directory (TTL 60 s), after dropping dentries and inodes, vs ext4.
  {
    const s = await serve([]);
    const fuse: number[] = [];
    const ext4: number[] = [];
    await lsMs(join(s.mnt, "many"));
    await lsMs(env.ext4Dir);
    for (let r = 0; r < ROUNDS; r++) {
      fuse.push(await lsMs(join(s.mnt, "many")));
      ext4.push(await lsMs(env.ext4Dir));
    }
    record(`ls -l 1000 entries FUSE ms${dropCaches ? " (cold dentries)" : ""}`, median(fuse));
    record(`ls -l 1000 entries ext4 ms${dropCaches ? " (cold dentries)" : ""}`, median(ext4));
    record("ls -l ratio FUSE/ext4", median(fuse) / median(ext4));
    const warm: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      warm.push(Number((await must(["sh", "-c", `s=$(date +%s%N); ls -l ${join(s.mnt, "many")} >/dev/null; e=$(date +%s%N); echo $((e-s))`])).trim()) / 1e6);
    }
    record("ls -l 1000 entries FUSE warm ms", median(warm));
    await stop(s);
  }

  writeFileSync(join(WORK, "results.json"), JSON.stringify(results, null, 2));
  console.log(`\nresults written to ${join(WORK, "results.json")}`);
}

process.on("SIGINT", () => void cleanupAll().then(() => process.exit(130)));
try {
  await main();
} finally {
  await cleanupAll();
}
