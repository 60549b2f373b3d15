/**
 * The measuring pieces of the side-by-side mount bench (bench/s3/mount.ts): a timed `dd`, dropping the page cache,
 * letting the disk settle after a big write, CPU of a whole process tree from /proc, and the FUSE READs a musicfs
 * mount answered (its Prometheus metrics). None of them touches a mount synchronously: the bench process also runs
 * the proxy the mounts talk to.
 */
import { readdirSync, readFileSync } from "node:fs";
import { open } from "node:fs/promises";

export const MB = 1_000_000;

export async function sh(cmd: string[]): Promise<string> {
  const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`${cmd.join(" ")} failed (${code}): ${err}`);
  return out + err;
}

/** Reads the whole file with `dd bs=1M` and returns MB/s (dd's own figure: bytes / its elapsed time). */
export async function ddMBps(file: string): Promise<number> {
  const out = await sh(["dd", `if=${file}`, "of=/dev/null", "bs=1M"]);
  const m = out.match(/(\d+) bytes .* copied, ([\d.]+) s/);
  if (!m) throw new Error(`cannot parse dd output: ${out}`);
  return Number(m[1]) / Number(m[2]) / MB;
}

/**
 * Drops the page cache (root): every page, so that a read comes from the disk whatever layer (FUSE file, passthrough
 * backing file, rclone's cache file) held it. Without root, only the file's own pages (`dd iflag=nocache`).
 */
export const dropPages = (file: string) =>
  process.getuid?.() === 0
    ? sh(["sh", "-c", "sync; echo 3 > /proc/sys/vm/drop_caches"])
    : sh(["dd", `if=${file}`, "iflag=nocache", "count=0", "status=none"]);

/** Dirty + Writeback bytes of the whole machine (/proc/meminfo). */
function unwrittenBytes(): number {
  const info = readFileSync("/proc/meminfo", "utf8");
  const kib = (name: string) => Number(info.match(new RegExp(`^${name}:\\s+(\\d+) kB`, "m"))?.[1] ?? 0);
  return (kib("Dirty") + kib("Writeback")) * 1024;
}

/**
 * `sync`, then wait until the machine has little left to write and a quiet second has passed. Why: the first read
 * of a file right after the `sync` that flushed it ran at a third of the speed of the next one — through the mount
 * and on the data file read directly alike (64 MiB: 474–695 MB/s then 1.3–1.9 GB/s; after `sync` and 5 s: 1.65 GB/s
 * at once). A cached read measured right after the cold read measured the disk's flush, not the cache. Bounded
 * (other sessions may keep the disk busy): at most `maxMs`.
 */
export async function settleDisk(maxMs = 15_000): Promise<void> {
  const t = performance.now();
  await sh(["sync"]);
  while (unwrittenBytes() > 16 * MB && performance.now() - t < maxMs) await Bun.sleep(200);
  await Bun.sleep(Math.max(0, Math.min(1000, maxMs - (performance.now() - t))));
}

/** CPU seconds (user + system) of one process from /proc/<pid>/stat: all its threads, and its reaped children. */
function processCpu(pid: number): { cpu: number; ppid: number } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined; // exited meanwhile
  }
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields after the name: state ppid … utime(11) stime(12) cutime(13) cstime(14), in clock ticks (USER_HZ = 100)
  return { cpu: (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100, ppid: Number(f[1]) };
}

/**
 * CPU seconds of a process and every live descendant (all threads of each: /proc/<pid>/stat counts a process's
 * threads, and `cutime`/`cstime` its children already reaped). A mount that hands work to a helper process is
 * charged for it.
 */
export function treeCpuSeconds(root: number): number {
  const procs = new Map<number, { cpu: number; ppid: number }>();
  for (const name of readdirSync("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const p = processCpu(pid);
    if (p) procs.set(pid, p);
  }
  let total = 0;
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.pop()!;
    total += procs.get(pid)?.cpu ?? 0;
    for (const [child, p] of procs) if (p.ppid === pid) queue.push(child);
  }
  return total;
}

/**
 * CPU seconds of every process whose command line or environment mentions `marker` (a private Ceph cluster's data
 * dir: its daemons get their config through CEPH_CONF).
 */
export function cpuSecondsOfProcessesWith(marker: string): number {
  let total = 0;
  for (const name of readdirSync("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/cmdline`, "utf8") + readFileSync(`/proc/${pid}/environ`, "utf8");
    } catch {
      continue;
    }
    if (text.includes(marker) && pid !== process.pid) total += processCpu(pid)?.cpu ?? 0;
  }
  return total;
}

/** FUSE READ requests a musicfs mount has answered so far (its `--metrics` endpoint). */
export async function fuseReads(metricsPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  return Number(text.match(/^musicfs_fuse_requests_total\{op="READ"\} (\d+)/m)?.[1] ?? 0);
}

/** Until `file` has all `size` bytes allocated on disk (rclone's sparse cache file, written as it reads). */
export async function untilAllocated(file: string, size: number, maxMs = 60_000): Promise<void> {
  const t = performance.now();
  for (;;) {
    const st = await Bun.file(file).stat().catch(() => undefined);
    if (st && st.blocks * 512 >= size) return;
    if (performance.now() - t > maxMs) throw new Error(`${file} did not reach ${size} bytes on disk`);
    await Bun.sleep(100);
  }
}

/**
 * MB/s of reading `size` bytes of `file` by ranged GETs of `seg` bytes, `par` in flight, consumed in file order (as
 * a sequential reader needs them): what the store delivers to Bun's client without any mount (bench/s3/ceiling.ts).
 */
export async function rangedGetsMBps(file: Bun.S3File, size: number, seg: number, par: number): Promise<number> {
  const t = performance.now();
  const inFlight: Promise<ArrayBuffer>[] = [];
  let next = 0;
  let got = 0;
  while (got < size) {
    while (inFlight.length < par && next < size) {
      inFlight.push(file.slice(next, Math.min(size, next + seg)).arrayBuffer());
      next += seg;
    }
    got += (await inFlight.shift()!).byteLength;
  }
  return size / ((performance.now() - t) / 1000) / MB;
}

/** A thread's name without its number (/proc/<pid>/task/<tid>/comm: "Bun Pool 3" → "Bun Pool"); "bun" is the main thread. */
function threadGroup(comm: string): string {
  return comm.replace(/\s*\d+$/, "") || comm;
}

/**
 * CPU seconds of one process by thread name: for Bun, "bun" (the main thread), "Worker" (FUSE workers and hash
 * workers alike: Bun names them all so), "Bun Pool" (async fs calls), "HeapHelper"/"JITWorker" (GC, JIT) and the
 * rest by their names. Threads that ended meanwhile are not counted here (treeCpuSeconds has them): a profile of
 * where a cold read's CPU goes, not a total.
 */
export function threadCpuSeconds(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const group = threadGroup(comm);
      out[group] = (out[group] ?? 0) + (Number(f[11]) + Number(f[12])) / 100;
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

/** Milliseconds to open `file` and read `length` bytes at `offset` (what a player's first read or a seek costs). */
export async function timedRead(file: string, offset: number, length: number): Promise<number> {
  const t = performance.now();
  const fh = await open(file, "r");
  try {
    const { bytesRead } = await fh.read(new Uint8Array(length), 0, length, offset);
    if (bytesRead !== length) throw new Error(`short read of ${file}: ${bytesRead}`);
  } finally {
    await fh.close();
  }
  return performance.now() - t;
}
