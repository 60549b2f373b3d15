/**
 * Delta sync benchmark (issue 5): musicfs from source, as a child process.
 *
 *   bun run bench/sync/run.ts                          unchanged 100k; 1,000 changes in 100k; SIGTERM at 100k
 *   bun run bench/sync/run.ts --sizes 100000,1000000   the unchanged sync at 1M too (needs lib1m; first scan if no c1m)
 *   bun run bench/sync/run.ts --quick                  10k library, 100 changes, 3 stops
 *   options: --runs N (default 3)  --stops N (default 5)  --skip-unchanged  --skip-changes  --skip-stop
 *
 * 1. Unchanged: mount an already scanned library (one warm-up mount first, so the page cache is warm), read the
 *    "Delta sync complete … in X s" line; median of --runs.
 * 2. Changes: a hard-linked copy of the library (libsync<size>, no extra disk) gets, per round, 0.5% of its files
 *    retagged (rewritten with src/sample writers under a new title/genre: new inode, the original stays intact),
 *    0.25% deleted and 0.25% added (1,000 changes at 100k); the next mount's delta sync must report exactly those
 *    counts. Median over --runs rounds.
 * 3. SIGTERM → exit of a mounted library whose delta sync completed: median of --stops.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { writeFlac } from "../../src/sample/flacWriter.ts";
import { writeMp3 } from "../../src/sample/mp3Writer.ts";
import type { TrackTags } from "../../src/sample/tags.ts";
import { silence } from "../../src/sample/tone.ts";
import {
  BENCH_ROOT, DELTA_SYNC_LINE, cacheDirFor, ensureLibrary, flag, freshMountpoint, int, leftoverMounts, load1, median,
  mountAndWait, ms, numberList, option, parseDeltaSync, sh, sizeLabel,
} from "../mount/harness.ts";

const QUICK = flag("quick");
const SIZES = QUICK ? [10_000] : numberList("sizes", "100000");
const CHANGE_SIZE = QUICK ? 10_000 : 100_000;
const RUNS = Number(option("runs", "3"));
const STOPS = Number(option("stops", QUICK ? "3" : "5"));

type SyncCounts = ReturnType<typeof parseDeltaSync>;

/** One mount: wait for the background delta sync's log line, then an ordered stop. */
async function mountOnceAndSync(origin: string, cacheDir: string): Promise<{ sync: SyncCounts; readyMs: number; exitMs: number }> {
  const mnt = freshMountpoint("sync");
  const { child, readyMs } = await mountAndWait({ mnt, origin, cacheDir });
  try {
    const sync = parseDeltaSync((await child.waitFor(DELTA_SYNC_LINE, 1_800_000)).match);
    const { exitMs } = await child.stop();
    return { sync, readyMs, exitMs };
  } finally {
    await child.stop();
    rmSync(mnt, { recursive: true, force: true });
  }
}

async function measureUnchangedSync(size: number): Promise<string> {
  const origin = await ensureLibrary(size);
  const cacheDir = cacheDirFor(size);
  const load = load1();
  // The warm-up mount also does the first scan when the cache dir is new; its sync is not counted.
  await mountOnceAndSync(origin, cacheDir);
  const seconds: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const { sync } = await mountOnceAndSync(origin, cacheDir);
    if (sync.added + sync.modified + sync.removed !== 0) throw new Error(`the library changed: ${JSON.stringify(sync)}`);
    seconds.push(sync.seconds);
  }
  const target = size >= 1_000_000 ? ` — target ≤ 10 s: ${median(seconds) <= 10 ? "met" : "**not met**"}` : "";
  return `| unchanged, ${int(size)} files | ${median(seconds).toFixed(1)} s (runs: ${seconds.map((s) => s.toFixed(1)).join(", ")} s) | load ${load} → ${load1()}${target} |`;
}

interface Entry {
  path: string;
  title: string;
  artists: string[];
  album: string;
  albumartist: string;
  track: number;
  year: number;
  genre: string;
}

/** A deterministic-per-seed pseudo-random picker (each round picks other files). */
function picker(seed: number) {
  let s = seed >>> 0 || 1;
  return (n: number) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s % n;
  };
}

/** A synthetic track's bytes with the given tags, as the generator writes them (tiny: a fraction of a second). */
function trackBytes(path: string, tags: TrackTags): Uint8Array {
  return path.endsWith(".flac") ? writeFlac(tags, silence(0.05)) : writeMp3(tags, { seconds: 0.1, bitrateKbps: 32 });
}

function tagsOf(e: Entry): TrackTags {
  return { title: e.title, artists: e.artists, album: e.album, albumArtist: e.albumartist, track: e.track, year: e.year, genre: e.genre };
}

/**
 * Applies retag/delete/add changes to `work` and returns the expected counts. Retagged files are written to a
 * temporary name and renamed over the old one: `work` is a hard-linked copy, so writing in place would also change
 * the shared library.
 */
function applyChanges(work: string, entries: Entry[], round: string, retag: number, remove: number, add: number) {
  const pick = picker(Date.now());
  const chosen = new Set<number>();
  const existing = (): Entry => {
    for (;;) {
      const i = pick(entries.length);
      if (!chosen.has(i) && existsSync(join(work, entries[i]!.path))) {
        chosen.add(i);
        return entries[i]!;
      }
    }
  };
  for (let i = 0; i < retag; i++) {
    const e = existing();
    const file = join(work, e.path);
    writeFileSync(`${file}.tmp`, trackBytes(e.path, { ...tagsOf(e), title: `${e.title} (retag ${round})`, genre: "Retagged" }));
    renameSync(`${file}.tmp`, file);
  }
  for (let i = 0; i < remove; i++) unlinkSync(join(work, existing().path));
  for (let i = 0; i < add; i++) {
    const e = entries[pick(entries.length)]!;
    const ext = e.path.endsWith(".flac") ? "flac" : "mp3";
    const album = `Added ${round}`;
    const path = join("zz-added", round, `${String(i + 1).padStart(3, "0")} ${e.title}.${ext}`);
    mkdirSync(dirname(join(work, path)), { recursive: true });
    writeFileSync(join(work, path), trackBytes(path, { ...tagsOf(e), album, albumArtist: "Bench Adder", track: i + 1 }));
  }
  return { added: add, modified: retag, removed: remove };
}

function readManifest(lib: string): Entry[] {
  return readFileSync(join(lib, "manifest.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Entry);
}

async function measureChanges(size: number): Promise<string[]> {
  const lib = await ensureLibrary(size);
  const work = join(BENCH_ROOT, `libsync${sizeLabel(size)}`);
  const cacheDir = join(BENCH_ROOT, `csync${sizeLabel(size)}`);
  if (!existsSync(work)) sh(`cp -al '${lib}' '${work}'`); // hard links: no disk, and the original is never written
  const entries = readManifest(lib);
  const retag = size / 200, remove = size / 400, add = size / 400;
  // Settle: the first mount scans (new cache dir) or absorbs what an interrupted earlier run left unsynced.
  await mountOnceAndSync(work, cacheDir);
  const rows: string[] = [];
  const seconds: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const round = `${Date.now().toString(36)}-${r}`;
    const expected = applyChanges(work, entries, round, retag, remove, add);
    const load = load1();
    const { sync } = await mountOnceAndSync(work, cacheDir);
    const countsOk = sync.added === expected.added && sync.modified === expected.modified && sync.removed === expected.removed;
    seconds.push(sync.seconds);
    rows.push(
      `| ${int(retag + remove + add)} changes in ${int(size)}, round ${r + 1} | ${sync.seconds.toFixed(1)} s | ` +
        `log: ${sync.added} added, ${sync.modified} modified, ${sync.removed} removed, ${int(sync.unchanged)} unchanged; ` +
        `expected ${expected.added}/${expected.modified}/${expected.removed}: ${countsOk ? "counts match" : "**COUNTS DIFFER**"}; load ${load} |`,
    );
  }
  rows.push(`| ${int(retag + remove + add)} changes in ${int(size)}, median of ${RUNS} | ${median(seconds).toFixed(1)} s | |`);
  return rows;
}

async function measureStop(size: number): Promise<string> {
  const origin = await ensureLibrary(size);
  const cacheDir = cacheDirFor(size);
  const load = load1();
  const exits: number[] = [];
  for (let i = 0; i < STOPS; i++) exits.push((await mountOnceAndSync(origin, cacheDir)).exitMs);
  return `| SIGTERM → exit, ${int(size)} files mounted, sync done | ${ms(median(exits))} (runs: ${exits.map((x) => Math.round(x)).join(", ")} ms) | load ${load} → ${load1()} |`;
}

const rows: string[] = [];
try {
  if (!flag("skip-unchanged")) for (const size of SIZES) rows.push(await measureUnchangedSync(size));
  if (!flag("skip-changes")) rows.push(...(await measureChanges(CHANGE_SIZE)));
  if (!flag("skip-stop")) rows.push(await measureStop(CHANGE_SIZE));
} finally {
  const left = leftoverMounts();
  if (left.length) console.error(`leftover mounts: ${left.join("; ")}`);
}
console.log(`\n### Delta sync (median of ${RUNS}; SIGTERM median of ${STOPS})\n`);
console.log("| what | time | notes |");
console.log("|---|---:|---|");
for (const r of rows) console.log(r);
console.log(`\nSUMMARY sync: ${rows.filter((r) => r.includes("median") || r.includes("unchanged,") || r.includes("SIGTERM")).map((r) => r.split("|").slice(1, 3).join(":").trim()).join(" | ")}`);
