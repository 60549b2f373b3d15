/** Locating the shared audio corpus (../shared/corpus beside the repository) and walking it, for library tests. */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

export const CORPUS = process.env.MUSICFS_CORPUS ?? resolve(import.meta.dir, "../../../shared/corpus");
export const SYNTHETIC = join(CORPUS, "synthetic-2600");
export const GENERATED = join(CORPUS, "generated-taggers");
export const HAVE_CORPUS = existsSync(join(SYNTHETIC, "manifest.jsonl"));

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
