/**
 * What a scan worker does with a batch: reads what the tag parser needs of each file with readSync (or uses the
 * bytes the main thread sent for remote files), parses, and answers with FileMeta. One batch at a time, files in
 * order; the main thread watches for a batch that takes too long (a parser stuck on a hostile file) and replaces
 * the worker. The worker entry is scanWorker.ts.
 */
import type { FileMeta } from "../core/types.ts";
import { errnoCode, errorMessage } from "../core/errors.ts";
import { ByteSource } from "./byteSource.ts";
import { openFileBytes } from "./headTailReader.ts";
import { announceReady, parentChannel } from "../core/workerThread.ts";
import type { ByteNeed, ParseRequest, ParseResult, ScanJob, UnreadableFile } from "./scanMessages.ts";
import { readTags } from "./tagReader.ts";

export async function parseJob(job: ScanJob): Promise<FileMeta | UnreadableFile | ByteNeed> {
  if (job.absPath === undefined) return parseRemoteJob(job);
  let file;
  try {
    file = openFileBytes(job.absPath, job.ext);
  } catch (e) {
    return { originId: job.originId, realPath: job.realPath, reason: errnoCode(e) ?? errorMessage(e) };
  }
  try {
    const tags = await readTags(file.source, job.ext);
    return { originId: job.originId, realPath: job.realPath, size: job.size, mtimeMs: job.mtimeMs, etag: job.etag ?? null, format: job.ext, ...tags };
  } finally {
    file.close();
  }
}

/** A file of an origin without local path: parse what the main thread sent, or say which bytes are missing. */
async function parseRemoteJob(job: ScanJob): Promise<FileMeta | ByteNeed> {
  const source = new ByteSource(job.size, job.ranges ?? []);
  const tags = await readTags(source, job.ext);
  if (source.missing) return { job, ...source.missing };
  return { originId: job.originId, realPath: job.realPath, size: job.size, mtimeMs: job.mtimeMs, etag: job.etag ?? null, format: job.ext, ...tags };
}

export async function parseBatch(request: ParseRequest): Promise<ParseResult> {
  const files: FileMeta[] = [];
  const unreadable: UnreadableFile[] = [];
  const needs: ByteNeed[] = [];
  for (const job of request.jobs) {
    const result = await parseJob(job);
    if ("format" in result) files.push(result);
    else if ("job" in result) needs.push(result);
    else unreadable.push(result);
  }
  return { type: "parsed", batchId: request.batchId, files, unreadable, needs };
}

/**
 * Inside a scan worker: answer every parse request with `parse` (the real parser; tests pass a misbehaving one),
 * then announce that the worker is ready. Does nothing on the main thread.
 */
export function serveParseRequests(parse: (request: ParseRequest) => Promise<ParseResult>): void {
  const channel = parentChannel<ParseResult>();
  if (!channel) return;
  channel.onMessage(
    oneAtATime(async (m) => {
      if ((m as ParseRequest)?.type === "parse") channel.post(await parse(m as ParseRequest));
    }),
  );
  announceReady(channel);
}

/**
 * `handle` for each message in turn: the next starts when the one before has settled. The scanner sends a worker
 * a second batch while it parses the first; an async handler alone would start that one at the first await of the
 * parse, and two parses would run interleaved in one thread (issue 20 was a parser's state shared between them). A
 * handler that throws still rejects unhandled, which crashes the worker as before (the scanner replaces it).
 */
export function oneAtATime<T>(handle: (message: T) => Promise<void>): (message: T) => Promise<void> {
  let idle: Promise<void> = Promise.resolve();
  return (message) => {
    const previous = idle;
    let settled!: () => void;
    idle = new Promise((resolve) => (settled = resolve));
    return previous.then(() => handle(message)).finally(settled);
  };
}
