/**
 * A timeline of the GETs in flight during a read, from what the proxy saw (test/support/faultProxy.ts: each
 * request's arrival, and when its answer's first and last bytes were handed to the client). Pure: what keeps a
 * cold read's window from being full shows as time with few GETs in flight, or GETs that start late.
 */
import type { ProxyRequest } from "../../test/support/faultProxy.ts";

export interface TimelineSummary {
  gets: number;
  /** Time-weighted mean of GETs in flight (arrival → last byte) over [t0, t1]. */
  meanInFlight: number;
  /** Share of [t0, t1] with no GET in flight, and with at most one. */
  idleShare: number;
  oneOrNoneShare: number;
  /** Medians: arrival → first byte, first → last byte (ms); MiB per GET. */
  firstByteMs: number;
  bodyMs: number;
  mibPerGet: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const rangeBytes = (r: ProxyRequest) => {
  const m = /bytes=(\d+)-(\d+)/.exec(r.range ?? "");
  return m ? Number(m[2]) - Number(m[1]) + 1 : 0;
};

export function summarizeTimeline(gets: ProxyRequest[], t0: number, t1: number): TimelineSummary {
  const events: [number, number][] = [];
  for (const g of gets) {
    const end = Math.min(t1, g.lastByteAt ?? t1);
    if (g.at >= t1 || end <= t0) continue; // not during [t0, t1]
    events.push([Math.max(t0, g.at), 1], [end, -1]);
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let n = 0;
  let at = t0;
  let weighted = 0;
  let idle = 0;
  let low = 0;
  for (const [t, d] of events) {
    const dt = Math.max(0, t - at);
    weighted += n * dt;
    if (n === 0) idle += dt;
    if (n <= 1) low += dt;
    n += d;
    at = Math.max(at, t);
  }
  const tail = Math.max(0, t1 - at);
  if (n === 0) idle += tail;
  if (n <= 1) low += tail;
  weighted += n * tail;
  const span = Math.max(1e-9, t1 - t0);
  return {
    gets: gets.length,
    meanInFlight: weighted / span,
    idleShare: idle / span,
    oneOrNoneShare: low / span,
    firstByteMs: median(gets.filter((g) => g.firstByteAt !== undefined).map((g) => g.firstByteAt! - g.at)),
    bodyMs: median(gets.filter((g) => g.firstByteAt !== undefined).map((g) => g.lastByteAt! - g.firstByteAt!)),
    mibPerGet: median(gets.map(rangeBytes)) / 2 ** 20,
  };
}

/** One line per GET: ms since t0 of arrival, first byte, last byte; its range in MiB. */
export function timelineLines(gets: ProxyRequest[], t0: number): string[] {
  const ms = (t: number | undefined) => (t === undefined ? "-" : (t - t0).toFixed(0).padStart(5));
  return gets.map((g) => {
    const m = /bytes=(\d+)-(\d+)/.exec(g.range ?? "");
    const r = m ? `${(Number(m[1]) / 2 ** 20).toFixed(2)}-${((Number(m[2]) + 1) / 2 ** 20).toFixed(2)} MiB` : g.path;
    return `${ms(g.at)} ${ms(g.firstByteAt)} ${ms(g.lastByteAt)}  ${g.method} ${r}`;
  });
}
