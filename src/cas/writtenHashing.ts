/**
 * Hashing what a whole-file fetch wrote, after it is written (the hash worker's job, `hashWorker.ts`): the fetch
 * pwrites each ranged read's bytes into the partial data file and then names the range here with the XXH3 of the
 * bytes as they arrived; the bytes are read back from the file (the page cache), checked against that XXH3 — so what
 * is on disk is what the origin sent — and every chunk completed by them (fixed boundaries, `fixedChunks.ts`) is
 * hashed: XXH3 read checksum and the id made from it with the cache's key (chunkHash.ts), the manifest's entries. Synchronous; one `WrittenHashing` per thread.
 */
import { closeSync, openSync } from "node:fs";
import { readFullySync } from "../core/readFully.ts";
import { chunkHex, chunkIdentity, readChecksum, type ChunkHex, type ChunkIdentity } from "./chunkHash.ts";
import { fixedCuts } from "./fixedChunks.ts";
import type { ProgressTarget } from "./progressRecorder.ts";

/** A chunk of a partial data file, hashed as read back from it. */
export interface HashedChunk {
  offset: number;
  length: number;
  hex: ChunkHex;
  checksum: bigint;
}

export type HashRequest =
  /**
   * `idKey`: the cache's chunk id key (chunkIdKey.ts). `progress`: the chunks are also recorded in `fetch_progress`
   * by the worker (progressRecorder.ts).
   */
  | { type: "begin"; job: number; path: string; start: number; size: number; chunkBytes: number; idKey: bigint; progress?: ProgressTarget }
  /** Bytes [from, to) are written; `checksum`: their XXH3 as received. Ranges of a job come in file order. */
  | { type: "written"; job: number; seq: number; from: number; to: number; checksum: bigint }
  /** With `seq`: answered ("ended") once what is pending is recorded. */
  | { type: "end"; job: number; seq?: number };

export type HashReply =
  /** `recordedTo`: the end of the job's chunks recorded in `fetch_progress` so far (with `progress`). */
  | { type: "chunks"; seq: number; chunks: HashedChunk[]; recordedTo?: number }
  | { type: "failed"; seq: number; reason: string }
  | { type: "ended"; seq: number; recordedTo?: number };

interface Job {
  path: string;
  /** -1 until the first range. */
  fd: number;
  size: number;
  chunkBytes: number;
  ids: ChunkIdentity;
  /** Where the next chunk starts (everything before is hashed). */
  hashedTo: number;
  /** The end of the bytes named as written. */
  received: number;
}

export class WrittenHashing {
  private readonly jobs = new Map<number, Job>();
  private buf = new Uint8Array(0);

  /** Handles one request; "written" gets a reply, the others none (a failure is reported at the next "written"). */
  handle(m: HashRequest): HashReply | null {
    if (m.type === "begin") {
      this.end(m.job);
      // Opened at the first range: the fetch creates the file with its first write.
      this.jobs.set(m.job, { path: m.path, fd: -1, size: m.size, chunkBytes: m.chunkBytes, ids: chunkIdentity(m.idKey), hashedTo: m.start, received: m.start });
      return null;
    }
    if (m.type === "end") {
      this.end(m.job);
      return null;
    }
    try {
      return { type: "chunks", seq: m.seq, chunks: this.written(m) };
    } catch (e) {
      return { type: "failed", seq: m.seq, reason: e instanceof Error ? e.message : String(e) };
    }
  }

  private written(m: Extract<HashRequest, { type: "written" }>): HashedChunk[] {
    const job = this.jobs.get(m.job);
    if (!job) throw new Error("no such hashing job (the hash worker was restarted)");
    if (job.fd < 0) job.fd = openSync(job.path, "r");
    if (m.from !== job.received) throw new Error(`bytes named out of order (${m.from}, expected ${job.received})`);
    job.received = m.to;
    // Read from the first byte not yet hashed: the tail of a chunk that the previous range did not complete.
    const start = job.hashedTo;
    const length = m.to - start;
    if (this.buf.length < length) this.buf = new Uint8Array(length);
    const bytes = this.buf.subarray(0, length);
    if (readFullySync(job.fd, bytes, start) !== length) throw new Error(`the partial data file is short at ${start}`);
    if (readChecksum(bytes.subarray(m.from - start)) !== m.checksum)
      throw new Error(`bytes ${m.from}-${m.to} read back from the partial data file differ from those received`);
    const out: HashedChunk[] = [];
    for (const c of fixedCuts(start, m.to, job.size, job.chunkBytes)) {
      const chunk = bytes.subarray(c.offset - start, c.offset - start + c.length);
      const checksum = readChecksum(chunk);
      out.push({ offset: c.offset, length: c.length, hex: chunkHex(job.ids.idWithChecksum(chunk, checksum)), checksum });
      job.hashedTo = c.offset + c.length;
    }
    return out;
  }

  private end(id: number): void {
    const job = this.jobs.get(id);
    if (!job) return;
    this.jobs.delete(id);
    if (job.fd < 0) return;
    try {
      closeSync(job.fd);
    } catch {
      /* closed */
    }
  }
}
