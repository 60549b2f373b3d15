/**
 * The hash worker records the fetch's progress itself (`fetch_progress`, fetchProgress.ts): the chunks it hashed,
 * appended about once per `everyBytes` and whatever is left when the job ends. Done on the main thread before, each
 * commit cost ~0.2 ms of CPU per MiB there, and a WAL checkpoint every few commits (access.db's WAL is kept small:
 * src/core/boundedWal.ts) two fsyncs, which held the thread that answers READs for 40-70 ms per cold 64 MiB
 * (docs/benchmarks.md "The main thread's CPU per cold MiB, fifth session"). Synchronous; one per thread.
 */
import type { ChunkHex } from "./chunkHash.ts";
import { FetchProgress, type ProgressChunk } from "./fetchProgress.ts";
import type { ContentId } from "../core/ids.ts";

/** What a job's progress is recorded as: the file, its origin version, where, and how often. */
export interface ProgressTarget {
  /** access.db (one connection per thread, opened on first use). */
  db: string;
  fileId: ContentId;
  size: number;
  mtimeMs: number;
  /** Rows are appended once the chunks not yet recorded reach this many bytes (and at the job's end). */
  everyBytes: number;
}

interface Job {
  target: ProgressTarget;
  pending: ProgressChunk[];
  /** The end of the chunks recorded so far (the job's start at first). */
  recordedTo: number;
}

export class ProgressRecorder {
  private readonly jobs = new Map<number, Job>();
  /** One connection per database (a process may run several caches, each with its own hash worker, in tests). */
  private readonly dbs = new Map<string, FetchProgress>();

  /** A job whose chunks are to be recorded, from `start` (what was recorded before it). */
  begin(job: number, target: ProgressTarget, start: number): void {
    this.jobs.set(job, { target, pending: [], recordedTo: start });
  }

  /** Chunks the job hashed, in order: recorded when enough are pending; returns the end of what is recorded. */
  hashed(job: number, chunks: readonly { offset: number; length: number; hex: ChunkHex; checksum: bigint }[]): number | undefined {
    const j = this.jobs.get(job);
    if (!j) return undefined;
    for (const c of chunks) j.pending.push({ offset: c.offset, length: c.length, hex: c.hex, checksum: c.checksum });
    const last = j.pending[j.pending.length - 1];
    if (last && (last.offset + last.length - j.recordedTo >= j.target.everyBytes || last.offset + last.length === j.target.size)) this.flush(j);
    return j.recordedTo;
  }

  /** The job ended: what is pending is recorded now. Returns the end of what is recorded. */
  end(job: number): number | undefined {
    const j = this.jobs.get(job);
    if (!j) return undefined;
    this.jobs.delete(job);
    this.flush(j);
    return j.recordedTo;
  }

  close(): void {
    for (const db of this.dbs.values()) db.close();
    this.dbs.clear();
  }

  private flush(j: Job): void {
    if (j.pending.length === 0) return;
    try {
      let db = this.dbs.get(j.target.db);
      if (!db) this.dbs.set(j.target.db, (db = new FetchProgress(j.target.db)));
      db.append(j.target.fileId, { size: j.target.size, mtimeMs: j.target.mtimeMs }, j.pending);
    } catch {
      // Not recorded (a full disk, a busy database): kept pending for the next try; a restart then fetches those
      // chunks again, which costs requests, never wrong bytes.
      return;
    }
    const last = j.pending[j.pending.length - 1];
    j.recordedTo = last.offset + last.length;
    j.pending = [];
  }
}
