import type { MusicFsConfig, OriginConfig } from "../config/config.ts";
import { log, tildify } from "../core/logger.ts";
import type { Database } from "../db/database.ts";

/**
 * The origins to use: the ones given (then remembered for next time), or — when none are given — the ones of the
 * last mount of this cache dir, so `musicfs mount ~/MusicView` alone brings the library back.
 */
export function rememberedOrigins(db: Database, config: MusicFsConfig): OriginConfig[] {
  if (config.origins.length > 0) {
    db.setMeta("origins", JSON.stringify(config.origins));
    return config.origins;
  }
  const stored = db.getMeta("origins");
  if (!stored) return [];
  const origins = JSON.parse(stored) as OriginConfig[];
  log.info(`Using the origins of the last mount: ${origins.map((o) => tildify(o.path)).join(", ")}.`);
  return origins;
}

