/**
 * The first read of a file not cached yet after a mount took the main thread ~2 ms more than later ones between
 * the READ arriving and its GET leaving (bench/s3/firstByte.ts with timestamps in the daemon: 2.0–3.1 ms against
 * 0.2–0.3 ms): the fetcher's code run for the first time. At 0 ms added RTT that is more than a GET's time, and the
 * far seek a user makes right after mounting paid it. So a mount runs that path once before its ready line, on a
 * file in memory: a throwaway Fetcher of its own (no range index, no progress: nothing is stored or recorded), an
 * origin that answers from a buffer, the open's HEAD, a seek and a read at 0 — no request leaves the machine.
 */
import { asContentId, asOriginId } from "../../core/ids.ts";
import type { Origin } from "../../origins/origin.ts";
import type { ChunkStore } from "../chunkStore.ts";
import { Fetcher } from "./index.ts";

const SIZE = 1 << 20;

/** An origin of one file of SIZE zero bytes, in memory. */
function memoryOrigin(): Origin {
  const bytes = new Uint8Array(SIZE);
  return {
    id: asOriginId("warm-up"),
    displayName: "warm-up (in memory)",
    async *walk() {},
    stat: async () => ({ size: SIZE, mtimeMs: 0 }),
    read: async (_path, offset, length) => bytes.slice(offset, Math.min(SIZE, offset + length)),
    async *stream() {},
    isAvailable: async () => true,
  };
}

/** Runs the read path once (see above). `store` is only what the Fetcher's type asks for: nothing is put in it. */
export async function warmUpReadPath(store: ChunkStore): Promise<void> {
  const fetcher = new Fetcher({ store });
  const file = { fileId: asContentId(0), origin: memoryOrigin(), realPath: "warm-up", size: SIZE, mtimeMs: 0, manifest: null };
  try {
    await fetcher.statOrigin(file);
    await fetcher.read(file, (SIZE * 3) / 4, 64 * 1024);
    await fetcher.read(file, 0, 4096);
  } finally {
    await fetcher.close();
  }
}
