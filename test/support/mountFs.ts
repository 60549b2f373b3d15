/**
 * The "filesystem under test" of test/support/readOnlyRules.ts through a real mount: each call is the system call
 * a program makes (node:fs/promises: asynchronous, so a mount served by this process could not deadlock it; the
 * mounts of the e2e tests are served by another process anyway). Errors become negative errnos.
 */
import { constants } from "node:os";
import { chmod, chown, link, lstat, mkdir, open, readdir, readlink, rename, rmdir, symlink, truncate, unlink, utimes } from "node:fs/promises";
import { join } from "node:path";
import type { Change, FsEntry, FsUnderTest } from "./readOnlyRules.ts";

/** The negative errno of a failed call (rethrows what is not a system error). */
function errno(e: unknown): number {
  const code = (e as { code?: string }).code;
  const n = code ? (constants.errno as Record<string, number>)[code] : undefined;
  if (n === undefined) throw e;
  return -n;
}

async function attempt<T>(call: () => Promise<T>): Promise<T | number> {
  try {
    return await call();
  } catch (e) {
    return errno(e);
  }
}

export function mountFs(mountPoint: string): FsUnderTest {
  const at = (path: string) => join(mountPoint, path);
  return {
    stat: (path) => attempt(async () => {
      const s = await lstat(at(path));
      return { ino: s.ino, size: s.size, mode: s.mode };
    }),
    list: (path) => attempt(async () =>
      (await readdir(at(path), { withFileTypes: true })).map((e): FsEntry => ({ name: e.name, type: e.isDirectory() ? "dir" : e.isSymbolicLink() ? "link" : "file" })),
    ),
    readAt: (path, offset, size) => attempt(async () => {
      const fh = await open(at(path), "r");
      try {
        const buf = new Uint8Array(size);
        const { bytesRead } = await fh.read(buf, 0, size, offset);
        return buf.subarray(0, bytesRead);
      } finally {
        await fh.close();
      }
    }),
    readlink: (path) => attempt(() => readlink(at(path))),
    open: (path, flags) => attempt(async () => {
      await (await open(at(path), flags)).close();
      return 0;
    }),
    change: (kind: Change, path) => attempt(async () => {
      const p = at(path);
      const now = new Date();
      switch (kind) {
        case "create": return void (await (await open(join(p, "new.flac"), "wx")).close());
        case "mkdir": return void (await mkdir(join(p, "new folder")));
        case "symlink": return void (await symlink("elsewhere", join(p, "new link")));
        case "unlink": return void (await unlink(p));
        case "rmdir": return void (await rmdir(p));
        case "rename": return void (await rename(p, `${p}.renamed`));
        case "link": return void (await link(p, `${p}.link`));
        case "chmod": return void (await chmod(p, 0o600));
        case "chown": return void (await chown(p, 0, 0));
        case "truncate": return void (await truncate(p, 0));
        case "utimes": return void (await utimes(p, now, now));
      }
    }).then((r) => (r === undefined ? 0 : r)),
  };
}
