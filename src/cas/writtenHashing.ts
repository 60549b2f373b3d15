/**
 * Hashing what a whole-file fetch wrote, after it is written (the hash worker's job, `hashWorker.ts`): the fetch
 * pwrites each ranged read's bytes into the partial data file and then names the range here with the XXH3 of the
 * bytes as they arrived; the bytes are read back from the file (the page cache), checked against that XXH3 — so what
 * is on disk is what the origin sent — and every chunk completed by them (fixed boundaries, `fixedChunks.ts`) is
 * hashed: XXH3 read checksum and the id made from it with the cache's key (chunkHash.ts), the manifest's entries. Synchronous; one `WrittenHashing` per thread.
 */
import { closeSync, openSync, writeSync } from "node:fs";
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
  /**
   * Bytes [from, to) as received, in `bytes` (shared memory, the first to - from bytes): the worker writes them at
   * their offset and hashes them from memory (no read-back). Ranges of a job come in file order, like "written".
   */
  | { type: "bytes"; job: number; seq: number; from: number; to: number; bytes: SharedArrayBuffer }
  /** With `seq`: answered ("ended") once what is pending is recorded. */
  | { type: "end"; job: number; seq?: number };

export type HashReply =
  /** `recordedTo`: the end of the job's chunks recorded in `fetch_progress` so far (with `progress`). */
  | { type: "chunks"; seq: number; chunks: HashedChunk[]; recordedTo?: number }
  /** `write`: the bytes could not be written (`code`: the errno code, e.g. ENOSPC), not a hashing failure. */
  | { type: "failed"; seq: number; reason: string; write?: { code?: string } }
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

  /** Handles one request; "written" and "bytes" get a reply, the others none (a failure is reported at the next one). */
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
    if (m.type === "bytes") return this.bytes(m);
    try {
      return { type: "chunks", seq: m.seq, chunks: this.written(m) };
    } catch (e) {
      return { type: "failed", seq: m.seq, reason: e instanceof Error ? e.message : String(e) };
    }
  }

  /**
   * Received bytes handed over in shared memory: written at their offset here, then the chunks they complete are
   * hashed from that memory (the tail of a chunk the previous range left open is read back from the file, < 1 chunk).
   */
  private bytes(m: Extract<HashRequest, { type: "bytes" }>): HashReply {
    const job = this.jobs.get(m.job);
    if (!job) return { type: "failed", seq: m.seq, reason: "no such hashing job (the hash worker was restarted)" };
    if (m.from !== job.received) return { type: "failed", seq: m.seq, reason: `bytes named out of order (${m.from}, expected ${job.received})` };
    const data = new Uint8Array(m.bytes, 0, m.to - m.from);
    try {
      if (job.fd < 0) job.fd = openSync(job.path, "r+");
      let done = 0;
      while (done < data.length) done += writeSync(job.fd, data, done, data.length - done, m.from + done);
    } catch (e) {
      return { type: "failed", seq: m.seq, reason: e instanceof Error ? e.message : String(e), write: { code: (e as NodeJS.ErrnoException).code } };
    }
    job.received = m.to;
    try {
      let bytes: Uint8Array = data;
      const start = job.hashedTo;
      if (start < m.from) {
        // The open chunk's head, written with the previous range: read back, then these bytes after it.
        if (this.buf.length < m.to - start) this.buf = new Uint8Array(m.to - start);
        bytes = this.buf.subarray(0, m.to - start);
        if (readFullySync(job.fd, bytes.subarray(0, m.from - start), start) !== m.from - start)
          throw new Error(`the partial data file is short at ${start}`);
        bytes.set(data, m.from - start);
      }
      return { type: "chunks", seq: m.seq, chunks: this.cut(job, start, m.to, bytes) };
    } catch (e) {
      return { type: "failed", seq: m.seq, reason: e instanceof Error ? e.message : String(e) };
    }
  }

  /** The chunks that end by `to` (or at EOF), from `start` (a chunk boundary); `bytes` holds [start, to). */
  private cut(job: Job, start: number, to: number, bytes: Uint8Array): HashedChunk[] {
    const out: HashedChunk[] = [];
    for (const c of fixedCuts(start, to, job.size, job.chunkBytes)) {
      const chunk = bytes.subarray(c.offset - start, c.offset - start + c.length);
      const checksum = readChecksum(chunk);
      out.push({ offset: c.offset, length: c.length, hex: chunkHex(job.ids.idWithChecksum(chunk, checksum)), checksum });
      job.hashedTo = c.offset + c.length;
    }
    return out;
  }

  private written(m: Extract<HashRequest, { type: "written" }>): HashedChunk[] {
    const job = this.jobs.get(m.job);
    if (!job) throw new Error("no such hashing job (the hash worker was restarted)");
    if (job.fd < 0) job.fd = openSync(job.path, "r+");
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
    return this.cut(job, start, m.to, bytes);
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
