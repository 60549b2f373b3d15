/**
 * Getting a /dev/fuse connection mounted, and getting rid of it again.
 *
 * - root: open /dev/fuse and call mount(2) ourselves;
 * - anyone else: let the setuid `fusermount3` mount and pass the fd back over a socketpair (3.2).
 *
 * Before mounting, `prepareMountpoint` checks everything a user can get wrong and clears a stale mount of the same
 * filesystem left by a killed instance. Every refusal is a UserError naming the path and what to do.
 */
import { accessSync, constants, existsSync, lstatSync, mkdirSync, openSync, readdirSync, realpathSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { UserError, errnoCode } from "../core/errors.ts";
import { closeFd, mount, MNT_DETACH, MS_NODEV, MS_NOSUID, MS_RDONLY, receiveFd, MSG_DONTWAIT, setCloexec, socketPair, SyscallError, umount2 } from "./ffi.ts";
import { mountsAt, readMountInfo, type MountInfoEntry } from "./mountinfo.ts";

const DEV_FUSE = "/dev/fuse";

/** The kernel's type for a FUSE filesystem named `fsName` (shown in /proc/mounts and by findmnt). */
export function fuseType(fsName: string): string {
  return `fuse.${fsName}`;
}

export interface MountOptions {
  /** The filesystem's name: `fsname`/`subtype` of the mount, so it shows as `fuse.<name>`. */
  fsName: string;
  /** Mount read-only (MS_RDONLY / `ro`). */
  readOnly: boolean;
  /** Let other users (root included) see the mount. Non-root needs `user_allow_other` in /etc/fuse.conf. */
  allowOther?: boolean;
}

export interface MountHandle {
  /** The /dev/fuse fd of the connection (close-on-exec). */
  fd: number;
  /** Absolute, symlink-free mountpoint. */
  mountpoint: string;
  /** Mounted through fusermount3 (non-root), so it must be unmounted through it too. */
  viaFusermount: boolean;
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** The absolute path with symlinks resolved in its parent (the last component may be a dead mount). */
export function canonicalMountpoint(path: string): string {
  const abs = resolve(path);
  let parent: string;
  try {
    parent = realpathSync(dirname(abs));
  } catch {
    return abs;
  }
  return join(parent, basename(abs));
}

export type MountState = "live" | "dead";

/**
 * Does the filesystem mounted at `mountpoint` answer? statfs always reaches the server (nothing caches it); a dead
 * connection answers ENOTCONN at once. Run in a child process so that a hung server cannot hang us: no answer
 * within `timeoutMs` counts as dead, because such a mount blocks every caller anyway.
 */
export async function probeMount(mountpoint: string, timeoutMs = 2000): Promise<MountState> {
  const child = Bun.spawn(["stat", "-f", "-c", "%T", mountpoint], { stdout: "ignore", stderr: "ignore" });
  const timer = setTimeout(() => child.kill(9), timeoutMs);
  try {
    return (await child.exited) === 0 ? "live" : "dead";
  } finally {
    clearTimeout(timer);
  }
}

/** Lazily unmount whatever is at `mountpoint`: umount2(MNT_DETACH) as root, `fusermount3 -uz` otherwise. */
export async function unmountLazy(mountpoint: string, viaFusermount = !isRoot()): Promise<void> {
  if (!viaFusermount) {
    try {
      umount2(mountpoint, MNT_DETACH);
    } catch (e) {
      if (e instanceof SyscallError && e.code === "EINVAL") return; // not mounted (any more)
      throw e;
    }
    return;
  }
  const child = Bun.spawn(["fusermount3", "-uz", "--", mountpoint], { stdout: "ignore", stderr: "pipe" });
  const [code, err] = await Promise.all([child.exited, new Response(child.stderr).text()]);
  if (code !== 0 && !/not mounted|not found in/i.test(err)) throw new Error(`fusermount3 -uz ${mountpoint}: ${err.trim()}`);
}

function fuseDeviceProblem(): UserError | undefined {
  if (!existsSync(DEV_FUSE)) {
    return new UserError(
      `${DEV_FUSE} does not exist, so nothing can be mounted.`,
      "Load the FUSE kernel module (`sudo modprobe fuse`), or in a container pass the device (`--device /dev/fuse`).",
    );
  }
  try {
    accessSync(DEV_FUSE, constants.R_OK | constants.W_OK);
  } catch {
    return new UserError(
      `${DEV_FUSE} is not readable and writable by this user (uid ${process.getuid?.()}), so the mount cannot be made.`,
      "Make it accessible (`sudo chmod 0666 /dev/fuse`, the usual distribution default) or run as root.",
    );
  }
  return undefined;
}

export interface PrepareOptions {
  /** The filesystem about to be mounted: a dead mount of the same name is cleared, a live one refused. */
  fsName: string;
  /** Create a missing mountpoint (mkdir -p) instead of refusing. */
  createMountpoint?: boolean;
  /** How long a probe of an existing mount of ours may take before it counts as dead. */
  probeTimeoutMs?: number;
}

/**
 * Check that `path` can take a new mount of `fsName` and return its canonical form. A dead mount of it there (left
 * by kill -9) is detached first; a live one is refused. The caller is expected to hold its instance lock, so a live
 * mount here belongs to someone else.
 */
export async function prepareMountpoint(path: string, opts: PrepareOptions): Promise<string> {
  const deviceProblem = fuseDeviceProblem();
  if (deviceProblem) throw deviceProblem;
  if (!isRoot() && !Bun.which("fusermount3")) {
    throw new UserError(
      "fusermount3 was not found, and it is needed to mount as a normal user.",
      "Install the fuse3 package (`sudo apt install fuse3`, `sudo dnf install fuse3`, `sudo pacman -S fuse3`), or run as root.",
    );
  }

  const mountpoint = canonicalMountpoint(path);
  for (const m of mountsAt(mountpoint).reverse()) {
    if (m.fstype === fuseType(opts.fsName)) {
      if ((await probeMount(mountpoint, opts.probeTimeoutMs)) === "live") {
        throw new UserError(
          `${mountpoint} is already served by a running ${opts.fsName}.`,
          "Stop that instance first (or unmount it with `fusermount3 -u " + mountpoint + "`), or choose another mountpoint.",
        );
      }
      await unmountLazy(mountpoint);
    } else if (m.fstype.startsWith("fuse")) {
      throw new UserError(
        `${mountpoint} is already a mountpoint of another FUSE filesystem (${m.fstype} from ${m.source}).`,
        `Unmount it first (\`fusermount3 -u ${mountpoint}\`) or choose another mountpoint.`,
      );
    }
  }

  let isDir: boolean;
  try {
    const st = lstatSync(mountpoint);
    isDir = st.isDirectory() || (st.isSymbolicLink() && lstatSync(realpathSync(mountpoint)).isDirectory());
  } catch (e) {
    if (errnoCode(e) !== "ENOENT") throw e;
    if (!opts.createMountpoint) {
      throw new UserError(
        `The mountpoint ${mountpoint} does not exist.`,
        `Create it (\`mkdir -p ${mountpoint}\`) or let ${opts.fsName} create it for you.`,
      );
    }
    mkdirSync(mountpoint, { recursive: true });
    return mountpoint;
  }
  if (!isDir) {
    throw new UserError(`The mountpoint ${mountpoint} is not a directory.`, "Choose an empty directory to mount on.");
  }
  const real = realpathSync(mountpoint);
  const children = readdirSync(real);
  if (children.length > 0) {
    throw new UserError(
      `The mountpoint ${real} is not empty (${children.length} entr${children.length === 1 ? "y" : "ies"}, e.g. "${children[0]}").`,
      `Mount on an empty directory: the files in it would be hidden while ${opts.fsName} runs.`,
    );
  }
  return real;
}

/** Mount a fresh connection at `mountpoint` (already prepared). */
export async function mountFuse(mountpoint: string, opts: MountOptions): Promise<MountHandle> {
  return isRoot() ? mountAsRoot(mountpoint, opts) : mountWithFusermount(mountpoint, opts);
}

function mountAsRoot(mountpoint: string, opts: MountOptions): MountHandle {
  const fd = openSync(DEV_FUSE, "r+");
  setCloexec(fd);
  const data = [
    `fd=${fd}`, "rootmode=40000", `user_id=${process.getuid!()}`, `group_id=${process.getgid!()}`,
    "default_permissions", ...(opts.allowOther ? ["allow_other"] : []),
  ].join(",");
  try {
    mount(opts.fsName, mountpoint, fuseType(opts.fsName), MS_NOSUID | MS_NODEV | (opts.readOnly ? MS_RDONLY : 0), data);
  } catch (e) {
    closeFd(fd);
    throw new UserError(`Could not mount ${opts.fsName} on ${mountpoint}: ${(e as Error).message}.`);
  }
  return { fd, mountpoint, viaFusermount: false };
}

async function mountWithFusermount(mountpoint: string, opts: MountOptions): Promise<MountHandle> {
  const [ours, theirs] = socketPair();
  setCloexec(ours);
  const options = [
    `fsname=${opts.fsName}`, `subtype=${opts.fsName}`, ...(opts.readOnly ? ["ro"] : []), "nosuid", "nodev", "default_permissions",
    ...(opts.allowOther ? ["allow_other"] : []),
  ].join(",");
  try {
    // The 4th stdio entry becomes the child's fd 3, which _FUSE_COMMFD names.
    const child = Bun.spawn(["fusermount3", "-o", options, "--", mountpoint], {
      stdio: ["ignore", "ignore", "pipe", theirs],
      env: { ...process.env, _FUSE_COMMFD: "3" },
    });
    closeFd(theirs);
    const [code, stderr] = await Promise.all([child.exited, new Response(child.stderr as ReadableStream).text()]);
    // fusermount3 sends the fd and then exits; the message waits in the socket buffer.
    const fd = code === 0 ? receiveFd(ours, MSG_DONTWAIT) : undefined;
    if (fd === undefined) {
      throw new UserError(
        `fusermount3 could not mount ${opts.fsName} on ${mountpoint}: ${stderr.trim() || `exit code ${code}`}.`,
        "Check that the mountpoint belongs to you, that fusermount3 is setuid root, and that /dev/fuse is accessible" +
          (opts.allowOther ? ", and that /etc/fuse.conf contains user_allow_other." : "."),
      );
    }
    setCloexec(fd);
    return { fd, mountpoint, viaFusermount: true };
  } finally {
    closeFd(ours);
  }
}

/**
 * Raise the mount's readahead (root only). The kernel caps a FUSE bdi at 128 KiB; 1024 KiB makes sequential reads
 * arrive as 1 MiB READs, +40–70 % throughput. Returns false when it could not be set.
 */
export function setReadAhead(mountpoint: string, kb: number, fsName: string): boolean {
  const m = mountsAt(mountpoint).findLast((e) => e.fstype === fuseType(fsName));
  if (!m) return false;
  try {
    writeFileSync(`/sys/class/bdi/${m.device}/read_ahead_kb`, `${kb}\n`);
    return true;
  } catch {
    return false;
  }
}

/** Is a filesystem named `fsName` mounted at `mountpoint`? */
export function isMountedAs(mountpoint: string, fsName: string): boolean {
  return mountsAt(canonicalMountpoint(mountpoint)).some((m) => m.fstype === fuseType(fsName));
}
