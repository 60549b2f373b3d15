import { type OriginConfig, isS3Origin, type S3OriginConfig } from "../../config/config.ts";
import { log } from "../../core/logger.ts";
import { LocalOrigin } from "../../origins/localOrigin.ts";
import type { Origin } from "../../origins/origin.ts";
import { resolveS3Settings } from "../../origins/s3Credentials.ts";
import { S3Origin } from "../../origins/s3Origin.ts";

/** The Origin for a configured origin: a local folder, or an S3 bucket with credentials resolved now. */
export function openOrigin(config: OriginConfig, env: Record<string, string | undefined> = process.env): Origin {
  if (!isS3Origin(config)) return new LocalOrigin(config.id, config.path);
  return openS3Origin(config, env);
}

function openS3Origin(config: S3OriginConfig, env: Record<string, string | undefined>): S3Origin {
  const settings = resolveS3Settings(config.url, config, env);
  for (const file of settings.exposedFiles)
    log.warn(`The file ${file} holds S3 secrets and can be read by other users of this machine: run \`chmod 600 ${file}\`.`);
  return new S3Origin(config.id, {
    location: { bucket: config.bucket, prefix: config.prefix },
    settings,
    maxRequests: config.maxRequests,
    requestTimeoutMs: config.requestTimeoutMs,
  });
}
