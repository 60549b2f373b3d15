import { defineCommand } from "citty";
import { isAbsolute, relative, resolve } from "node:path";
import { callMount } from "../app/control/controlClient.ts";
import { InstanceLock } from "../app/mount/instanceLock.ts";
import { formatProgress, gib, type PinProgress } from "../app/cache/pinPolicy.ts";
import type { PinReport } from "../app/cache/pinManager.ts";
import type { MountStatus } from "../app/mount/statusFile.ts";
import { expandHome } from "../config/paths.ts";
import { UserError } from "../core/errors.ts";
import { log } from "../core/logger.ts";
import { plural } from "../core/plural.ts";
import { cacheDirArgs, existingLibrary } from "./libraryPaths.ts";
import { logLevelArg, runCommand } from "./run.ts";

type Paths = ReturnType<typeof existingLibrary>;

/** The running mount of the cache dir, or a UserError saying pins need one. */
function runningMount(args: Record<string, unknown>, what: string): Paths {
  const paths = existingLibrary(args);
  if (!InstanceLock.isHeld(paths.lockFile))
    throw new UserError(`${what} needs the running mount of this library (no musicfs is serving ${paths.cacheDir}).`, "Mount it first (musicfs mount MOUNTPOINT), then pin: the mount fetches what you pin and keeps it.");
  return paths;
}

/** PATHs as the mount names them: relative to its mountpoint (a path outside the mount is refused). */
async function mountRelative(paths: Paths, given: string[]): Promise<string[]> {
  const status = (await callMount(paths, "status")) as MountStatus;
  return given.map((p) => {
    const rel = relative(status.mountPoint, resolve(expandHome(p)));
    if (rel.startsWith("..") || isAbsolute(rel))
      throw new UserError(`"${p}" is not inside the mount at ${status.mountPoint}.`, `Pass a track or folder under ${status.mountPoint} (an album, an artist, /.search/QUERY, /.collections/NAME).`);
    return rel;
  });
}

const pathsArg = { paths: { type: "positional" as const, required: true, valueHint: "PATH...", description: "Tracks or folders inside the mount" } };

function positionals(args: { _: string[] }): string[] {
  if (args._.length === 0) throw new UserError("Name at least one PATH inside the mount.");
  return args._;
}

export const pinCommand = defineCommand({
  meta: { name: "pin", description: "Keep tracks or folders of the mount offline: fetched whole in the background, never evicted" },
  args: { ...pathsArg, wait: { type: "boolean", description: "Wait until everything pinned is cached, showing progress" }, ...cacheDirArgs, ...logLevelArg },
  async run({ args }) {
    await runCommand(async () => {
      const paths = runningMount(args, "Pinning");
      const rel = await mountRelative(paths, positionals(args));
      const r = (await callMount(paths, "pin", { paths: rel })) as { pinned: string[]; files: number; bytes: number };
      log.success(`Pinned ${r.pinned.map((l) => `/${l}`).join(", ")}: ${plural(r.files, "file")}, ${gib(r.bytes)}.`);
      if (args.wait) await waitForPins(paths);
    });
  },
});

/**
 * Waits until every pinned file is cached, showing progress once a second; fails when what is left keeps failing.
 * The mount answers `pins.wait` as soon as its pin fetches are idle (or after a second), so the wait ends when the
 * last file is in; a mount from before `pins.wait` is polled instead.
 */
async function waitForPins(paths: Paths): Promise<void> {
  let shownAt = 0;
  let polling = false;
  for (;;) {
    let progress: PinProgress;
    const askedAt = Date.now();
    if (polling) progress = ((await callMount(paths, "pins")) as { progress: PinProgress }).progress;
    else {
      try {
        progress = ((await callMount(paths, "pins.wait", { ms: 1000 })) as { progress: PinProgress }).progress;
      } catch (e) {
        if (!(e instanceof UserError && e.message.startsWith('unknown command "pins.wait"'))) throw e;
        polling = true;
        continue;
      }
    }
    if (Date.now() - shownAt >= 1000) {
      log.info(formatProgress(progress));
      shownAt = Date.now();
    }
    if (progress.cachedFiles >= progress.files) return log.success("Everything pinned is cached: it plays without the network.");
    if (progress.failedFiles > 0 && progress.cachedFiles + progress.failedFiles >= progress.files)
      throw new UserError(`${plural(progress.failedFiles, "pinned file")} could not be fetched: ${progress.lastError ?? "origin unreachable"}.`, "The mount tries again by itself every 30 s; `musicfs pins` shows how far it got.");
    // Polling, or a mount idle yet not done (a state that should not last): ask again a little later, not at once.
    if (polling || Date.now() - askedAt < 100) await Bun.sleep(200);
  }
}

export const unpinCommand = defineCommand({
  meta: { name: "unpin", description: "Stop keeping pinned paths (their files become evictable like any other)" },
  args: { ...pathsArg, ...cacheDirArgs, ...logLevelArg },
  async run({ args }) {
    await runCommand(async () => {
      const paths = runningMount(args, "Unpinning");
      const rel = await mountRelative(paths, positionals(args));
      const r = (await callMount(paths, "unpin", { paths: rel })) as { unpinned: string[]; unknown: string[] };
      if (r.unpinned.length) log.success(`Unpinned ${r.unpinned.map((l) => `/${l}`).join(", ")}.`);
      if (r.unknown.length) throw new UserError(`Not pinned: ${r.unknown.map((l) => `/${l}`).join(", ")}.`, "`musicfs pins` lists what is pinned, by the path it was pinned as.");
    });
  },
});

export const pinsCommand = defineCommand({
  meta: { name: "pins", description: "What is pinned, with cached / total bytes and files and the fetch progress" },
  args: { json: { type: "boolean", description: "Print JSON" }, ...cacheDirArgs, ...logLevelArg },
  async run({ args }) {
    await runCommand(async () => {
      const paths = runningMount(args, "Listing pins");
      const r = (await callMount(paths, "pins")) as { pins: PinReport[]; progress: PinProgress };
      if (args.json) return console.log(JSON.stringify(r, null, 2));
      if (r.pins.length === 0) return console.log("Nothing is pinned (musicfs pin PATH keeps a track or folder offline).");
      for (const p of r.pins)
        console.log(`/${p.label}  ${p.cachedFiles}/${p.files} files, ${gib(p.cachedBytes)} of ${gib(p.bytes)} cached${p.kind === "files" ? "" : ` (${p.kind}: later matches are pinned too)`}`);
      console.log(`total  ${formatProgress(r.progress)}`);
    });
  },
});
