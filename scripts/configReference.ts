/**
 * Writes the README's config reference (between its config-reference markers) from the key table,
 * src/config/configKeys.ts. test/config/configReference.test.ts fails while the README differs from it.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { configReference } from "../src/config/configKeys.ts";

export const BEGIN = "<!-- config-reference: generated from src/config/configKeys.ts by `bun run config-reference` -->";
export const END = "<!-- /config-reference -->";

/** The README with its reference section replaced by `reference`. */
export function withReference(readme: string, reference: string): string {
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md has no ${BEGIN} … ${END} section`);
  return `${readme.slice(0, start + BEGIN.length)}\n\n${reference}\n${readme.slice(end)}`;
}

if (import.meta.main) {
  const path = join(import.meta.dir, "..", "README.md");
  writeFileSync(path, withReference(readFileSync(path, "utf8"), configReference()));
  console.log("README.md: config reference written");
}
