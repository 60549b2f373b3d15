/**
 * Normalising raw tag values: what a tag says is data from arbitrary taggers (NUL padding, BOMs, stray control
 * characters, "0" for "no track number"), and everything downstream (paths, search, the database) wants one clean
 * form: trimmed NFC text or null, sane integers or null.
 */

/** Control characters (C0 except tab/newline handled below, DEL, C1) and byte-order marks. */
const CONTROL = /[\u0001-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\ufeff]/g;
const WHITESPACE_CONTROL = /[\t\n\r]+/g;

/**
 * Trimmed NFC text, or null when nothing is left. A NUL ends the value: ID3 frames are NUL-padded or NUL-separated,
 * and for a single-valued field the first value is the value (multi-valued fields use `cleanTextList`).
 */
export function cleanText(value: unknown): string | null {
  if (typeof value !== "string") {
    if (typeof value === "number" && Number.isFinite(value)) return String(value);
    return null;
  }
  const firstPart = value.split("\0").find((part) => part.trim() !== "") ?? "";
  const cleaned = firstPart.replace(WHITESPACE_CONTROL, " ").replace(CONTROL, "").trim().normalize("NFC");
  return cleaned === "" ? null : cleaned;
}

/** Every non-empty value, cleaned, NUL-separated parts split out, duplicates removed, order kept. */
export function cleanTextList(values: readonly unknown[] | undefined): string[] {
  const out: string[] = [];
  for (const value of values ?? []) {
    const parts = typeof value === "string" ? value.split("\0") : [value];
    for (const part of parts) {
      const text = cleanText(part);
      if (text !== null && !out.includes(text)) out.push(text);
    }
  }
  return out;
}

/**
 * Splits one artist string that holds several artists, as ID3, MP4, WMA and APE taggers write them ("A; B",
 * "A / B"). Only separators with surrounding context that never occurs inside a name are used: ";" and a slash with
 * spaces on both sides. "AC/DC" and "Simon & Garfunkel" stay whole.
 */
export function splitArtistList(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const value of values) {
    for (const part of value.split(/\s*;\s*|\s+\/\s+/)) {
      const text = part.trim();
      if (text !== "" && !out.includes(text)) out.push(text);
    }
  }
  return out;
}

/** A positive integer within `max`, else null ("0", negative, NaN and absurd values mean "not set"). */
export function positiveInt(value: unknown, max: number): number | null {
  const n = typeof value === "string" ? Number.parseInt(value, 10) : typeof value === "number" ? Math.trunc(value) : NaN;
  return Number.isFinite(n) && n >= 1 && n <= max ? n : null;
}

/** Years musicfs believes: four digits. A tag saying year 1 or 99999 is a typo or garbage, not an era. */
const MIN_YEAR = 1000;
const MAX_YEAR = 9999;

/**
 * The year of a tag. When the date starts with a number, that whole number decides (the parser's year field is
 * derived from it by taking leading digits, which turns "99999" into 9999 and "64276-03-08" into 6427): it must be
 * exactly four digits. Otherwise ("May 1986", no date) the year field counts if it is a plausible year.
 */
export function yearOf(year: unknown, date: string | null): number | null {
  const leading = date?.match(/^\s*(\d+)/)?.[1];
  if (leading !== undefined) return leading.length === 4 ? plausibleYear(Number(leading)) : null;
  if (typeof year === "string" && !/^\s*\d+\s*$/.test(year)) return null;
  return plausibleYear(typeof year === "string" ? Number(year) : year);
}

function plausibleYear(n: unknown): number | null {
  return typeof n === "number" && Number.isInteger(n) && n >= MIN_YEAR && n <= MAX_YEAR ? n : null;
}

/** A finite number, or null. ReplayGain strings like "-6.5 dB" are accepted. */
export function finiteNumber(value: unknown): number | null {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "string") {
    const n = Number.parseFloat(value.replace(/\s*dB\s*$/i, ""));
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

/**
 * Undoes UTF-8 read as Latin-1 ("CafÃ©" → "Café"). RIFF INFO chunks carry no encoding unless a CSET chunk says so,
 * and the standard says ISO 8859-1, so music-metadata decodes them as Latin-1; but ffmpeg and most taggers write
 * UTF-8. A Latin-1 string whose bytes form valid multi-byte UTF-8 is, in practice, always UTF-8.
 */
export function repairUtf8ReadAsLatin1(value: string): string {
  let hasHigh = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c > 0xff) return value;
    if (c >= 0x80) hasHigh = true;
  }
  if (!hasHigh) return value;
  const bytes = new Uint8Array(value.length);
  for (let i = 0; i < value.length; i++) bytes[i] = value.charCodeAt(i);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return value;
  }
}
