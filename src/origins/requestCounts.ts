import type { Origin } from "./origin.ts";

/** Requests made to each remote origin so far (by display name); undefined without remote origins. */
export function remoteRequestCounts(origins: readonly Origin[]): Record<string, Record<string, number>> | undefined {
  const remote = origins.filter((o) => o.requestCounts);
  if (remote.length === 0) return undefined;
  return Object.fromEntries(remote.map((o) => [o.displayName, o.requestCounts!()]));
}

/** All requests to remote origins so far (retries not counted twice), or null without remote origins. */
export function remoteRequestTotal(origins: readonly Origin[]): number | null {
  const counts = remoteRequestCounts(origins);
  if (!counts) return null;
  return Object.values(counts).reduce((n, c) => n + Object.entries(c).reduce((m, [k, v]) => (k === "retries" ? m : m + v), 0), 0);
}
