import { existsSync, statSync } from "node:fs";
import { isS3Origin, type OriginConfig } from "../../config/config.ts";
import { UserError } from "../../core/errors.ts";
import { log, tildify } from "../../core/logger.ts";
import type { Origin } from "../../origins/origin.ts";
import { S3Origin } from "../../origins/s3Origin.ts";

/** A first scan needs every origin: refuse clearly rather than persist half a library. */
export async function requireReachableOrigins(origins: readonly Origin[], configs: readonly OriginConfig[]): Promise<void> {
  if (origins.length === 0) {
    throw new UserError(
      "No music folder to scan: give one with --origin DIR (repeatable), or list [[origins]] in the config file.",
    );
  }
  for (const origin of origins) {
    if (origin instanceof S3Origin) {
      try {
        await origin.checkAccess();
      } catch (e) {
        throw new UserError(`${(e as Error).message}.`);
      }
    }
  }
  for (const o of configs) {
    if (isS3Origin(o)) continue;
    if (!existsSync(o.path)) throw new UserError(`The origin ${tildify(o.path)} does not exist.`, "Check the path, or mount the disk or share it lives on.");
    if (!statSync(o.path).isDirectory()) throw new UserError(`The origin ${tildify(o.path)} is not a directory.`);
  }
}

/** Later mounts never wait for origins; an unreachable one only costs reads of its files. */
export async function warnAboutUnreachableOrigins(origins: readonly Origin[]): Promise<void> {
  for (const o of origins) {
    if (o instanceof S3Origin) continue; // a request each: the background delta sync finds out and warns
    if (!(await o.isAvailable()))
      log.warn(`Origin ${o.displayName} is not reachable: its files stay listed, reading them fails until it is back.`);
  }
}
