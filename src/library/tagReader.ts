/**
 * Tags and technical data of one audio file, from its bytes, as ParsedTags. Never throws: a file that cannot be
 * parsed yields emptyTags() with a short `parseError`, so the scanner can still show it under fallback names.
 *
 * music-metadata does the parsing; this module decides what we ask of it and cleans up what it returns:
 * - `skipCovers`: pictures are never decoded or copied; coverLocator.ts finds where the cover's bytes are in the
 *   file (from the bytes the parse read anyway), and the mount serves them from there and `duration: false` (a full duration scan reads whole
 *   files; headers give the duration of FLAC, MP4, WAV, AIFF, WavPack, APE, WMA and VBR MP3, the file size gives CBR
 *   MP3's, and we read Ogg durations from the last page ourselves).
 * - The parser is chosen by extension first (as music-metadata's parseFile does); if that throws or finds nothing,
 *   we try again by content, because files with the wrong extension are common.
 * - Known music-metadata gaps on real files are patched from the native tags: WMA `WM/IsCompilation` stored as a
 *   boolean, APEv2 `ALBUMARTIST` as kid3 and foobar2000 write it, UTF-8 text in RIFF INFO chunks (decoded as Latin-1).
 */
import { parseFromTokenizer, type IAudioMetadata, type INativeTagDict } from "music-metadata";
import { emptyTags, type ParsedTags } from "../core/types.ts";
import { ByteSource } from "./byteSource.ts";
import { ByteSourceTokenizer } from "./byteSourceTokenizer.ts";
import { installMusicMetadataSpeedup } from "./musicMetadataSpeedup.ts";
import { oggDurationSeconds } from "./oggDuration.ts";
import { locateEmbeddedPicture } from "./coverLocator.ts";
import {
  cleanText,
  cleanTextList,
  finiteNumber,
  positiveInt,
  repairUtf8ReadAsLatin1,
  splitArtistList,
  yearOf,
} from "./tagText.ts";

installMusicMetadataSpeedup();

/**
 * What we ask of every parse. A fresh copy per parse, never this object itself: music-metadata writes into the
 * options it is given (`scanAppendingHeaders` stores the APEv2 footer it found as `options.apeHeader`, and the ID3v1
 * parser later seeks there). With one shared object, two parses in flight at once (a scan worker awaiting one file
 * while it starts another) handed one file's APEv2 footer offset to the other: an MP3 parsed next to an APE file
 * lost its ID3v1 tags and its duration (issue 20).
 */
const PARSE_OPTIONS = { skipCovers: true, duration: false } as const;
const parseOptions = () => ({ ...PARSE_OPTIONS });
const OGG_FORMATS = new Set(["ogg", "oga", "opus", "spx", "ogx"]);
/** Track and disc numbers beyond these are garbage, not albums. */
const MAX_TRACK = 9999;
const MAX_DISC = 999;

/**
 * Parses `input` (a whole file, or a ByteSource over part of one) of extension `format` ("flac", no dot).
 * Async only because music-metadata's API is; with a ByteSource all reads are synchronous.
 */
export async function readTags(input: ByteSource | Uint8Array, format: string): Promise<ParsedTags> {
  const source = input instanceof ByteSource ? input : ByteSource.ofBuffer(input);
  if (source.size === 0) return { ...emptyTags(), parseError: "empty file" };
  let metadata: IAudioMetadata;
  try {
    metadata = await parseByExtensionThenContent(source, format.toLowerCase());
  } catch (e) {
    return { ...emptyTags(), parseError: describeParseError(e) };
  }
  try {
    return { ...toParsedTags(metadata, source, format.toLowerCase()), picture: locateEmbeddedPicture((o, n) => source.peek(o, n), source.size) };
  } catch (e) {
    // A bug of ours on an odd value must not lose the file: report it like a parse failure.
    return { ...emptyTags(), parseError: `could not read tags: ${describeParseError(e)}` };
  }
}

async function parseByExtensionThenContent(source: ByteSource, ext: string): Promise<IAudioMetadata> {
  let firstError: unknown;
  if (ext) {
    try {
      const metadata = await parseFromTokenizer(new ByteSourceTokenizer(source, `file.${ext}`), parseOptions());
      if (foundAnything(metadata)) return metadata;
    } catch (e) {
      firstError = e;
    }
  }
  try {
    const metadata = await parseFromTokenizer(new ByteSourceTokenizer(source), parseOptions());
    if (foundAnything(metadata)) return metadata;
  } catch (e) {
    // The extension's parser failing says more about the file than content sniffing failing.
    throw firstError ?? e;
  }
  if (firstError) throw firstError;
  throw new NothingFoundError();
}

function foundAnything(m: IAudioMetadata): boolean {
  return m.format.tagTypes.length > 0 || m.format.codec !== undefined || m.format.duration !== undefined;
}

class NothingFoundError extends Error {
  override readonly name = "NothingFoundError";
  constructor() {
    super("no audio stream or tags found");
  }
}

/** A short reason for logs and the database: what is wrong with the file, not a stack trace. */
export function describeParseError(e: unknown): string {
  const name = (e as { name?: unknown } | null)?.name;
  const message = e instanceof Error ? e.message : String(e);
  let reason: string;
  switch (name) {
    case "CouldNotDetermineFileTypeError":
      reason = "not a recognised audio format";
      break;
    case "UnsupportedFileTypeError":
      reason = `unsupported format (${message.replace(/^.*:\s*/, "")})`;
      break;
    case "EndOfStreamError":
    case "MissingBytesError":
      reason = "file is truncated (ends inside a header)";
      break;
    case "NothingFoundError":
    case "FetchLimitError":
    case "BufferSizeError":
      reason = message;
      break;
    default:
      reason = name && typeof name === "string" && name !== "Error" ? `${name}: ${message}` : message;
  }
  return (cleanText(reason) ?? "unknown error").slice(0, 200);
}

function toParsedTags(m: IAudioMetadata, source: ByteSource, ext: string): ParsedTags {
  const c = m.common;
  const native = nativeByType(m);
  const repair = riffInfoRepairs(native);
  const text = (v: unknown) => {
    const t = cleanText(v);
    return t === null ? null : (repair.get(t) ?? t);
  };
  const list = (vs: readonly unknown[] | undefined) => cleanTextList(vs).map((t) => repair.get(t) ?? t);

  const rawArtists = list(c.artists);
  const tagArtist = text(c.artist);
  const artists = splitArtistList(rawArtists.length > 0 ? rawArtists : tagArtist ? [tagArtist] : []);
  // music-metadata sets `artist` to the first of several same-source ARTIST values; show them all instead.
  // When `artist` differs (Picard's ARTIST "A feat. B" next to ARTISTS A, B), the tagger's own display form wins.
  const artist = rawArtists.length > 1 && tagArtist === rawArtists[0] ? rawArtists.join("; ") : (tagArtist ?? artists[0] ?? null);

  const year = yearOf(c.year, text(c.date));
  // Keep the tag's own date string; a tag with only a year (ID3v2.3 TYER) still gets one.
  const date = text(c.date) ?? (year !== null ? String(year) : null);
  const tags: ParsedTags = {
    ...emptyTags(),
    title: text(c.title),
    artists,
    artist,
    album: text(c.album),
    albumArtist: text(c.albumartist) ?? apeAlbumArtist(native),
    genre: joinOrNull(list(c.genre)),
    year,
    originalYear: yearOf(c.originalyear, text(c.originaldate)),
    date,
    track: positiveInt(c.track?.no, MAX_TRACK),
    trackTotal: positiveInt(c.track?.of, MAX_TRACK),
    disc: positiveInt(c.disk?.no, MAX_DISC),
    discTotal: positiveInt(c.disk?.of, MAX_DISC),
    composer: joinOrNull(list(c.composer)),
    compilation: c.compilation === true || wmaCompilation(native),
    comment: firstComment(c.comment, text),

    titleSort: text(c.titlesort),
    artistSort: text(c.artistsort),
    albumSort: text(c.albumsort),
    albumArtistSort: text(c.albumartistsort),

    mbTrackId: text(c.musicbrainz_recordingid ?? c.musicbrainz_trackid),
    mbAlbumId: text(c.musicbrainz_albumid),
    mbArtistId: text(c.musicbrainz_artistid?.[0]),
    mbAlbumArtistId: text(c.musicbrainz_albumartistid?.[0]),
    mbReleaseGroupId: text(c.musicbrainz_releasegroupid),

    rgTrackGain: finiteNumber(c.replaygain_track_gain?.dB),
    rgTrackPeak: finiteNumber(c.replaygain_track_peak?.ratio),
    rgAlbumGain: finiteNumber(c.replaygain_album_gain?.dB),
    rgAlbumPeak: finiteNumber(c.replaygain_album_peak?.ratio),

    ...technical(m, source, ext),
  };
  return tags;
}

function technical(m: IAudioMetadata, source: ByteSource, ext: string) {
  const f = m.format;
  let seconds = f.duration;
  if ((seconds === undefined || !Number.isFinite(seconds)) && (OGG_FORMATS.has(ext) || f.container === "Ogg")) {
    seconds = oggDurationSeconds(source, f.sampleRate) ?? undefined;
  }
  const durationMs = seconds !== undefined && Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds * 1000) : null;
  let bitrate = f.bitrate !== undefined && Number.isFinite(f.bitrate) && f.bitrate > 0 ? Math.round(f.bitrate) : null;
  // Opus and some Vorbis files carry no nominal bitrate: the average over the file is what players show.
  if (bitrate === null && durationMs !== null) bitrate = Math.round((source.size * 8) / (durationMs / 1000));
  return {
    durationMs,
    bitrate,
    sampleRate: positiveInt(f.sampleRate, 10_000_000),
    channels: positiveInt(f.numberOfChannels, 255),
    bitsPerSample: positiveInt(f.bitsPerSample, 64),
    codec: cleanText(f.codec) ?? cleanText(f.container),
  };
}

/** The native tag types our quirk fixes look at (upper-cased ids); other types are not copied. */
const PATCHED_TAG_TYPES = new Set(["asf", "APEv2", "exif"]);

function nativeByType(m: IAudioMetadata): Map<string, INativeTagDict> {
  const out = new Map<string, INativeTagDict>();
  for (const [type, tags] of Object.entries(m.native)) {
    if (!PATCHED_TAG_TYPES.has(type)) continue;
    const dict: INativeTagDict = {};
    for (const { id, value } of tags) (dict[id.toUpperCase()] ||= []).push(value);
    out.set(type, dict);
  }
  return out;
}

/** WMA: music-metadata maps `WM/IsCompilation` only when it is a string; WMA writers store a BOOL attribute. */
function wmaCompilation(native: Map<string, INativeTagDict>): boolean {
  const values = native.get("asf")?.["WM/ISCOMPILATION"] ?? [];
  return values.some((v) => v === true || v === 1 || v === "1" || (typeof v === "string" && v.toLowerCase() === "true"));
}

/** APEv2: music-metadata knows "Album Artist" but not "ALBUMARTIST" (kid3, foobar2000, Mp3tag). */
function apeAlbumArtist(native: Map<string, INativeTagDict>): string | null {
  const ape = native.get("APEv2");
  if (!ape) return null;
  for (const key of ["ALBUMARTIST", "ALBUM_ARTIST"]) {
    const value = ape[key]?.map((v) => cleanText(v)).find((v) => v !== null);
    if (value) return value;
  }
  return null;
}

/** RIFF INFO (`exif` in music-metadata) values that are UTF-8 read as Latin-1, mapped to their repaired text. */
function riffInfoRepairs(native: Map<string, INativeTagDict>): Map<string, string> {
  const repairs = new Map<string, string>();
  const info = native.get("exif");
  if (!info) return repairs;
  for (const values of Object.values(info)) {
    for (const value of values) {
      if (typeof value !== "string") continue;
      // Repair before cleaning: cleaning drops C1 characters, which are bytes of the UTF-8 we want back.
      const raw = cleanText(value);
      const fixed = cleanText(repairUtf8ReadAsLatin1(value));
      if (raw !== null && fixed !== null && fixed !== raw) repairs.set(raw, fixed);
    }
  }
  return repairs;
}

function firstComment(comments: unknown, text: (v: unknown) => string | null): string | null {
  if (!Array.isArray(comments)) return null;
  for (const comment of comments) {
    const value = text(typeof comment === "string" ? comment : (comment as { text?: unknown } | null)?.text);
    if (value !== null) return value;
  }
  return null;
}

function joinOrNull(values: string[]): string | null {
  return values.length > 0 ? values.join("; ") : null;
}
