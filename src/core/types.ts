/**
 * Shared domain types. Everything that crosses a module boundary (scanner → db → tree → fs → search) speaks these.
 */

import type { FileId, Ino, OriginId } from "./ids.ts";
export type { AlbumId, ContentId, FileId, FolderImageId, Ino, OriginId, ViewId } from "./ids.ts";

/** How an origin's content is served: read straight from the origin, or through the content cache. */
export type CacheMode = "off" | "full";

/**
 * Whether `/.search` and `/.collections` appear when the mount's root is listed. "hidden" (the default, like ZFS
 * `snapdir=hidden`): reachable by name only, so scanners that walk the tree and follow symlinks (MPD) do not index
 * every track a second time through the collections' links. "visible": listed like any folder.
 */
export type SpecialDirsVisibility = "hidden" | "visible";

/**
 * Everything musicfs knows about one origin file: where it is, its tags, technical data and sync state.
 * Optional tag fields are `null` when the file does not carry them (never empty strings: those are normalised away).
 */
export interface FileMeta {
  id?: FileId;
  originId: OriginId;
  /**
   * POSIX path relative to the origin root, no leading slash, e.g. "Queen/1986/01 Track.flac". Escaped text: bytes
   * of a name that are not UTF-8 are kept as escapes (core/originPaths.ts); fs calls go through originFsPath().
   */
  realPath: string;
  /** Origin size in bytes and mtime in ms, the delta-sync identity of the content. */
  size: number;
  mtimeMs: number;
  /** The object store's content tag (S3 ETag), part of the identity where the origin has one; absent for folders. */
  etag?: string | null;
  /** Lower-case extension without the dot ("flac", "mp3"): the `$format` of the template. */
  format: string;

  title: string | null;
  /** All track artists, in tag order. `artist` is their display form (joined, or the tag's own ARTIST string). */
  artists: string[];
  artist: string | null;
  album: string | null;
  albumArtist: string | null;
  genre: string | null;
  year: number | null;
  /** The original release year (ORIGINALDATE, TDOR), when tagged: `$albumyear` prefers it. */
  originalYear: number | null;
  date: string | null;
  track: number | null;
  trackTotal: number | null;
  disc: number | null;
  discTotal: number | null;
  composer: string | null;
  compilation: boolean;
  comment: string | null;

  titleSort: string | null;
  artistSort: string | null;
  albumSort: string | null;
  albumArtistSort: string | null;

  mbTrackId: string | null;
  mbAlbumId: string | null;
  mbArtistId: string | null;
  mbAlbumArtistId: string | null;
  mbReleaseGroupId: string | null;

  rgTrackGain: number | null;
  rgTrackPeak: number | null;
  rgAlbumGain: number | null;
  rgAlbumPeak: number | null;

  durationMs: number | null;
  bitrate: number | null;
  sampleRate: number | null;
  channels: number | null;
  bitsPerSample: number | null;
  /** Codec as reported by the parser ("FLAC", "MPEG 1 Layer 3", "AAC"...). */
  codec: string | null;

  /**
   * The picture embedded in the file that can serve as its album's cover, as a byte range of the file
   * (library/coverLocator.ts); null when there is none, undefined when not looked for (older rows, test files).
   */
  picture?: EmbeddedPicture | null;

  /** Why the tags could not be read, when they could not; the file is still shown under fallback names. */
  parseError: string | null;
}

/** An image type a cover file can have (by its magic bytes): the cover's extension follows it. */
export type ImageType = "jpeg" | "png" | "webp";

/** A picture embedded in an audio file, as a byte range of that file: served from there, never copied. */
export interface EmbeddedPicture {
  offset: number;
  length: number;
  type: ImageType;
  /** The picture is marked as the front cover (ID3/FLAC picture type 3; MP4 `covr` always is). */
  front: boolean;
}

/** What album identity and album-level values need of a file (src/library/albums.ts). */
export interface AlbumMemberTags {
  realPath: string;
  format: string;
  artist: string | null;
  artists: readonly string[];
  album: string | null;
  albumArtist: string | null;
  compilation: boolean;
  mbAlbumId: string | null;
  year: number | null;
  originalYear: number | null;
  disc: number | null;
  discTotal: number | null;
}

/** The album-level template values ($albumartist, $albumyear, $albumformat, $albumtracks, $albumdiscs). */
export interface AlbumValues {
  /** Album artist tag; else Various Artists for a compilation or tracks by different artists; else the artist. */
  albumArtist: string | null;
  /** The earliest original year of the tracks, else their earliest year. */
  year: number | null;
  /** The tracks' formats, upper case, sorted, joined with "+": "FLAC", "FLAC+MP3". */
  formats: string;
  tracks: number;
  /** The highest disc number or disc total of any track, at least 1. */
  discs: number;
}

/** The tag and technical part of FileMeta: what a tag parser produces for one buffer. */
export type ParsedTags = Omit<FileMeta, "id" | "originId" | "realPath" | "size" | "mtimeMs" | "etag" | "format">;

/** A FileMeta with every tag empty: the starting point for parsers and for files that cannot be parsed. */
export function emptyTags(): ParsedTags {
  return {
    title: null, artists: [], artist: null, album: null, albumArtist: null, genre: null, year: null, originalYear: null, date: null,
    track: null, trackTotal: null, disc: null, discTotal: null, composer: null, compilation: false, comment: null,
    titleSort: null, artistSort: null, albumSort: null, albumArtistSort: null,
    mbTrackId: null, mbAlbumId: null, mbArtistId: null, mbAlbumArtistId: null, mbReleaseGroupId: null,
    rgTrackGain: null, rgTrackPeak: null, rgAlbumGain: null, rgAlbumPeak: null,
    durationMs: null, bitrate: null, sampleRate: null, channels: null, bitsPerSample: null, codec: null,
    picture: null, parseError: null,
  };
}
