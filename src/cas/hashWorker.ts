/**
 * Hash worker entry (build.ts embeds it: src/cas/hashWorker.ts): hashes what whole-file fetches wrote into their
 * partial data files (writtenHashing.ts) and records the chunks as their fetch's progress (progressRecorder.ts), off
 * the main thread that answers READs and runs the downloads.
 */
import { nameThisThread } from "../core/libc.ts";
import { announceReady, parentChannel } from "../core/workerThread.ts";
import { ProgressRecorder } from "./progressRecorder.ts";
import { WrittenHashing, type HashReply, type HashRequest } from "./writtenHashing.ts";

const channel = parentChannel<HashReply>();
if (channel) {
  nameThisThread("hash");
  const hashing = new WrittenHashing();
  // The chunks hashed are recorded as the fetch's progress here too, off the main thread (progressRecorder.ts).
  const recorder = new ProgressRecorder();
  channel.onMessage((message) => {
    const m = message as HashRequest;
    if (m.type === "begin" && m.progress) recorder.begin(m.job, m.progress, m.start);
    const reply = hashing.handle(m);
    if (m.type === "end") {
      const recordedTo = recorder.end(m.job);
      if (m.seq !== undefined) channel.post({ type: "ended", seq: m.seq, recordedTo });
      return;
    }
    if (reply?.type === "chunks" && m.type === "written") reply.recordedTo = recorder.hashed(m.job, reply.chunks);
    if (reply) channel.post(reply);
  });
  announceReady(channel);
}
