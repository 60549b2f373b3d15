/**
 * Background scrub of complete data files (main thread, at a low rate): the data file checked longest ago is read
 * and checked against its manifest, then the scrub waits as long as reading it at `bytesPerSec` takes. A damaged
 * data file is deleted: the file's next open finds none and is served from the chunk store or its origin (chunks
 * re-fetched one by one against the manifest), never from the damaged bytes again.
 *
 * Why a scrub: reads of a complete file are the kernel's (passthrough) or a plain pread in a worker, and neither
 * checks anything; damage after the data file was written and verified (bit rot, a stray write, a write lost to a
 * power cut) is found here, by `musicfs cache verify`, or not at all.
 */
import type { ContentId } from "../core/ids.ts";
import { open } from "node:fs/promises";
import { errorMessage } from "../core/errors.ts";
import { log } from "../core/logger.ts";
import { checkDataFileAsync, type DataFileCheck } from "./dataFileCheck.ts";
import { parseDataFileName, versionTag } from "./dataFilePaths.ts";
import type { DataFileEntry, DataFileStore } from "./dataFileStore.ts";
import type { Manifest } from "./manifestCodec.ts";

export interface DataFileScrubOptions {
  store: DataFileStore;
  /** The current manifest of a file, or null (then the data file describes nothing current and is deleted). */
  manifestOf: (fileId: ContentId) => Manifest | null;
  bytesPerSec: number;
  /** Told of each data file removed as damaged. */
  onDamaged?: (fileId: ContentId, reason: string) => void;
}

export class DataFileScrub {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = true;
  private running: Promise<void> | undefined;
  checked = 0;
  damaged = 0;

  constructor(private readonly o: DataFileScrubOptions) {}

  start(firstDelayMs = 10_000): void {
    if (this.o.bytesPerSec <= 0) return;
    this.stopped = false;
    this.schedule(firstDelayMs);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.step()
        .then((bytes) => this.schedule(Math.max(1000, (bytes / this.o.bytesPerSec) * 1000)))
        .catch((e) => {
          log.debug(`data file scrub: ${errorMessage(e)}`);
          this.schedule(60_000);
        });
    }, ms);
    this.timer.unref?.();
  }

  /** Checks one data file; returns its size (the time to wait before the next is proportional to it). */
  async step(): Promise<number> {
    const entry = this.o.store.leastRecentlyVerified();
    if (!entry) {
      log.debug("data file scrub: no complete data file to check; looking again in a minute");
      return 60 * this.o.bytesPerSec;
    }
    log.debug(`data file scrub: checking the data file of file ${entry.fileId} (${entry.name})`);
    const result = await this.check(entry);
    if (this.stopped && !result) return entry.bytes;
    this.checked++;
    if (result?.ok) this.o.store.markVerified(entry);
    else {
      const reason = result ? result.reason : "no current manifest";
      this.damaged++;
      this.o.store.delete(entry.fileId);
      log.warn(`content cache: the data file of file ${entry.fileId} failed its check (${reason}): removed, it is fetched again when read`);
      this.o.onDamaged?.(entry.fileId, reason);
    }
    return entry.bytes;
  }

  private async check(entry: DataFileEntry): Promise<(DataFileCheck & { reason: string }) | { ok: true } | null> {
    const m = this.o.manifestOf(entry.fileId);
    // The row names the version it holds: a manifest of another version does not describe these bytes.
    if (!m || parseDataFileName(entry.name)?.version !== versionTag(m.originSize, m.originMtimeMs)) return null;
    let handle;
    try {
      handle = await open(this.o.store.pathOfEntry(entry), "r");
    } catch (e) {
      return { ok: false, reason: errorMessage(e) };
    }
    try {
      const r = await checkDataFileAsync(handle, m);
      return r.ok ? r : { ...r, reason: r.reason };
    } finally {
      await handle.close();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => {});
  }
}
