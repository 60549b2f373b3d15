/**
 * A library in a bucket, for the e2e files of S3 origins: each used to write the sample library to a temp folder,
 * list it, read every file and put each under `lib/` itself. Here that is said once: the sample library is written
 * and read once per test process (`bun test` runs every file in one process), and each caller gets its own Map to
 * change (rename keys, add tracks) before it uploads.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { writeSampleLibraryCopy } from "./sampleLibraryCopy.ts";
import { putObjects } from "./cephRgw.ts";
import { processTempDir } from "./cleanup.ts";
import { findFiles } from "./process.ts";

/** Where the e2e files keep their library in a bucket. */
export const LIBRARY_PREFIX = "lib/";

let sample: Promise<ReadonlyMap<string, Uint8Array>> | null = null;

/**
 * The sample library (src/sample/sampleLibrary.ts) as objects: path relative to the library (in sorted order) → its
 * bytes. A fresh Map each call; the byte arrays are shared, so read them and never change them in place.
 */
export async function sampleLibraryObjects(): Promise<Map<string, Uint8Array>> {
  sample ??= (async () => {
    const dir = join(processTempDir("musicfs-sample-objects-"), "library");
    await writeSampleLibraryCopy(dir);
    return folderObjects(dir);
  })();
  return new Map(await sample);
}

/** Every regular file below `dir` as objects: relative path (sorted) → bytes. */
export async function folderObjects(dir: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for (const file of await findFiles(dir)) out.set(file, new Uint8Array(readFileSync(join(dir, file))));
  return out;
}

/**
 * Puts a library into a bucket: each object under `prefix` (default `lib/`), then `extra` objects at exactly the
 * keys they name (a key outside the library, a folder image placed by hand).
 */
export async function uploadLibrary(
  client: Bun.S3Client,
  objects: Iterable<[key: string, body: Uint8Array]>,
  opts: { prefix?: string; extra?: Iterable<[key: string, body: Uint8Array | string]> } = {},
): Promise<void> {
  const prefix = opts.prefix ?? LIBRARY_PREFIX;
  await putObjects(client, [...[...objects].map(([k, b]): [string, Uint8Array | string] => [`${prefix}${k}`, b]), ...(opts.extra ?? [])]);
}

/** A folder's files into a bucket under `prefix` (default `lib/`): folderObjects + uploadLibrary. */
export async function uploadFolder(client: Bun.S3Client, dir: string, prefix = LIBRARY_PREFIX): Promise<Map<string, Uint8Array>> {
  const objects = await folderObjects(dir);
  await uploadLibrary(client, objects, { prefix });
  return objects;
}

