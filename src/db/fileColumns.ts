import type { EmbeddedPicture, FileMeta, ImageType } from "../core/types.ts";
import { asFileId, asOriginId } from "../core/ids.ts";

/**
 * The one mapping between `files` columns and FileMeta. Queries select FILE_COLUMNS in this order and decode rows
 * from `.values()` arrays with rowToFileMeta: positional decoding is what makes the bulk load fast (no per-row
 * object with 45 string keys built by SQLite, then copied again).
 */
export const FILE_COLUMNS = [
  "id", "origin_id", "real_path", "size", "mtime_ms", "format",
  "title", "artists", "artist", "album", "album_artist", "genre", "year", "date",
  "track", "track_total", "disc", "disc_total", "composer", "compilation", "comment",
  "title_sort", "artist_sort", "album_sort", "album_artist_sort",
  "mb_track_id", "mb_album_id", "mb_artist_id", "mb_album_artist_id", "mb_release_group_id",
  "rg_track_gain", "rg_track_peak", "rg_album_gain", "rg_album_peak",
  "duration_ms", "bitrate", "sample_rate", "channels", "bits_per_sample", "codec", "parse_error", "etag", "original_year",
  "picture_offset", "picture_length", "picture_type", "picture_front",
] as const;

export const FILE_COLUMN_LIST = FILE_COLUMNS.join(", ");

/**
 * The SQL side of "a manifest may serve a file only while the file still has the size and mtime it was built from"
 * (the in-memory side is isManifestCurrent in cas/manifestCodec.ts): every query over `files` that hands out a
 * manifest filters or selects with this condition, so the rule lives here once.
 */
export const MANIFEST_IS_CURRENT = "(chunk_manifest IS NOT NULL AND manifest_size = size AND manifest_mtime_ms = mtime_ms)";

type SqlValue = string | number | bigint | null | Uint8Array;

/** The `artists` column (a JSON array) → strings; anything else → []. */
export function parseArtists(json: unknown): string[] {
  if (typeof json !== "string" || json === "") return [];
  try {
    const v = JSON.parse(json);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
  } catch {
    return [];
  }
}

export const str = (v: unknown) => (v === null || v === undefined ? null : String(v));
export const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

export function rowToFileMeta(r: SqlValue[]): FileMeta {
  return {
    id: asFileId(Number(r[0])), originId: asOriginId(String(r[1])), realPath: String(r[2]), size: Number(r[3]), mtimeMs: Number(r[4]),
    format: String(r[5]),
    title: str(r[6]), artists: parseArtists(r[7]), artist: str(r[8]), album: str(r[9]), albumArtist: str(r[10]),
    genre: str(r[11]), year: num(r[12]), date: str(r[13]), track: num(r[14]), trackTotal: num(r[15]),
    disc: num(r[16]), discTotal: num(r[17]), composer: str(r[18]), compilation: Number(r[19]) === 1,
    comment: str(r[20]),
    titleSort: str(r[21]), artistSort: str(r[22]), albumSort: str(r[23]), albumArtistSort: str(r[24]),
    mbTrackId: str(r[25]), mbAlbumId: str(r[26]), mbArtistId: str(r[27]), mbAlbumArtistId: str(r[28]),
    mbReleaseGroupId: str(r[29]),
    rgTrackGain: num(r[30]), rgTrackPeak: num(r[31]), rgAlbumGain: num(r[32]), rgAlbumPeak: num(r[33]),
    durationMs: num(r[34]), bitrate: num(r[35]), sampleRate: num(r[36]), channels: num(r[37]),
    bitsPerSample: num(r[38]), codec: str(r[39]), parseError: str(r[40]), etag: str(r[41]), originalYear: num(r[42]),
    picture: pictureOf(r[43], r[44], r[45], r[46]),
  };
}

/** Values for FILE_COLUMNS[1..] (everything but id), in order, for inserts and updates. */
export function fileMetaToValues(f: FileMeta): SqlValue[] {
  return [
    f.originId, f.realPath, f.size, f.mtimeMs, f.format,
    f.title, f.artists.length ? JSON.stringify(f.artists) : null, f.artist, f.album, f.albumArtist, f.genre,
    f.year, f.date, f.track, f.trackTotal, f.disc, f.discTotal, f.composer, f.compilation ? 1 : 0, f.comment,
    f.titleSort, f.artistSort, f.albumSort, f.albumArtistSort,
    f.mbTrackId, f.mbAlbumId, f.mbArtistId, f.mbAlbumArtistId, f.mbReleaseGroupId,
    f.rgTrackGain, f.rgTrackPeak, f.rgAlbumGain, f.rgAlbumPeak,
    f.durationMs, f.bitrate, f.sampleRate, f.channels, f.bitsPerSample, f.codec, f.parseError, f.etag ?? null, f.originalYear,
    // picture_length 0 = looked for, none found (NULL is kept for rows from before covers: see schema.sql).
    f.picture?.offset ?? null, f.picture?.length ?? 0, f.picture?.type ?? null, f.picture ? (f.picture.front ? 1 : 0) : null,
  ];
}

function pictureOf(offset: SqlValue, length: SqlValue, type: SqlValue, front: SqlValue): EmbeddedPicture | null | undefined {
  if (length === null) return undefined;
  if (Number(length) === 0 || offset === null || type === null) return null;
  return { offset: Number(offset), length: Number(length), type: String(type) as ImageType, front: Number(front) === 1 };
}
