/**
 * Dropping cached pages without touching anyone else's: the suite runs in shards side by side (scripts/testAll.ts),
 * and tests there count what the kernel's caches answer (a relisting served from FUSE's directory cache, "0 READs
 * reached musicfs"). The machine-wide `echo 3 > /proc/sys/vm/drop_caches` empties those caches under the other
 * shards' feet (a READDIRPLUS that should have come from the cache reaches the daemon), so no test uses it.
 */
import { run } from "./process.ts";

/**
 * Drops the page cache of each file, whole (posix_fadvise DONTNEED through `dd iflag=nocache count=0`): the next read
 * of a file on disk goes to the disk, the next read of a FUSE file reaches its daemon (unless passthrough serves it
 * from the backing file). The file is written back first (`sync FILE`): a dirty page is not dropped; sync's failure
 * is ignored (a file that cannot be written back, as on a read-only mount, has no dirty page). Throws, naming the
 * file, when it cannot be opened. A FUSE file is opened (an OPEN and a RELEASE reach its daemon), never read.
 */
export async function dropPagesOf(...files: string[]): Promise<void> {
  for (const file of files) {
    await run(["sync", file]);
    const dropped = await run(["dd", `if=${file}`, "iflag=nocache", "count=0", "status=none"]);
    if (dropped.code !== 0) throw new Error(`dropping the cached pages of ${file} failed: ${dropped.stderr.trim()}`);
  }
}
