/**
 * The demo's sample library (src/sample/sampleLibrary.ts) written into a folder, for the tests that need it as an
 * origin: rendered once per test process (~0.5 CPU-s: every track's melody and FLAC or MP3 encoding in JavaScript)
 * and copied from there on (`bun test` runs every file of a shard in one process; ~20 callers rendered it each time).
 * The same files, bytes and folder layout as writeSampleLibrary writes; the copies get the time of the copy as mtime,
 * as a fresh write would.
 */
import { cpSync } from "node:fs";
import { join } from "node:path";
import { writeSampleLibrary } from "../../src/sample/sampleLibrary.ts";
import { processTempDir } from "./cleanup.ts";

let rendered: Promise<string> | null = null;

/** Writes the sample library into `dir` (created if missing; files already there are kept or overwritten). */
export async function writeSampleLibraryCopy(dir: string): Promise<void> {
  rendered ??= (async () => {
    const library = join(processTempDir("musicfs-sample-rendered-"), "library");
    await writeSampleLibrary(library);
    return library;
  })().catch((e) => {
    rendered = null; // a failed render is tried again by the next caller
    throw e;
  });
  cpSync(await rendered, dir, { recursive: true });
}
