/**
 * A reader that reads a file at its own pace, as a player does: `bun test/support/pacedReader.ts FILE PIECE PAUSE_MS`
 * reads PIECE bytes, waits PAUSE_MS, and so on to EOF, then prints the SHA-256 of what it read and the byte count.
 * On a read error it prints the error code to stderr and exits 1. A process of its own: a test must not read the
 * mount it is testing from its own thread synchronously, and a player is another process anyway.
 */
import { closeSync, openSync, readSync } from "node:fs";

if (import.meta.main) {
  const [file, pieceArg, pauseArg] = process.argv.slice(2);
  const piece = Number(pieceArg ?? 65536);
  const pause = Number(pauseArg ?? 20);
  const fd = openSync(file!, "r");
  const hasher = new Bun.CryptoHasher("sha256");
  const buf = new Uint8Array(piece);
  let total = 0;
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, piece, total);
      if (n === 0) break;
      hasher.update(buf.subarray(0, n));
      total += n;
      if (pause > 0) await Bun.sleep(pause);
    }
  } catch (e) {
    console.error(`${(e as { code?: string }).code ?? "ERROR"} after ${total} bytes: ${(e as Error).message}`);
    process.exit(1);
  } finally {
    closeSync(fd);
  }
  console.log(`${hasher.digest("hex")} ${total}`);
}
