/**
 * The naming rule: one function set for every name musicfs shows — tree folders and files (scan, rescan, retag),
 * the `/.search` and `/.collections` link names, collection names, and names decoded from origin file names that
 * are not valid UTF-8. Whatever a tag says, the result is a single, visible, portable path component that looks
 * like what it is.
 *
 * - `/` and NUL cannot appear in a Linux name; `\ : * ? " < > |` cannot appear in a Windows one, and libraries are
 *   often shared over Samba, which would mangle them. All become `_` ("AC/DC" → "AC_DC").
 * - Control characters (C0, DEL, C1) are removed; tab and line breaks (also U+2028/U+2029) become spaces first so
 *   words stay apart.
 * - No spoofing: bidirectional formatting characters (U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069) would show
 *   "track\u202Ecalf.mp3" as "trackfla.cmp3"; zero-width characters (U+200B–U+200D, U+2060, U+FEFF) make two names
 *   that look the same differ. Both are removed, so a name made only of them is empty (and takes its fallback).
 *   The one exception is a zero-width joiner inside an emoji sequence ("👨‍👩‍👧"), where it is part of the picture.
 * - Unicode NFC, so that an NFD "é" (macOS taggers) and an NFC "é" give the same name.
 * - Whitespace is trimmed, and leading dots are stripped: a name never is "." or "..", never hidden, and never
 *   shadows the mount's special directories (".search", ".collections", ".prefetch", ".trash"), which all start
 *   with a dot. Stripping reads better than escaping: "...And Justice for All" → "And Justice for All".
 * - At most 255 bytes of UTF-8 (the Linux NAME_MAX), cut between grapheme clusters (never inside a character, nor
 *   between a letter and its accent or inside an emoji sequence); a file name keeps its extension. A "cluster" too
 *   long to be a real character (hundreds of stacked combining marks) is cut between code points instead of being
 *   dropped whole, so a title is shortened, never lost.
 * - Never empty: the fallback stands in for a name with nothing left.
 */

export const MAX_NAME_BYTES = 255;

/** Names the mount root reserves for its special directories; no sanitised name can equal them. */
export const RESERVED_ROOT_NAMES: readonly string[] = [".search", ".collections", ".prefetch", ".trash"];

/**
 * Longer than any real character: emoji ZWJ sequences with skin tones stay under 40 bytes, and Unicode's
 * stream-safe text format allows at most 30 combining marks in a row.
 */
const OVERSIZED_GRAPHEME_BYTES = 64;

const FORBIDDEN = /[/\\:*?"<>|\0]/g;
const LINE_BREAKS_AND_TABS = /[\t\n\r\u2028\u2029]/g;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
/** Zero-width characters, except a joiner between emoji (with an optional variation selector or skin tone). */
const ZERO_WIDTH = /[\u200b\u200c\u2060\ufeff]|(?<!\p{Extended_Pictographic}[\u{fe0f}\u{1f3fb}-\u{1f3ff}]?)\u200d|\u200d(?!\p{Extended_Pictographic})/gu;
/** An extension we keep: 1–10 ASCII letters or digits after the last dot ("flac", "mp3", "m4a"). */
const EXTENSION = /\.([A-Za-z0-9]{1,10})$/;

/**
 * The characters of the rule, without a length limit and without a fallback: what is left of `text` as (part of)
 * a name. "" when nothing is left.
 */
export function cleanName(text: string): string {
  return text
    .normalize("NFC")
    .replace(LINE_BREAKS_AND_TABS, " ")
    .replace(FORBIDDEN, "_")
    .replace(CONTROL, "")
    .replace(BIDI_CONTROLS, "")
    .replace(ZERO_WIDTH, "")
    .trim()
    .replace(/^[.\s]+/, "");
}

/** True when nothing would be left of `name` as a path component (empty, blanks, dots, control characters). */
export function isBlankName(name: string): boolean {
  return cleanName(name) === "";
}

/** `value` when something of it would be left as a name, else `fallback` (a missing or invisible tag). */
export function nameOr(value: string | null | undefined, fallback: string): string {
  return value && !isBlankName(value) ? value : fallback;
}

/** A folder name (or any name without an extension): the rule, cut to `maxBytes`, else the fallback (default "_"). */
export function sanitizeComponent(name: string, options: { fallback?: string; maxBytes?: number } = {}): string {
  const maxBytes = options.maxBytes ?? MAX_NAME_BYTES;
  const cleaned = truncateUtf8(cleanName(name), maxBytes).trimEnd();
  if (cleaned) return cleaned;
  return truncateUtf8(cleanName(options.fallback ?? "_") || "_", maxBytes);
}

/**
 * "Title.flac" → { stem: "Title", extension: ".flac" }; ".flac" → stem "" (a name that is only an extension);
 * no recognisable extension → extension "".
 */
export function splitExtension(fileName: string): { stem: string; extension: string } {
  const match = EXTENSION.exec(fileName);
  if (!match) return { stem: fileName, extension: "" };
  return { stem: fileName.slice(0, match.index), extension: match[0] };
}

/**
 * A file name: the rule applied to the stem, the extension kept and never counted as the name ("[$title].flac"
 * with no title is not the file "flac"). When nothing is left of the stem, `fallback` (a whole file name, e.g. the
 * origin's own) is used instead, itself sanitised; without one the stem becomes "_".
 */
export function sanitizeFileName(name: string, options: { fallback?: string; maxBytes?: number } = {}): string {
  const maxBytes = options.maxBytes ?? MAX_NAME_BYTES;
  const { stem, extension } = splitExtension(name.trimEnd());
  const cleanStem = cleanName(stem);
  if (cleanStem === "" && options.fallback !== undefined) return sanitizeFileName(options.fallback, { maxBytes });
  const budget = Math.max(1, maxBytes - utf8Length(extension));
  return (truncateUtf8(cleanStem, budget).trimEnd() || "_") + extension;
}

export function utf8Length(s: string): number {
  return Buffer.byteLength(s, "utf8");
}

/** Built on first use: ~2 ms of CPU in every thread that loads this module, and few names are ever truncated. */
let graphemes: Intl.Segmenter | undefined;

/**
 * The longest prefix of `s` of at most `maxBytes` UTF-8 bytes that ends on a grapheme cluster boundary — or, when
 * the cluster that does not fit is oversized (or is the first one), inside it on a code point boundary.
 */
export function truncateUtf8(s: string, maxBytes: number): string {
  if (utf8Length(s) <= maxBytes) return s;
  let bytes = 0;
  let out = "";
  for (const { segment } of (graphemes ??= new Intl.Segmenter(undefined, { granularity: "grapheme" })).segment(s)) {
    const size = utf8Length(segment);
    if (bytes + size <= maxBytes) {
      bytes += size;
      out += segment;
      continue;
    }
    if (out === "" || size > OVERSIZED_GRAPHEME_BYTES) {
      for (const ch of segment) {
        const chSize = utf8Length(ch);
        if (bytes + chSize > maxBytes) break;
        bytes += chSize;
        out += ch;
      }
    }
    break;
  }
  return out;
}
