/**
 * What content de-duplication saves on a library: every file is cut with the cache's FastCDC parameters and each
 * chunk hashed (SHA-256), as the chunk layout stored them (one file per distinct chunk, shared across files), and
 * compared with the data-file layout (one file per cached file version: identical bytes in two files stored twice).
 *
 *   bun run bench/cas/dedup.ts [DIR ...]     (default: the shared audio corpus)
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { chunkLengths } from "../../src/cas/fastCdc.ts";
import { chunkHex, sha256ChunkId } from "../../src/cas/chunkHash.ts";
import { CORPUS } from "../../test/support/paths.ts";

const dirs = process.argv.slice(2).length > 0 ? process.argv.slice(2) : [CORPUS];
const AUDIO = /\.(flac|mp3|ogg|opus|m4a|mp4|wav|aiff?|ape|wv|dsf|mpc|wma)$/i;

function* files(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = statSync(path);
    if (st.isDirectory()) yield* files(path);
    else if (st.isFile() && AUDIO.test(name)) yield path;
  }
}

let fileCount = 0;
let totalBytes = 0;
const chunks = new Map<string, number>();
const wholeFiles = new Map<string, number>();
for (const dir of dirs) {
  for (const path of files(dir)) {
    const data = new Uint8Array(readFileSync(path));
    fileCount++;
    totalBytes += data.length;
    wholeFiles.set(new Bun.CryptoHasher("sha256").update(data).digest("hex"), data.length);
    let at = 0;
    for (const len of chunkLengths(data)) {
      chunks.set(chunkHex(sha256ChunkId(data.subarray(at, at + len))), len);
      at += len;
    }
  }
}
const chunkBytes = [...chunks.values()].reduce((a, b) => a + b, 0);
const distinctFileBytes = [...wholeFiles.values()].reduce((a, b) => a + b, 0);
const MB = 1e6;
console.log(`${fileCount} audio files, ${(totalBytes / MB).toFixed(1)} MB in ${dirs.join(", ")}`);
console.log(`chunk layout (cross-file CDC dedup): ${(chunkBytes / MB).toFixed(1)} MB stored, saves ${((totalBytes - chunkBytes) / MB).toFixed(2)} MB (${((100 * (totalBytes - chunkBytes)) / totalBytes).toFixed(2)} %)`);
console.log(`identical whole files only: ${(distinctFileBytes / MB).toFixed(1)} MB, saves ${((totalBytes - distinctFileBytes) / MB).toFixed(2)} MB (${((100 * (totalBytes - distinctFileBytes)) / totalBytes).toFixed(2)} %)`);
console.log(`data-file layout (no dedup): ${(totalBytes / MB).toFixed(1)} MB stored`);
