/**
 * Tests that read the shared audio corpus (../shared/corpus beside the repository, or MUSICFS_CORPUS): without it
 * they are skipped, and their title says why — a clone of the repository alone runs the rest of the suite green.
 * With the corpus present nothing is skipped and titles are unchanged (CI always has it: 0 skipped).
 */
import { describe, test } from "bun:test";
import { CORPUS, HAVE_CORPUS } from "./paths.ts";

const REASON = ` (skipped: no audio corpus at ${CORPUS}; put it at ../shared/corpus beside the repository, or name it in MUSICFS_CORPUS)`;

function titled(title: string): string {
  return HAVE_CORPUS ? title : `${title}${REASON}`;
}

/** `test` for a test that reads the corpus. */
export function corpusTest(title: string, fn: () => void | Promise<unknown>, timeoutMs?: number): void {
  if (timeoutMs === undefined) test.skipIf(!HAVE_CORPUS)(titled(title), fn);
  else test.skipIf(!HAVE_CORPUS)(titled(title), fn, timeoutMs);
}

/** `describe` for a group whose every test (and hook) reads the corpus. */
export function corpusDescribe(title: string, fn: () => void): void {
  describe.skipIf(!HAVE_CORPUS)(titled(title), fn);
}
