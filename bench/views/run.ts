/**
 * Views (issue 10 item 5): a later mount with views configured must be as fast as one without — placements are
 * stored, so nothing proportional to the library runs at mount.
 *
 *   bun run bench/views/run.ts                    10k files, 2 views (Genres, Years), 7 rounds
 *   options: --files N  --rounds N
 *
 * Two cache dirs of the same synthetic library (bench/generate.ts --tiny --seed 1, as bench/mount): one mounted
 * without views, one with the built-in Genres and Years views. Each is scanned once (the first mount; for the one
 * with views it also lays the views out, timed from its log line). Then the later mounts alternate A (views) and
 * B (none), so drift on a shared machine hits both alike: spawn → "mounted at" (ready) and spawn → first non-empty
 * listing of the root; the ratio A/B is taken round by round and its median reported.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  BENCH_ROOT, MusicFsChild, cacheDirFor, ensureLibrary, freshMountpoint, int, lazyUnmount, load1, median, mountAndWait, ms, option, pollFirstListing,
} from "../mount/harness.ts";

const FILES = Number(option("files", "10000"));
const ROUNDS = Number(option("rounds", "7"));

const origin = await ensureLibrary(FILES);
const withViews = join(BENCH_ROOT, "views-config.toml");
writeFileSync(withViews, `[[view]]\nname = "Genres"\n\n[[view]]\nname = "Years"\n`);
const noViews = join(BENCH_ROOT, "no-views-config.toml");
writeFileSync(noViews, "");
const variants = [
  { label: "2 views", cacheDir: cacheDirFor(FILES, "-views2"), args: ["--config", withViews] },
  { label: "no views", cacheDir: cacheDirFor(FILES, "-views0"), args: ["--config", noViews] },
];
const mnt = freshMountpoint("views");

try {
  for (const v of variants) {
    if (existsSync(join(v.cacheDir, "metadata.db"))) continue;
    const { child, readyMs } = await mountAndWait({ mnt, origin, cacheDir: v.cacheDir, extraArgs: v.args });
    const viewsLine = child.lines.find((l) => l.text.includes("Views:"))?.text ?? "(no views)";
    console.log(`first mount, ${v.label}: ready in ${ms(readyMs)}; ${viewsLine.replace(/^.*Views:/, "Views:")}`);
    await child.stop();
  }

  const ready: Record<string, number[]> = { "2 views": [], "no views": [] };
  const firstLs: Record<string, number[]> = { "2 views": [], "no views": [] };
  /** The daemon's own "ready in N ms" (from its start, after the runtime's start-up, to the mount being served). */
  const own: Record<string, number[]> = { "2 views": [], "no views": [] };
  const ratios: { ready: number[]; firstLs: number[]; own: number[] } = { ready: [], firstLs: [], own: [] };
  const loads: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    loads.push(load1());
    const got: Record<string, { ready: number; firstLs: number; own: number }> = {};
    for (const v of variants) {
      const child = new MusicFsChild({ mnt, origin, cacheDir: v.cacheDir, extraArgs: v.args });
      // The ready line first (async: its time is when it arrived), then the listing (a synchronous poll).
      const { sinceSpawnMs, match } = await child.waitFor(/mounted at .*ready in (\d+) ms/, 120_000);
      const { firstLsMs } = pollFirstListing(mnt, child.startedAt);
      await child.stop();
      got[v.label] = { ready: sinceSpawnMs, firstLs: firstLsMs, own: Number(match[1]) };
      own[v.label]!.push(Number(match[1]));
      ready[v.label]!.push(sinceSpawnMs);
      firstLs[v.label]!.push(firstLsMs);
    }
    ratios.ready.push(got["2 views"]!.ready / got["no views"]!.ready);
    ratios.firstLs.push(got["2 views"]!.firstLs / got["no views"]!.firstLs);
    ratios.own.push(got["2 views"]!.own / got["no views"]!.own);
  }

  console.log(`daemon "ready in" per round, 2 views: ${own["2 views"]!.join(" ")}; no views: ${own["no views"]!.join(" ")}`);
  console.log(`\n${int(FILES)} files, ${ROUNDS} later mounts each, alternated (load ${loads.join(" ")}):\n`);
  console.log("| later mount | 2 views (Genres, Years) | no views | ratio (median of per-round ratios) |");
  console.log("|---|---|---|---|");
  console.log(`| spawn → ready line | ${ms(median(ready["2 views"]!))} | ${ms(median(ready["no views"]!))} | ${median(ratios.ready).toFixed(2)}× |`);
  console.log(`| the daemon's own "ready in" | ${ms(median(own["2 views"]!))} | ${ms(median(own["no views"]!))} | ${median(ratios.own).toFixed(2)}× |`);
  console.log(`| spawn → first listing of the root | ${ms(median(firstLs["2 views"]!))} | ${ms(median(firstLs["no views"]!))} | ${median(ratios.firstLs).toFixed(2)}× |`);
} finally {
  lazyUnmount(mnt);
}
