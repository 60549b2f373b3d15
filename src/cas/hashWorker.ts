/**
 * Hash worker entry (build.ts embeds it: src/cas/hashWorker.ts): hashes what whole-file fetches wrote into their
 * partial data files (writtenHashing.ts), off the main thread that answers READs and runs the downloads.
 */
import { announceReady, parentChannel } from "../core/workerThread.ts";
import { WrittenHashing, type HashReply, type HashRequest } from "./writtenHashing.ts";

const channel = parentChannel<HashReply>();
if (channel) {
  const hashing = new WrittenHashing();
  channel.onMessage((m) => {
    const reply = hashing.handle(m as HashRequest);
    if (reply) channel.post(reply);
  });
  announceReady(channel);
}
