/** Locating the shared audio corpus (../shared/corpus beside the repository) and walking it, for library tests. */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

import { SYNTHETIC } from "../support/paths.ts";

export { CORPUS, GENERATED, HAVE_CORPUS, SYNTHETIC } from "../support/paths.ts";
export { corpusDescribe, corpusTest } from "../support/needsCorpus.ts";

export interface ManifestRow {
  path: string;
  kind: string;
  coverBytes: number;
  title: string;
  artists: string[];
  album: string;
  albumartist: string;
  track: number;
  tracktotal: number;
  disc: number;
  disctotal: number;
  year: number;
  genre: string;
  compilation: boolean;
}

export function loadManifest(): ManifestRow[] {
  return readFileSync(join(SYNTHETIC, "manifest.jsonl"), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as ManifestRow);
}

/** Every regular file below `root` (absolute paths), sorted; symlinks are not followed. */
export function walkFiles(root: string): string[] {
  const out: string[] = [];
  const visit = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) visit(p);
      else if (e.isFile()) out.push(p);
    }
  };
  visit(root);
  return out.sort();
}
