/** Where things are, for every test: the repository, the CLI entry, and the shared audio corpus beside the repo. */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

export const REPO = resolve(import.meta.dir, "../..");
export const CLI = join(REPO, "src/cli/main.ts");
/** `../shared/corpus` beside the repository (override with MUSICFS_CORPUS). Tests skip with a reason when absent. */
export const CORPUS = process.env.MUSICFS_CORPUS ?? resolve(REPO, "../shared/corpus");
export const SYNTHETIC = join(CORPUS, "synthetic-2600");
export const GENERATED = join(CORPUS, "generated-taggers");
export const HAVE_CORPUS = existsSync(join(SYNTHETIC, "manifest.jsonl"));
