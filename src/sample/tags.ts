/**
 * What the sample writers put into a file's tags. Format-neutral: flacWriter maps it to Vorbis comments,
 * mp3Writer to ID3v2 frames. Absent fields are simply not written (a file may carry no tags at all).
 */

/** An embedded cover picture (FLAC PICTURE block / ID3v2 APIC frame). */
export interface CoverImage {
  mime: "image/png" | "image/jpeg";
  data: Uint8Array;
  width: number;
  height: number;
  /** Bits per pixel, as FLAC's PICTURE block wants it (24 for RGB). */
  depth: number;
}

export interface TrackTags {
  title?: string;
  /** Track artists in order; more than one is written as repeated ARTIST fields / a multi-value TPE1. */
  artists?: string[];
  album?: string;
  albumArtist?: string;
  track?: number;
  trackTotal?: number;
  disc?: number;
  discTotal?: number;
  year?: number;
  genre?: string;
  composer?: string;
  /** Original release year (ORIGINALDATE / TDOR). */
  originalYear?: number;
  /** MusicBrainz release id (MUSICBRAINZ_ALBUMID / TXXX "MusicBrainz Album Id"). */
  mbAlbumId?: string;
  /** Part of a various-artists compilation (COMPILATION=1 / TCMP=1). */
  compilation?: boolean;
  /** Front cover. */
  cover?: CoverImage;
}

/** True when there is nothing to write, so the writer can omit the tag container entirely. */
export function hasNoTags(tags: TrackTags): boolean {
  return Object.values(tags).every((value) => value === undefined || (Array.isArray(value) && value.length === 0));
}
