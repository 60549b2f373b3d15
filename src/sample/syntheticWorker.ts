/**
 * Worker half of generateLibrary's parallel mode: writes the albums it is sent and returns their manifest lines.
 * Every worker re-plans the library shape from the seed (cheap), so workers share nothing but the options.
 */
import { AlbumWriter } from "./syntheticLibrary.ts";
import { planShape } from "./syntheticPlan.ts";
import type { WorkerReply, WorkerRequest } from "./syntheticParallel.ts";
import { announceReady, parentChannel } from "../core/workerThread.ts";

let writer: AlbumWriter | undefined;
const channel = parentChannel<WorkerReply>();

channel?.onMessage((message) => {
  const request = message as WorkerRequest;
  try {
    if (request.type === "init") {
      const { dir, seed, files, formats, tiny } = request.options;
      writer = new AlbumWriter(dir, planShape(seed, files), formats, tiny);
      return;
    }
    if (!writer) throw new Error("syntheticWorker: albums requested before init");
    let files = 0;
    let bytes = 0;
    let manifestLines = "";
    for (let album = request.firstAlbum; album < request.endAlbum; album++) {
      const written = writer.writeAlbum(album);
      files += written.files;
      bytes += written.bytes;
      manifestLines += written.manifestLines;
    }
    channel.post({ type: "done", chunk: request.chunk, files, bytes, manifestLines });
  } catch (error) {
    channel.post({ type: "error", message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  }
});
if (channel) announceReady(channel);
