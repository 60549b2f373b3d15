import type { MetricsAddress } from "../../config/config.ts";
import { errorMessage } from "../../core/errors.ts";
import { log } from "../../core/logger.ts";
import type { FuseSession } from "../../fuse/session.ts";
import { LATENCY_BUCKETS_S } from "../../fuse/sessionShared.ts";
import type { Origin } from "../../origins/origin.ts";
import { SCAN_KINDS, type ScanActivity, type ScanFigures } from "../sync/scanActivity.ts";
import type { ContentCache } from "../cache/contentCache.ts";
import type { PinManager } from "../cache/pinManager.ts";
import type { BackgroundTasks } from "../sync/backgroundSync.ts";
import { renderPrometheus, type MetricFamily } from "./prometheus.ts";

/**
 * What the metrics read of a running mount (every figure is read when scraped: nothing is kept twice). Served from
 * before the first scan: the parts that start later (the session, the content cache, the syncs) are null until then.
 */
export interface MetricSources {
  origins: readonly Origin[];
  files: () => number;
  scans: ScanActivity;
  content: ContentCache | null;
  pins: PinManager | null;
  session: FuseSession | null;
  background: BackgroundTasks | null;
  startedAtMs: number;
}

const counter = (name: string, help: string, samples: { labels?: Record<string, string>; value: number }[]): MetricFamily => ({ name, help, type: "counter", samples });
const gauge = (name: string, help: string, samples: { labels?: Record<string, string>; value: number }[]): MetricFamily => ({ name, help, type: "gauge", samples });

/** Every metric, as docs/metrics.md lists them. */
export function collectMetrics(s: MetricSources): MetricFamily[] {
  const remote = s.origins.filter((o) => o.requestCounts);
  const requests = remote.flatMap((o) =>
    Object.entries(o.requestCounts!())
      .filter(([kind]) => kind !== "retries")
      .map(([kind, value]) => ({ labels: { origin: o.displayName, kind }, value })),
  );
  const retries = remote.map((o) => ({ labels: { origin: o.displayName }, value: o.requestCounts!().retries ?? 0 }));
  const received = remote.filter((o) => o.bytesReceived).map((o) => ({ labels: { origin: o.displayName }, value: o.bytesReceived!() }));
  const out: MetricFamily[] = [
    counter("musicfs_origin_requests_total", "Requests made to remote origins, by origin and kind (list, head, get).", requests),
    counter("musicfs_origin_retries_total", "Requests to remote origins that were tried again.", retries),
    counter("musicfs_origin_received_bytes_total", "Content bytes received from remote origins (GET bodies).", received),
    gauge("musicfs_library_files", "Files in the library.", [{ value: s.files() }]),
    gauge("musicfs_start_time_seconds", "When this mount started (Unix time).", [{ value: s.startedAtMs / 1000 }]),
  ];
  const c = s.content;
  if (c) {
    const st = c.stats();
    const fetches = c.cache.fetcher.fetchesInFlight();
    const pins = s.pins?.progress();
    out.push(
      counter("musicfs_cache_hits_total", "Reads answered from the content cache.", [{ value: st.hits }]),
      counter("musicfs_cache_misses_total", "Reads that had to wait for an origin.", [{ value: st.misses }]),
      counter("musicfs_cache_evictions_total", "Chunks and data files evicted to hold the cap or the disk's reserve.", [{ value: st.evictions }]),
      counter("musicfs_cache_evicted_bytes_total", "Bytes evicted.", [{ value: st.evictedBytes }]),
      counter("musicfs_cache_fetched_bytes_total", "Bytes fetched from origins into the content cache.", [{ value: st.originBytes }]),
      gauge("musicfs_cache_used_bytes", "Bytes the content cache holds on disk (chunks and data files).", [{ value: st.storedBytes }]),
      gauge("musicfs_cache_cap_bytes", "The content cache's cap (cache.max_size).", [{ value: c.cache.evictor.capBytes }]),
      gauge("musicfs_cache_pinned_bytes", "Bytes of pinned files (musicfs pin), cached or not.", [{ value: pins?.bytes ?? 0 }]),
      gauge("musicfs_cache_pinned_cached_bytes", "Bytes of pinned files that are cached.", [{ value: pins?.cachedBytes ?? 0 }]),
      gauge("musicfs_cache_pinned_files", "Pinned files, cached or not.", [{ value: pins?.files ?? 0 }]),
      gauge("musicfs_cache_open_files", "Open handles of cached files.", [{ value: st.openFiles }]),
      gauge("musicfs_fetches_in_flight", "Whole-file fetches running now.", [{ value: fetches.running }]),
      gauge("musicfs_fetches_queued", "Whole-file fetches waiting for a turn.", [{ value: fetches.queued }]),
    );
  }
  const session = s.session;
  out.push(
    counter("musicfs_fuse_requests_total", "FUSE requests received, by operation.", Object.entries(session?.requestCounts() ?? {}).map(([op, value]) => ({ labels: { op }, value }))),
    {
      name: "musicfs_fuse_request_duration_seconds",
      help: "Time from when a FUSE worker read a request from the kernel to when its reply was written, by operation (a read that waits for an origin included).",
      type: "histogram",
      bounds: LATENCY_BUCKETS_S,
      samples: Object.entries(session?.requestLatency() ?? {}).map(([op, l]) => ({ labels: { op }, buckets: l.buckets, sum: l.sumSeconds })),
    },
  );
  const scans = SCAN_KINDS.map((kind) => ({ kind, f: s.scans.figures(kind) }));
  const byState = (pick: (f: ScanFigures) => [number, number, number]) =>
    scans.flatMap(({ kind, f }) => (["found", "to_parse", "done"] as const).map((state, i) => ({ labels: { kind, state }, value: pick(f)[i]! })));
  out.push(
    gauge("musicfs_scan_running", "1 while a scan runs, by kind (first_scan: the library's first, before the mount serves; sync: a delta sync).", scans.map(({ kind, f }) => ({ labels: { kind }, value: f.running ? 1 : 0 }))),
    gauge(
      "musicfs_scan_files",
      "Audio files of the running (or latest) scan, by kind and state: found by the walk so far, to parse (new or changed), parsed.",
      byState((f) => [f.found, f.toParse, f.done]),
    ),
    gauge("musicfs_scan_bytes", "Origin bytes of those files, by kind and state (found, to_parse, done).", byState((f) => [f.foundBytes, f.toParseBytes, f.doneBytes])),
    gauge("musicfs_scan_walk_done", "1 once the running (or latest) scan's walk finished: its found and to_parse figures are final.", scans.map(({ kind, f }) => ({ labels: { kind }, value: f.walkDone ? 1 : 0 }))),
  );
  const background = s.background;
  const sync = background?.lastSync() ?? null;
  out.push(
    gauge("musicfs_sync_running", "1 while a delta sync runs.", [{ value: background?.syncing() ? 1 : 0 }]),
    counter("musicfs_syncs_total", "Delta syncs completed by this mount.", [{ value: background?.completedSyncs() ?? 0 }]),
    gauge("musicfs_last_sync_timestamp_seconds", "When the last delta sync completed (Unix time; 0: none yet).", [{ value: sync ? sync.at / 1000 : 0 }]),
    gauge("musicfs_last_sync_duration_seconds", "How long the last delta sync took.", [{ value: sync ? sync.ms / 1000 : 0 }]),
    gauge(
      "musicfs_last_sync_files",
      "Files the last delta sync found, by change (added, modified, removed, unchanged).",
      (["added", "modified", "removed", "unchanged"] as const).map((change) => ({ labels: { change }, value: sync ? sync[change] : 0 })),
    ),
  );
  return out;
}

/**
 * `--metrics ADDR`: GET /metrics in Prometheus text format on a loopback address (config.ts refuses others). A port
 * that cannot be bound costs a warning, never the mount.
 */
export function serveMetrics(address: MetricsAddress, sources: MetricSources): { stop(): void } | null {
  try {
    const server = Bun.serve({
      hostname: address.hostname,
      port: address.port,
      fetch(req) {
        if (new URL(req.url).pathname !== "/metrics") return new Response("musicfs serves /metrics only\n", { status: 404 });
        return new Response(renderPrometheus(collectMetrics(sources)), { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } });
      },
    });
    log.info(`Metrics at http://${address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname}:${server.port}/metrics`);
    return { stop: () => void server.stop(true) };
  } catch (e) {
    log.warn(`Metrics could not be served at ${address.hostname}:${address.port} (${errorMessage(e)}); the mount goes on without them.`);
    return null;
  }
}
