import { UserError } from "../../core/errors.ts";
import type { ControlHandler } from "../control/controlServer.ts";
import type { LiveMount } from "../mount/mountSession.ts";
import { clearLiveCache, resolveOriginId, verifyCache } from "./cacheMaintenance.ts";

const NO_CACHE = new UserError("This mount caches no origin (no origin has cache = \"full\"): there is nothing to pin or clear.", 'Set cache = "full" on a remote or local origin in config.toml (S3 origins are always cached).');

function stringList(v: unknown, what: string): string[] {
  if (!Array.isArray(v) || v.length === 0 || !v.every((p) => typeof p === "string")) throw new UserError(`"${what}" must be a non-empty list of strings.`);
  return v as string[];
}

/** The commands a running mount answers on its control socket, as thin calls into the mount's parts. */
export function controlHandlers(live: LiveMount): Record<string, ControlHandler> {
  const content = () => live.content ?? (() => { throw NO_CACHE; })();
  const pins = () => live.pins ?? (() => { throw NO_CACHE; })();
  return {
    ping: () => ({ pid: process.pid }),
    status: () => ({ ...live.status(), pins: live.pins?.progress() ?? null }),
    sync: async () => {
      const summary = await live.background.syncNow();
      return summary && { added: summary.added, modified: summary.modified, removed: summary.removed, unchanged: summary.unchanged, heldBack: summary.heldBack, skippedOrigins: summary.skippedOrigins, ms: summary.ms };
    },
    "cache.clear": async (args) => {
      const c = content();
      const origin = args.origin === undefined ? undefined : resolveOriginId(String(args.origin), live.library.db.listOriginIds());
      const r = await clearLiveCache(live.paths, live.library, c, origin);
      live.pins?.recheck();
      return { ...r, storedBytes: c.cache.ledger.getTotals().storedBytes, capBytes: c.cache.evictor.capBytes };
    },
    "cache.verify": async () => {
      const r = await verifyCache(live.paths, live.library, live.config, content());
      live.pins?.recheck();
      return r;
    },
    pin: (args) => pins().pin(stringList(args.paths, "paths")),
    unpin: (args) => pins().unpin(stringList(args.paths, "paths")),
    pins: () => pins().report(),
    "pins.wait": async (args) => ({ progress: await pins().waitForProgress(typeof args.ms === "number" ? args.ms : 1000) }),
  };
}
