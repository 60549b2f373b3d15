/**
 * The spelling of a colliding file name: "Title.flac" → "Title (2).flac". The tree (treeBuilder.ts) decides who
 * gets which suffix — deterministically, in (origin priority, origin, real path) order, and stably across remounts
 * because placements are stored. Names compare exactly (after the NFC normalisation the naming rule applies), as
 * Linux does: "Song.flac" and "song.flac" can both exist.
 */
import { MAX_NAME_BYTES, splitExtension, truncateUtf8, utf8Length } from "../core/names.ts";

/** "Title.flac" with n=2 → "Title (2).flac"; shortens the stem so the result stays within 255 bytes. */
export function withSuffix(fileName: string, n: number): string {
  if (n <= 1) return fileName;
  const { stem, extension } = splitExtension(fileName);
  const suffix = ` (${n})`;
  const budget = MAX_NAME_BYTES - utf8Length(suffix) - utf8Length(extension);
  return truncateUtf8(stem, budget).trimEnd() + suffix + extension;
}
