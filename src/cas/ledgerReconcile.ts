/**
 * Startup repair of the chunk ledger from the files on disk: the ledger is written in batches, so after a kill -9 it
 * may miss chunks written in the last seconds (which would never be evicted) or list chunks already deleted.
 * Also removes temp files left by a writer that died mid-write (a different pid than ours).
 * Runs in the background after mount; it yields to the event loop between directories.
 */
import { opendir, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { ChunkLedger, LedgerEntry } from "./chunkLedger.ts";
import { isChunkFileName, tempFileWriterPid } from "./chunkPaths.ts";

export interface ReconcileReport {
  chunkFiles: number;
  /** Files found that the ledger did not know (added with their mtime as access time). */
  added: number;
  /** Ledger rows whose file is gone (removed). */
  removed: number;
  staleTempFiles: number;
}

const SHARD = /^[0-9a-f]{2}$/;

export async function reconcileLedger(chunksDir: string, ledger: ChunkLedger): Promise<ReconcileReport> {
  const known = ledger.beginReconciliation();
  const seen = new Set<string>();
  const unknown: LedgerEntry[] = [];
  const report: ReconcileReport = { chunkFiles: 0, added: 0, removed: 0, staleTempFiles: 0 };
  try {
    for (const a of await listDir(chunksDir)) {
      if (!SHARD.test(a)) continue;
      for (const b of await listDir(join(chunksDir, a))) {
        if (!SHARD.test(b)) continue;
        const leaf = join(chunksDir, a, b);
        for (const name of await listDir(leaf)) {
          const pid = tempFileWriterPid(name);
          if (pid !== undefined) {
            if (pid !== process.pid) {
              await unlink(join(leaf, name)).catch(() => {});
              report.staleTempFiles++;
            }
            continue;
          }
          if (!isChunkFileName(name)) continue;
          report.chunkFiles++;
          seen.add(name);
          if (!known.has(name)) {
            const s = await stat(join(leaf, name)).catch(() => undefined);
            if (s) unknown.push({ hex: name, size: s.size, lastAccessMs: Math.floor(s.mtimeMs) });
          }
        }
      }
    }
  } catch (e) {
    ledger.endReconciliation();
    throw e;
  }
  // Rows known at the start whose file the walk did not see; the ledger keeps those that changed meanwhile (their
  // file may have been written after the walk passed its folder).
  const missing = [...known.values()].filter((e) => !seen.has(e.hex));
  const applied = ledger.applyReconciliation(missing, unknown);
  report.removed = applied.removed;
  report.added = applied.added;
  return report;
}

async function listDir(path: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const d of await opendir(path, { bufferSize: 256 })) names.push(d.name);
  } catch {
    /* absent or unreadable: nothing to reconcile there */
  }
  return names;
}
