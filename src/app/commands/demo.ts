import { writeSampleLibrary } from "../../sample/sampleLibrary.ts";

/** `musicfs demo`: writes the embedded sample library below `baseDir` (library/ and cache/ side by side). */
export async function prepareDemoLibrary(baseDir: string): Promise<{ libraryDir: string; cacheDir: string; files: number }> {
  const libraryDir = `${baseDir}/library`;
  const written = await writeSampleLibrary(libraryDir);
  return { libraryDir, cacheDir: `${baseDir}/cache`, files: written.files };
}
