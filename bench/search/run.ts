/**
 * Search benchmarks: index build rate and query latency at 100k and 1M synthetic tracks.
 *
 *   bun run bench/search/run.ts                 # 100k and 1M
 *   bun run bench/search/run.ts 100000          # one size
 *
 * Writes nothing outside a temp dir; prints markdown for docs/benchmarks.md.
 * Queries run on a separate read-only connection, as a FUSE worker's `/.search/<query>` lookup does, with the
 * directory's result limit (999).
 */
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SEARCH_DIR_MAX_RESULTS } from "../../src/search/searchDirEntries.ts";
import { SearchIndex } from "../../src/search/searchIndex.ts";
import { hashKeys, makeRandom } from "../../src/sample/random.ts";
import { GENRES, syntheticLibrary, zipfIndex, type SyntheticLibrary } from "./syntheticLibrary.ts";

interface QueryCase {
  kind: string;
  query: string;
}

/**
 * A mix meant to look like what people type, weighted by kind. Words are drawn from the library itself with the
 * same Zipf skew, so popular artists and common words are asked for more often (the expensive direction).
 */
function queryMix(lib: SyntheticLibrary, count: number): QueryCase[] {
  const random = makeRandom(hashKeys(7));
  const artist = () => lib.artists[zipfIndex(random, lib.artists.length, 10)];
  const album = () => lib.albums[Math.floor(random() * lib.albums.length)];
  const word = (from: number, to: number) => lib.vocabulary[from + Math.floor(random() * (to - from))];
  const genre = () => GENRES[zipfIndex(random, GENRES.length)];
  const decade = () => 1950 + 10 * Math.floor(random() * 7);
  const typing = (s: string) => s.slice(0, Math.max(2, Math.ceil(s.length * (0.4 + random() * 0.5))));
  const kinds: [string, number, () => string][] = [
    ["artist name", 18, () => artist()],
    ["artist, typed as you go (prefix)", 10, () => typing(artist().toLowerCase())],
    ["album name", 8, () => `"${album()}"`],
    ["title words (mid-frequency)", 12, () => `${word(200, 5000)} ${word(200, 5000)}`],
    ["rare word", 6, () => word(10_000, 40_000)],
    ["common word (top 100)", 6, () => word(0, 100)],
    ["genre:X", 8, () => `genre:"${genre()}"`],
    ["year range / decade", 8, () => (random() < 0.5 ? `year:${decade()}s` : `year:${1950 + Math.floor(random() * 70)}`)],
    ["artist + two decades", 6, () => {
      const d = decade();
      return `artist:"${artist()}" year:${d}..${d + 19}`;
    }],
    ["genre + word", 6, () => `genre:"${genre()}" ${word(0, 2000)}`],
    ["A OR B", 6, () => `${artist()} OR ${artist()}`],
    ["word -exclusion", 6, () => `${word(0, 500)} -${word(0, 500)}`],
  ];
  const total = kinds.reduce((n, k) => n + k[1], 0);
  const out: QueryCase[] = [];
  for (let i = 0; i < count; i++) {
    let r = random() * total;
    const k = kinds.find((k) => (r -= k[1]) < 0) ?? kinds[0];
    out.push({ kind: k[0], query: k[2]() });
  }
  return out;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const fmt = (ms: number) => ms.toFixed(2);

async function benchSize(n: number): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), "musicfs-search-bench-"));
  const path = join(dir, "metadata.db");
  const lines: string[] = [];
  try {
    const db = new Database(path, { create: true });
    db.run("PRAGMA journal_mode = WAL");
    db.run("PRAGMA synchronous = NORMAL");
    const index = new SearchIndex(db);
    index.open();
    const lib = syntheticLibrary(n);
    // Materialise first so that the build rate measures indexing, not the generator.
    const tracks = [...lib.tracks()];
    const t0 = performance.now();
    index.rebuild(tracks, { batchSize: 5000 });
    const buildMs = performance.now() - t0;
    db.run("PRAGMA wal_checkpoint(TRUNCATE)");
    const sizeMb = statSync(path).size / 1e6;

    // Incremental writes as a delta sync does them: replace 1000 existing rows in one transaction.
    const t1 = performance.now();
    index.indexFiles(tracks.slice(0, 1000).map((t) => ({ ...t, title: `${t.title} remastered` })));
    const update1000Ms = performance.now() - t1;

    const t2 = performance.now();
    const healthy = index.integrityCheck();
    const integrityMs = performance.now() - t2;
    const t3 = performance.now();
    index.state();
    const stateMs = performance.now() - t3;

    const ro = new Database(path, { readonly: true });
    const reader = new SearchIndex(ro);
    const t4 = performance.now();
    const decades = reader.decades();
    const decadesMs = performance.now() - t4;

    const mix = queryMix(lib, 2000);
    for (const q of mix.slice(0, 200)) reader.search(q.query, { limit: SEARCH_DIR_MAX_RESULTS }); // warm-up
    const byKind = new Map<string, number[]>();
    const all: number[] = [];
    const modes = new Map<string, number>();
    let resultCount = 0;
    const cpuAll: number[] = [];
    for (const q of mix) {
      const c = process.cpuUsage();
      const s = performance.now();
      const r = reader.search(q.query, { limit: SEARCH_DIR_MAX_RESULTS });
      const ms = performance.now() - s;
      const cu = process.cpuUsage(c);
      cpuAll.push((cu.user + cu.system) / 1000);
      resultCount += r.results.length;
      all.push(ms);
      if (!byKind.has(q.kind)) byKind.set(q.kind, []);
      byKind.get(q.kind)!.push(ms);
      modes.set(r.ranking, (modes.get(r.ranking) ?? 0) + 1);
    }
    all.sort((a, b) => a - b);
    cpuAll.sort((a, b) => a - b);

    lines.push(`### ${n.toLocaleString("en")} tracks`, "");
    lines.push(`- build (rebuild from rows, batches of 5000): ${fmt(buildMs / 1000)} s = **${Math.round(n / (buildMs / 1000)).toLocaleString("en")} tracks/s**`);
    lines.push(`- metadata.db with only the search tables: ${sizeMb.toFixed(0)} MB`);
    lines.push(`- re-index 1000 changed tracks in one transaction: ${fmt(update1000Ms)} ms`);
    lines.push(`- state() at mount: ${fmt(stateMs)} ms; integrityCheck(): ${fmt(integrityMs)} ms (${healthy ? "ok" : "FAILED"})`);
    lines.push(`- decades() (${decades.length} decades): ${fmt(decadesMs)} ms`);
    lines.push(`- ${mix.length} queries, limit ${SEARCH_DIR_MAX_RESULTS}, read-only connection, avg ${Math.round(resultCount / mix.length)} results; ranking modes: ${[...modes].map(([m, c]) => `${m} ${c}`).join(", ")}`);
    lines.push("");
    lines.push("| query kind | share | p50 ms | p95 ms | max ms |", "|---|---|---|---|---|");
    for (const [kind, times] of [...byKind].sort((a, b) => b[1].length - a[1].length)) {
      times.sort((a, b) => a - b);
      lines.push(`| ${kind} | ${Math.round((100 * times.length) / mix.length)} % | ${fmt(percentile(times, 50))} | ${fmt(percentile(times, 95))} | ${fmt(times.at(-1)!)} |`);
    }
    lines.push(`| **whole mix** | 100 % | **${fmt(percentile(all, 50))}** | **${fmt(percentile(all, 95))}** | ${fmt(all.at(-1)!)} |`);
    lines.push(`| (p99 of the mix) | | | ${fmt(percentile(all, 99))} | |`);
    lines.push(`| (CPU time of the mix) | | ${fmt(percentile(cpuAll, 50))} | ${fmt(percentile(cpuAll, 95))} | ${fmt(cpuAll.at(-1)!)} |`);
    lines.push("");
    ro.close();
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return lines;
}

const sqliteVersion = (new Database(":memory:").query("SELECT sqlite_version() AS v").get() as { v: string }).v;
const loadAverage = (await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).join(" ");
const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const out: string[] = [
  `Run: \`bun run bench/search/run.ts ${sizes.join(" ")}\` — Bun ${Bun.version}, SQLite ${sqliteVersion}, ` +
    `${navigator.hardwareConcurrency} CPUs, load average at start ${loadAverage}, ${new Date().toISOString().slice(0, 10)}`,
  "",
];
for (const n of sizes.length ? sizes : [100_000, 1_000_000]) {
  out.push(...(await benchSize(n)));
  console.error(`done ${n}`);
}
console.log(out.join("\n"));
