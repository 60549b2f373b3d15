import { statSync } from "node:fs";
import { isS3Origin, type OriginConfig } from "../../config/config.ts";
import { errnoCode, errorMessage } from "../../core/errors.ts";
import { tildify } from "../../core/logger.ts";
import { isAudioPath } from "../../library/audioFormats.ts";
import type { Origin, WalkReport } from "../../origins/origin.ts";
import { S3Origin } from "../../origins/s3Origin.ts";

/** What an origin new to a cache dir turned out to be when tried: usable (and whether it holds audio), or why not. */
export type OriginProbe = { usable: true; holdsAudio: boolean } | { usable: false; problem: string; hint: string };

/**
 * Tries an origin before a changed origin list is applied (docs/origins.md, "A mistyped or removed origin"): it must
 * exist and list. Walks only until the first audio file (a folder) or the first page with one (a bucket).
 */
export async function probeOrigin(origin: Origin, config: OriginConfig): Promise<OriginProbe> {
  if (isS3Origin(config)) {
    const hint = "Check the bucket and prefix, the endpoint and region, and the credentials.";
    try {
      if (origin instanceof S3Origin) await origin.checkAccess();
      return { usable: true, holdsAudio: await holdsAudio(origin) };
    } catch (e) {
      return { usable: false, problem: errorMessage(e), hint };
    }
  }
  const where = tildify(config.path);
  try {
    if (!statSync(config.path).isDirectory()) return { usable: false, problem: `The origin ${where} is not a directory`, hint: "Give the folder that holds the music." };
  } catch (e) {
    const missing = errnoCode(e) === "ENOENT";
    return {
      usable: false,
      problem: missing ? `The origin ${where} does not exist` : `The origin ${where} cannot be read (${errnoCode(e) ?? errorMessage(e)})`,
      hint: missing ? "Check the path, or mount the disk or share it lives on." : "Check its permissions.",
    };
  }
  const report: WalkReport = { unreadable: [], symlinkLoops: 0 };
  try {
    const audio = await holdsAudio(origin, report);
    const root = report.unreadable.find((u) => u.path === ".");
    if (root) return { usable: false, problem: `The origin ${where} cannot be read (${root.reason})`, hint: "Check its permissions." };
    return { usable: true, holdsAudio: audio };
  } catch (e) {
    return { usable: false, problem: `The origin ${where} cannot be read (${errorMessage(e)})`, hint: "Check the path and its permissions." };
  }
}

async function holdsAudio(origin: Origin, report?: WalkReport): Promise<boolean> {
  for await (const batch of origin.walk(report)) if (batch.some((e) => isAudioPath(e.realPath))) return true;
  return false;
}
