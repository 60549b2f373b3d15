/**
 * Path templates: `$albumartist/$album ($albumyear) [$albumformat]/$disctrack - $title.$format`.
 *
 * A template is parsed once into tokens and validated (at config load, so a typo is an error before anything is
 * mounted); rendering substitutes values into tokens and never re-reads them as template text, so a title that
 * contains "$artist" or "/" is only ever literal (sanitised) text.
 *
 * Grammar, per `/`-separated segment:
 * - `$name` or `${name}` is a variable (names are case-insensitive); `$$` is a literal `$`.
 * - `( … )`, `[ … ]` containing a variable are optional sections: when every variable inside is empty, the section
 *   disappears with the space before it ("$album ($year)" → "Album", never "Album ()"). `{ … }` is an optional
 *   section whose braces are not printed ("$album{ - $year}"). Brackets without a variable are plain text. Brackets
 *   must pair up within a segment: an unbalanced one is an error naming its position.
 * - Outside sections, an empty variable takes its fallback ("Unknown Artist"...). A folder segment that is only
 *   vanished sections is left out (no empty folder name); a file name with nothing left falls back to the file's
 *   own name (with its extension).
 */
import type { FileMeta } from "../core/types.ts";
import { displayPath } from "../core/originPaths.ts";
import { UserError } from "../core/errors.ts";
import { sanitizeComponent, sanitizeFileName } from "../core/names.ts";
import { albumValuesOf, presentTag, trackArtist, type AlbumMemberTags, type AlbumValues } from "./albums.ts";

/** The variables, in the order they are documented; descriptions feed error messages and `docs/templates.md`. */
export const TEMPLATE_VARIABLES = {
  artist: "track artist(s)",
  albumartist: 'album artist of the album; "Various Artists" for compilations or mixed artists without one; else the track artist',
  album: "album",
  title: "title; else the file name without extension",
  track: "track number, two digits (03)",
  disc: "disc number",
  disctrack: 'disc and track on multi-disc albums ("2-03"), else the track ("03")',
  year: "year of the track",
  albumyear: "earliest (original) year of the album's tracks",
  albumformat: 'formats of the album\'s tracks, upper case ("FLAC", "FLAC+MP3")',
  albumtracks: "number of tracks of the album",
  albumdiscs: "number of discs of the album",
  genre: "genre",
  composer: "composer",
  format: "file extension, lower case (flac)",
  format_upper: "file extension, upper case (FLAC)",
  added: 'month the file came into the library, when musicfs first stored it ("2026-03", UTC)',
} as const;

export type TemplateVariable = keyof typeof TEMPLATE_VARIABLES;

/** Shown outside optional sections when the value is missing. `title` falls back to the file name instead. */
export const FALLBACKS: Record<Exclude<TemplateVariable, "title" | "format" | "format_upper" | "albumformat" | "albumtracks" | "albumdiscs">, string> = {
  artist: "Unknown Artist",
  albumartist: "Unknown Artist",
  album: "Unknown Album",
  track: "00",
  disc: "1",
  disctrack: "00",
  year: "Unknown Year",
  albumyear: "Unknown Year",
  genre: "Unknown Genre",
  composer: "Unknown Composer",
  added: "Unknown Date",
};

export type TemplateToken =
  | { kind: "literal"; text: string }
  | { kind: "variable"; name: TemplateVariable }
  | { kind: "section"; open: string; close: string; children: TemplateToken[] };

export interface PathTemplate {
  readonly source: string;
  /** One token list per `/`-separated segment; the last one is the file name. */
  readonly segments: readonly (readonly TemplateToken[])[];
}

/** What rendering needs of a file. */
export type TemplateInput = AlbumMemberTags &
  Pick<FileMeta, "title" | "track" | "genre" | "composer"> & {
    /** When musicfs first stored the file (files.added_at, ms); needed only by templates that use `$added`. */
    addedAt?: number | null;
  };

const OPENERS: Record<string, string> = { "(": ")", "[": "]", "{": "}" };
const CLOSERS = new Set(Object.values(OPENERS));
const PRINTED_BRACKETS = new Set(["(", "["]);
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*/;

function validList(): string {
  return Object.keys(TEMPLATE_VARIABLES).map((n) => `$${n}`).join(", ");
}

function templateError(source: string, problem: string): UserError {
  return new UserError(`Invalid path template "${source}": ${problem}.`, `Valid variables: ${validList()}.`);
}

/** Parses and validates a template; throws UserError (with the valid variables listed) when it is unusable. */
export function compileTemplate(source: string): PathTemplate {
  if (source.trim() === "") throw templateError(source, "it is empty");
  if (source.startsWith("/")) throw templateError(source, 'it must be relative to the mount: remove the leading "/"');
  const rawSegments = source.split("/");
  let offset = 0; // of the segment in the source, for positions in error messages
  const segments = rawSegments.map((raw, i) => {
    if (raw.trim() === "") {
      throw templateError(source, i === rawSegments.length - 1 ? 'it ends with "/" (no file name)' : 'it has an empty folder ("//")');
    }
    if (raw.trim() === "." || raw.trim() === "..") throw templateError(source, `"${raw.trim()}" is not a folder name`);
    const tokens = parseSegment(raw, source, offset);
    offset += raw.length + 1;
    return tokens;
  });
  return { source, segments };
}

/** A 1-based character position in the template, as a person counts it. */
function position(offset: number, i: number): string {
  return `position ${offset + i + 1}`;
}

function parseSegment(raw: string, source: string, offset: number): TemplateToken[] {
  interface Frame { open: string; at: number; children: TemplateToken[] }
  const stack: Frame[] = [{ open: "", at: -1, children: [] }];
  const top = () => stack[stack.length - 1];
  const pushLiteral = (text: string, into: TemplateToken[] = top().children) => {
    const last = into[into.length - 1];
    if (last?.kind === "literal") last.text += text;
    else into.push({ kind: "literal", text });
  };
  let i = 0;
  while (i < raw.length) {
    const ch = raw[i];
    if (ch === "$") {
      if (raw[i + 1] === "$") {
        pushLiteral("$");
        i += 2;
        continue;
      }
      let name: string | undefined;
      let length: number;
      if (raw[i + 1] === "{") {
        const end = raw.indexOf("}", i + 2);
        name = end === -1 ? undefined : raw.slice(i + 2, end);
        length = end - i + 1;
        if (name === undefined || !IDENTIFIER.test(name) || IDENTIFIER.exec(name)![0] !== name) {
          throw templateError(source, `"${raw.slice(i, end === -1 ? undefined : end + 1)}" is not a variable`);
        }
      } else {
        name = IDENTIFIER.exec(raw.slice(i + 1))?.[0];
        length = 1 + (name?.length ?? 0);
        if (!name) throw templateError(source, 'a "$" is not followed by a variable name (write "$$" for a literal "$")');
      }
      const lower = name.toLowerCase();
      if (!(lower in TEMPLATE_VARIABLES)) {
        throw templateError(source, `unknown variable "$${name}" (valid: ${validList()})`);
      }
      top().children.push({ kind: "variable", name: lower as TemplateVariable });
      i += length;
      continue;
    }
    if (ch in OPENERS) {
      stack.push({ open: ch, at: i, children: [] });
    } else if (CLOSERS.has(ch)) {
      // Brackets must pair up within a folder: a stray one is almost always a typo that would silently turn an
      // optional section into literal text.
      if (stack.length === 1) throw templateError(source, `"${ch}" at ${position(offset, i)} has no opening bracket`);
      if (OPENERS[top().open] !== ch) {
        throw templateError(source, `"${ch}" at ${position(offset, i)} does not close "${top().open}" at ${position(offset, top().at)}`);
      }
      const frame = stack.pop()!;
      if (containsVariable(frame.children)) {
        top().children.push({ kind: "section", open: frame.open, close: ch, children: frame.children });
      } else {
        pushLiteral(frame.open);
        for (const t of frame.children) appendToken(top().children, t, pushLiteral);
        pushLiteral(ch);
      }
    } else {
      pushLiteral(ch);
    }
    i++;
  }
  if (stack.length > 1) {
    const frame = top();
    const spansFolders = offset + raw.length < source.length && source.slice(offset + raw.length).includes(OPENERS[frame.open]);
    const why = spansFolders ? ' (a bracket cannot span a "/")' : "";
    throw templateError(source, `"${frame.open}" at ${position(offset, frame.at)} is never closed${why}`);
  }
  return stack[0].children;
}

function appendToken(into: TemplateToken[], token: TemplateToken, pushLiteral: (t: string, into?: TemplateToken[]) => void) {
  if (token.kind === "literal") pushLiteral(token.text, into);
  else into.push(token);
}

function containsVariable(tokens: readonly TemplateToken[]): boolean {
  return tokens.some((t) => t.kind === "variable" || (t.kind === "section" && containsVariable(t.children)));
}

/**
 * The template names the file's folder after its album (`$album` in the last folder segment): such a folder holds one
 * album, and two albums that would share it get two folders (src/app/catalog/treeBuilder.ts).
 */
export function folderIsPerAlbum(template: PathTemplate): boolean {
  const folder = template.segments[template.segments.length - 2];
  return folder !== undefined && tokensUse(folder, "album");
}

/** The template uses `variable` anywhere (a value that costs a lookup is fetched only for templates that show it). */
export function templateUses(template: PathTemplate, variable: TemplateVariable): boolean {
  return template.segments.some((tokens) => tokensUse(tokens, variable));
}

function tokensUse(tokens: readonly TemplateToken[], variable: TemplateVariable): boolean {
  return tokens.some((t) => (t.kind === "variable" && t.name === variable) || (t.kind === "section" && tokensUse(t.children, variable)));
}

/** "2026-03": the month of a time, in UTC (a placement must not depend on the machine's time zone). */
export function monthOf(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
}

/**
 * Variable values of one file; "" when missing (fallbacks are applied by the renderer, outside sections only).
 * `album` holds the album-level values of the file's album (src/library/albums.ts); a file without one is its own.
 */
export function templateValues(file: TemplateInput, album: AlbumValues = albumValuesOf([file])): Record<TemplateVariable, string> {
  const present = presentTag;
  const artist = trackArtist(file);
  const multiDisc = isMultiDisc(album);
  const track = file.track !== null && file.track > 0 ? String(file.track).padStart(2, "0") : "";
  const format = file.format.toLowerCase();
  return {
    artist,
    albumartist: present(album.albumArtist),
    album: present(file.album),
    title: present(file.title),
    track,
    disc: file.disc !== null && file.disc > 0 ? String(file.disc) : "",
    disctrack: track && multiDisc ? `${file.disc ?? 1}-${track}` : track,
    year: file.year !== null && file.year > 0 ? String(file.year) : "",
    albumyear: album.year !== null && album.year > 0 ? String(album.year) : "",
    albumformat: album.formats,
    albumtracks: String(album.tracks),
    albumdiscs: String(album.discs),
    genre: present(file.genre),
    composer: present(file.composer),
    format,
    format_upper: format.toUpperCase(),
    added: file.addedAt ? monthOf(file.addedAt) : "",
  };
}

/** The origin file's own name, extension included, as readable text (bytes that are not UTF-8 show as U+FFFD). */
function fileBaseName(realPath: string): string {
  return displayPath(realPath.slice(realPath.lastIndexOf("/") + 1));
}

/** The file name without its extension: the title of a file that has none. */
export function fileStem(realPath: string): string {
  const name = fileBaseName(realPath);
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(0, dot) : name;
}

/** "2-03" numbering: the album has more than one disc (a disc number or disc total above 1 on any of its tracks). */
function isMultiDisc(album: AlbumValues): boolean {
  return album.discs > 1;
}

function fallbackFor(name: TemplateVariable, file: TemplateInput, values: Record<TemplateVariable, string>): string {
  switch (name) {
    case "title":
      return fileStem(file.realPath);
    case "format":
    case "format_upper":
    case "albumformat":
    case "albumtracks":
    case "albumdiscs":
      return values[name];
    case "disctrack":
      return values.disc && values.albumdiscs !== "1" ? `${values.disc}-00` : FALLBACKS.disctrack;
    default:
      return FALLBACKS[name];
  }
}

/**
 * Renders a file's virtual path: sanitised components, the last one the file name (extension kept). `album`: the
 * stored values of the file's album; without it the file is rendered as an album of its own.
 */
export function renderPath(template: PathTemplate, file: TemplateInput, album?: AlbumValues): string[] {
  const values = templateValues(file, album);
  const out: string[] = [];
  const last = template.segments.length - 1;
  template.segments.forEach((tokens, i) => {
    const text = renderTokens(tokens, file, values, false).text;
    if (i < last) {
      if (text.trim() === "") return; // only vanished sections: no folder level
      out.push(sanitizeComponent(text, { fallback: "_" }));
    } else {
      // Nothing left of the name (a vanished "[$title]", a title of invisible characters): the origin's own name.
      out.push(sanitizeFileName(text, { fallback: fileBaseName(file.realPath) }));
    }
  });
  return out;
}

interface Rendered {
  text: string;
  /** A variable inside had a value (decides whether a section shows). */
  hadValue: boolean;
}

function renderTokens(
  tokens: readonly TemplateToken[],
  file: TemplateInput,
  values: Record<TemplateVariable, string>,
  inSection: boolean,
): Rendered {
  let text = "";
  let hadValue = false;
  let dropLeadingSpace = false;
  for (const token of tokens) {
    if (token.kind === "literal") {
      text += dropLeadingSpace ? token.text.replace(/^\s+/, "") : token.text;
      dropLeadingSpace = false;
    } else if (token.kind === "variable") {
      const value = values[token.name];
      if (value) hadValue = true;
      text += value || (inSection ? "" : fallbackFor(token.name, file, values));
      dropLeadingSpace = false;
    } else {
      const inner = renderTokens(token.children, file, values, true);
      if (inner.hadValue) {
        hadValue = true;
        text += PRINTED_BRACKETS.has(token.open) ? token.open + inner.text + token.close : inner.text;
        dropLeadingSpace = false;
      } else if (text.trim() === "") {
        // Vanished at the start: the space after it goes too ("[$genre] $album" → "Album").
        text = "";
        dropLeadingSpace = true;
      } else {
        // Vanished after something: the space before it goes ("$album ($year)" → "Album").
        text = text.replace(/\s+$/, "");
      }
    }
  }
  return { text, hadValue };
}
