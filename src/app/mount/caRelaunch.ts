/**
 * Trusting a private CA for an HTTPS S3 endpoint (`ca_file`, or AWS_CA_BUNDLE as the AWS tools read it). Bun reads extra CA certificates only from
 * NODE_EXTRA_CA_CERTS, once, when the process starts — so a command whose origins name a ca_file runs itself again
 * with NODE_EXTRA_CA_CERTS pointing at a bundle of those files (plus any bundle already set), and passes on its
 * exit code and SIGTERM/SIGHUP. Ctrl-C reaches both processes from the terminal: the first one ignores it, so the
 * command sees one Ctrl-C, not two. Certificate checks stay on; there is no option to turn them off.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readRememberedOrigins } from "../sync/rememberedOrigins.ts";
import { cachePaths, ensureCacheDir } from "../../config/paths.ts";
import { isS3Origin, type MusicFsConfig } from "../../config/config.ts";
import { UserError, errorMessage } from "../../core/errors.ts";
import { log } from "../../core/logger.ts";

const APPLIED = "MUSICFS_CA_BUNDLE";
/** The PID of the first process, given to the relaunched one so it can tell when that process is gone. */
const PARENT = "MUSICFS_CA_PARENT";
/** How often the relaunched process checks that the first one still runs. */
const PARENT_CHECK_MS = 500;

/**
 * In the relaunched process: shut down in order (SIGTERM to itself: the mount is removed, the database closed) when
 * the first process is gone — `kill -9` of it cannot pass anything on, and a mount nobody can stop with the PID the
 * user knows must not keep running. A process whose parent dies is given another one (init or a subreaper), so a
 * changed parent PID is the sign; the check is a getppid every half second, unref'd (it keeps nothing alive).
 */
function watchFirstProcess(): void {
  const parent = Number(process.env[PARENT]);
  if (!Number.isInteger(parent) || parent <= 0) return;
  const gone = () => process.ppid !== parent;
  const stop = () => {
    clearInterval(timer);
    log.warn(`The musicfs process that started this one (PID ${parent}, to trust a ca_file) is gone: shutting down.`);
    process.kill(process.pid, "SIGTERM");
  };
  const timer = setInterval(() => {
    if (gone()) stop();
  }, PARENT_CHECK_MS);
  timer.unref();
  if (gone()) stop(); // it died before this process got here
}

/** The arguments to start this same command again (source run or compiled binary). */
function ownCommand(): string[] {
  const [, script, ...rest] = process.argv;
  // A compiled binary sees its embedded entry as argv[1] ("/$bunfs/root/…"): it is not an argument to pass on.
  return script?.startsWith("/$bunfs/") ? [process.execPath, ...rest] : [process.execPath, script, ...rest];
}

/**
 * Runs the command again with the origins' CA files trusted, when they are not yet; resolves with its exit code,
 * or null when nothing is needed (no ca_file nor AWS_CA_BUNDLE, or this is the relaunched process).
 */
export async function relaunchTrustingCaFiles(config: MusicFsConfig): Promise<number | null> {
  if (process.env[APPLIED]) {
    watchFirstProcess();
    return null;
  }
  const paths = cachePaths(config.cacheDir);
  // A later mount without --origin uses the remembered origins: their ca_file counts too.
  const origins = config.origins.length > 0 ? config.origins : (readRememberedOrigins(paths, null) ?? []);
  const s3Origins = origins.filter(isS3Origin);
  const caFiles = new Map<string, string>(); // path → what named it, for messages
  for (const o of s3Origins) if (o.caFile) caFiles.set(o.caFile, "ca_file");
  // AWS_CA_BUNDLE, as the AWS CLI and SDKs honour it.
  const awsBundle = process.env.AWS_CA_BUNDLE;
  if (awsBundle && s3Origins.length > 0 && !caFiles.has(awsBundle)) caFiles.set(awsBundle, "AWS_CA_BUNDLE");
  const existing = process.env.NODE_EXTRA_CA_CERTS;
  // A file Bun already trusts (NODE_EXTRA_CA_CERTS names it: machines often set both to one bundle) needs no relaunch.
  if (existing) caFiles.delete(existing);
  if (caFiles.size === 0) return null;
  const parts: string[] = [];
  if (existing) {
    try {
      parts.push(readFileSync(existing, "utf8"));
    } catch {
      // An unreadable NODE_EXTRA_CA_CERTS is Bun's to warn about; our bundle is still complete without it.
    }
  }
  for (const [file, source] of caFiles) {
    let pem: string;
    try {
      pem = readFileSync(file, "utf8");
    } catch (e) {
      throw new UserError(`Cannot read the ${source} ${file}: ${errorMessage(e)}.`, "Give the path of a PEM file with the CA certificate(s) of your S3 endpoint.");
    }
    if (!pem.includes("-----BEGIN CERTIFICATE-----"))
      throw new UserError(`The ${source} ${file} holds no PEM certificate ("-----BEGIN CERTIFICATE-----").`);
    parts.push(pem);
  }
  ensureCacheDir(paths.cacheDir);
  const bundle = join(paths.cacheDir, "ca-bundle.pem");
  writeFileSync(bundle, parts.join("\n"), { mode: 0o600 });
  const child = Bun.spawn(ownCommand(), {
    stdio: ["inherit", "inherit", "inherit"],
    env: { ...process.env, NODE_EXTRA_CA_CERTS: bundle, [APPLIED]: bundle, [PARENT]: String(process.pid) },
  });
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  const handlers = [["SIGINT", () => {}], ["SIGTERM", forward("SIGTERM")], ["SIGHUP", forward("SIGHUP")]] as const;
  for (const [s, h] of handlers) process.on(s, h);
  const code = await child.exited;
  for (const [s, h] of handlers) process.off(s, h);
  return code;
}
