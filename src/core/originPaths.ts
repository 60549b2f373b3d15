/**
 * Origin file names are bytes; musicfs keeps them as text that round-trips to exactly those bytes.
 *
 * Linux allows any bytes but "/" and NUL in a name, so an origin may hold `$'\xff\xfe.mp3'` or a folder
 * `dir\xffbad/`. Decoding such a name as UTF-8 loses the bytes (every invalid byte becomes U+FFFD), and the file
 * could then not be opened again. So an origin path (`realPath`, stored in metadata.db as TEXT) is kept in an
 * escaped form that is always valid UTF-8 and maps back to the original bytes one to one:
 *
 * - a byte that is not part of valid UTF-8 is written U+FFFD followed by its two lower-case hex digits
 *   (`\xff` → "\uFFFDff");
 * - a real U+FFFD in a (valid) name is written twice ("\uFFFD\uFFFD"), so it cannot be mistaken for an escape;
 * - everything else is the name's own text. Names that are valid UTF-8 without U+FFFD — nearly all — are stored
 *   exactly as before.
 *
 * Only code that touches the origin's filesystem turns the text back into bytes (`originFsPath`), and only code
 * that shows a name turns it into readable text (`displayPath`: each raw byte shows as U+FFFD).
 */
import { isUtf8 } from "node:buffer";
import { join } from "node:path";

/** A path as fs calls take it: a string when it is plain UTF-8, else the exact bytes. */
export type FsPath = string | Buffer;

const ESCAPE = "\uFFFD";
const ESCAPED_SEQUENCE = /\uFFFD(\uFFFD|[0-9a-f]{2})/g;
const utf8 = new TextDecoder("utf-8");

/** The length of the valid UTF-8 sequence starting at `i`, or 0 when the byte there starts none. */
function sequenceLength(b: Uint8Array, i: number): number {
  const b0 = b[i];
  if (b0 < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < b.length && b[i + k] >= lo && b[i + k] <= hi;
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if (b0 === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0; // no UTF-16 surrogates
  if (b0 >= 0xe1 && b0 <= 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (b0 === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (b0 >= 0xf1 && b0 <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (b0 === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

const escapeText = (text: string) => text.replaceAll(ESCAPE, ESCAPE + ESCAPE);

/** A name (or relative path) as the filesystem returns it in bytes → its escaped text. */
export function fsBytesToText(bytes: Uint8Array): string {
  if (isUtf8(bytes)) return escapeText(utf8.decode(bytes));
  let out = "";
  let runStart = 0;
  let i = 0;
  while (i < bytes.length) {
    const length = sequenceLength(bytes, i);
    if (length > 0) {
      i += length;
      continue;
    }
    out += escapeText(utf8.decode(bytes.subarray(runStart, i))) + ESCAPE + bytes[i].toString(16).padStart(2, "0");
    i++;
    runStart = i;
  }
  return out + escapeText(utf8.decode(bytes.subarray(runStart)));
}

/** True when the text carries escapes (so its bytes are not simply its UTF-8). */
export function hasEscapes(text: string): boolean {
  return text.includes(ESCAPE);
}

/** Escaped text → the original bytes. */
export function textToFsBytes(text: string): Buffer {
  if (!hasEscapes(text)) return Buffer.from(text);
  const parts: Buffer[] = [];
  let last = 0;
  for (const m of text.matchAll(ESCAPED_SEQUENCE)) {
    parts.push(Buffer.from(text.slice(last, m.index)));
    parts.push(m[1] === ESCAPE ? Buffer.from(ESCAPE) : Buffer.from([parseInt(m[1], 16)]));
    last = m.index + m[0].length;
  }
  parts.push(Buffer.from(text.slice(last)));
  return Buffer.concat(parts);
}

/**
 * The path to hand to fs calls for a file of an origin: `root` is a plain path (from the configuration),
 * `realPath` the escaped relative path. A string (as `join` gives) unless the relative path holds escapes.
 */
export function originFsPath(root: string, realPath: string): FsPath {
  if (!hasEscapes(realPath)) return join(root, realPath);
  const prefix = root.endsWith("/") ? root : `${root}/`;
  return Buffer.concat([Buffer.from(prefix), textToFsBytes(realPath)]);
}

/** Escaped text → readable text: each byte that was not UTF-8 shows as U+FFFD. For names and messages. */
export function displayPath(text: string): string {
  return hasEscapes(text) ? text.replace(ESCAPED_SEQUENCE, ESCAPE) : text;
}
