/**
 * One rule set for every name musicfs puts in its tree (scan, rescan, retag, search links): whatever a tag says, the
 * result is a single, visible, portable path component.
 *
 * - `/` and NUL cannot appear in a Linux name; `\ : * ? " < > |` cannot appear in a Windows one, and libraries are
 *   often shared over Samba, which would mangle them. All become `_` ("AC/DC" → "AC_DC").
 * - Control characters (C0, DEL, C1) are removed; tab and line breaks become spaces first so words stay apart.
 * - Unicode NFC, so that an NFD "é" (macOS taggers) and an NFC "é" give the same name.
 * - Whitespace is trimmed, and leading dots are stripped: a name never is "." or "..", never hidden, and never
 *   shadows the mount's special directories (".search", ".collections", ".prefetch", ".trash"), which all start
 *   with a dot. Stripping reads better than escaping: "...And Justice for All" → "And Justice for All".
 * - At most 255 bytes of UTF-8 (the Linux NAME_MAX), cut between grapheme clusters (never inside a character, nor
 *   between a letter and its accent or inside an emoji sequence); a file name keeps its extension.
 * - Never empty: the fallback (default "_") stands in for a name with nothing left.
 */

export const MAX_NAME_BYTES = 255;

/** Names the mount root reserves for its special directories; no sanitised name can equal them. */
export const RESERVED_ROOT_NAMES: readonly string[] = [".search", ".collections", ".prefetch", ".trash"];

export interface SanitizeOptions {
  /** The name ends in an extension (".flac") to keep intact when shortening or stripping. */
  keepExtension?: boolean;
  /** Used when nothing is left of the name (default "_"). Sanitised too. */
  fallback?: string;
  /** Byte limit (default 255). */
  maxBytes?: number;
}

const FORBIDDEN = /[/\\:*?"<>|\0]/g;
const LINE_BREAKS_AND_TABS = /[\t\n\r\u2028\u2029]/g;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
/** An extension we keep: 1–10 ASCII letters or digits after the last dot ("flac", "mp3", "m4a"). */
const EXTENSION = /\.([A-Za-z0-9]{1,10})$/;

export function sanitizeComponent(name: string, options: SanitizeOptions = {}): string {
  const maxBytes = options.maxBytes ?? MAX_NAME_BYTES;
  const fallback = options.fallback === undefined ? "_" : cleanName(options.fallback) || "_";
  let cleaned = cleanName(name);
  if (options.keepExtension) {
    const match = EXTENSION.exec(cleaned);
    if (match) {
      const extension = match[0];
      const stem = cleaned.slice(0, -extension.length).trimEnd();
      const stemBudget = Math.max(1, maxBytes - utf8Length(extension));
      const shortStem = truncateUtf8(stem, stemBudget).trimEnd() || truncateUtf8(fallback, stemBudget);
      return shortStem + extension;
    }
  }
  cleaned = truncateUtf8(cleaned, maxBytes).trimEnd();
  return cleaned || truncateUtf8(fallback, maxBytes);
}

/** True when nothing would be left of `name` as a path component (empty, blanks, dots, control characters). */
export function isBlankName(name: string): boolean {
  return cleanName(name) === "";
}

/** Characters, normalisation, trimming and dots; no length limit. */
function cleanName(name: string): string {
  return name
    .normalize("NFC")
    .replace(LINE_BREAKS_AND_TABS, " ")
    .replace(FORBIDDEN, "_")
    .replace(CONTROL, "")
    .trim()
    .replace(/^[.\s]+/, "");
}

export function utf8Length(s: string): number {
  return Buffer.byteLength(s, "utf8");
}

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** The longest prefix of `s` of at most `maxBytes` UTF-8 bytes that ends on a grapheme cluster boundary. */
export function truncateUtf8(s: string, maxBytes: number): string {
  if (utf8Length(s) <= maxBytes) return s;
  let bytes = 0;
  let end = 0;
  for (const { segment, index } of graphemes.segment(s)) {
    const size = utf8Length(segment);
    if (bytes + size > maxBytes) break;
    bytes += size;
    end = index + segment.length;
  }
  if (end > 0) return s.slice(0, end);
  // A single cluster over the limit (hundreds of combining marks): cut between code points instead.
  let out = "";
  for (const ch of s) {
    if (utf8Length(out + ch) > maxBytes) break;
    out += ch;
  }
  return out;
}
