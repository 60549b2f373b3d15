/**
 * The layout of a synthetic library, decided before any byte is written: which albums exist, who made them, and
 * for every file its path, tags and manifest line. Everything is a pure function of (seed, album index), so any
 * range of albums can be planned on its own (by a worker, say) and the result never depends on how the work was
 * split. Realistic mix: albums of 8–14 tracks per disc, ~10% multi-disc, ~5% compilations by "Various Artists",
 * guests on some tracks, ~3% files with missing tags, ~1% duplicates, names in many scripts with "/", "?", ":".
 */
import { Dice } from "./random.ts";
import { albumTitle, artistName, composerName, GENRES, pathSafe, trackTitle, VARIOUS_ARTISTS } from "./syntheticNames.ts";
import type { CoverImage, TrackTags } from "./tags.ts";
import { gradientPng, tinyJpeg } from "./tinyImages.ts";

export type SyntheticFormat = "mp3" | "flac";
/** Same names as /work/shared/corpus/synthetic-2600's manifest uses. */
export type FileKind = "flac" | "mp3-id3v2.4" | "mp3-id3v2.3";

/** One line of manifest.jsonl: what a correct tag reader must find in the file at `path`. */
export interface ManifestEntry {
  /** Relative to the library root, "/"-separated. */
  path: string;
  kind: FileKind;
  coverBytes: number;
  title: string | null;
  artists: string[];
  album: string | null;
  albumartist: string | null;
  track: number | null;
  tracktotal: number | null;
  disc: number | null;
  disctotal: number | null;
  year: number | null;
  genre: string | null;
  compilation: boolean;
  composer: string | null;
  /** The decoded duration: exact for FLAC, whole MPEG frames for MP3. */
  durationSeconds: number;
  /** For the ~1% duplicates: the path of the file whose tags this one repeats. */
  duplicateOf?: string;
}

export interface PlannedFile {
  entry: ManifestEntry;
  tags: TrackTags;
  format: SyntheticFormat;
  id3Version: 3 | 4;
  /** Which of the generator's pre-encoded audio streams to use (they differ in length). */
  audioVariant: number;
}

/** Whole-library facts every album plan needs: album sizes and each album's artist. Cheap even for 1M files. */
export interface LibraryShape {
  seed: number;
  files: number;
  /** Files planned per album; the last album may be cut short to hit `files` exactly. */
  albumFileCounts: Uint16Array;
  /** Artist number of each album, -1 for compilations. */
  albumArtists: Int32Array;
}

export interface PlanOptions {
  formats: SyntheticFormat[];
  /** How many audio variants the generator has; tracks pick one. */
  audioVariants: number;
  /** Per variant and format, the decoded duration in seconds. */
  durationOf: (format: SyntheticFormat, variant: number) => number;
  /** Share of albums with an embedded cover. */
  coverShare: number;
}

/** Albums per top-level folder: keeps every directory at a few hundred entries even for a million files. */
export const ALBUMS_PER_BUCKET = 400;

// Keys that separate the random streams, so adding a draw to one never shifts another.
const STREAM_SHAPE = 1;
const STREAM_RUN = 2;
const STREAM_ALBUM = 3;

interface AlbumShape {
  compilation: boolean;
  tracksPerDisc: number[];
  hasDuplicate: boolean;
}

function albumShape(seed: number, album: number): AlbumShape {
  const dice = new Dice(seed, STREAM_SHAPE, album);
  const compilation = dice.chance(0.05);
  const discRoll = dice.float();
  const discs = discRoll < 0.02 ? 3 : discRoll < 0.12 ? 2 : 1;
  const tracksPerDisc = Array.from({ length: discs }, () => dice.int(8, 14));
  return { compilation, tracksPerDisc, hasDuplicate: dice.chance(0.12) };
}

function fileCount(shape: AlbumShape): number {
  return shape.tracksPerDisc.reduce((a, b) => a + b, 0) + (shape.hasDuplicate ? 1 : 0);
}

/** Walks the albums until `files` are placed; artists own runs of 1–6 consecutive albums. */
export function planShape(seed: number, files: number): LibraryShape {
  const counts: number[] = [];
  const artists: number[] = [];
  let artist = -1;
  let albumsLeftInRun = 0;
  for (let placed = 0, album = 0; placed < files; album++) {
    const shape = albumShape(seed, album);
    const count = Math.min(fileCount(shape), files - placed);
    if (shape.compilation) artists.push(-1);
    else {
      if (albumsLeftInRun === 0) {
        artist++;
        albumsLeftInRun = new Dice(seed, STREAM_RUN, artist).int(1, 6);
      }
      artists.push(artist);
      albumsLeftInRun--;
    }
    counts.push(count);
    placed += count;
  }
  return { seed, files, albumFileCounts: Uint16Array.from(counts), albumArtists: Int32Array.from(artists) };
}

export function bucketName(album: number): string {
  return String(Math.floor(album / ALBUMS_PER_BUCKET)).padStart(4, "0");
}

/** Every file of one album, in track order, with its duplicate (if any) last. */
export function planAlbum(library: LibraryShape, album: number, options: PlanOptions): PlannedFile[] {
  const shape = albumShape(library.seed, album);
  const dice = new Dice(library.seed, STREAM_ALBUM, album);
  const compilation = shape.compilation;
  const artistIndex = library.albumArtists[album];
  const albumArtist = compilation ? VARIOUS_ARTISTS : artistName(artistIndex);
  const albumName = albumTitle(album);
  const year = dice.int(1960, 2024);
  const genre = dice.pick(GENRES);
  const albumFormat = dice.pick(options.formats);
  const mixedFormats = options.formats.length > 1 && dice.chance(0.1);
  const id3Version: 3 | 4 = dice.chance(0.3) ? 3 : 4;
  const cover = dice.chance(options.coverShare) ? albumCover(dice) : undefined;
  const directory = `${bucketName(album)}/${pathSafe(albumArtist)}/${pathSafe(albumName)} (${year})`;
  const discTotal = shape.tracksPerDisc.length;
  // Artists a compilation draws from: roughly those of the albums before it, so small libraries stay small.
  const artistPool = Math.max(10, Math.floor(album / 3));

  const files: PlannedFile[] = [];
  shape.tracksPerDisc.forEach((trackTotal, discIndex) => {
    for (let track = 1; track <= trackTotal; track++) {
      const artists = compilation ? [artistName(dice.int(0, artistPool))] : [albumArtist];
      if (dice.chance(compilation ? 0.2 : 0.08)) {
        const guest = artistName(dice.int(0, artistPool));
        if (!artists.includes(guest)) artists.push(guest); // readers drop a repeated artist, so never write one
      }
      const full: TrackTags = {
        title: trackTitle(dice),
        artists,
        album: albumName,
        albumArtist,
        track,
        trackTotal,
        disc: discIndex + 1,
        discTotal,
        year,
        genre,
        composer: dice.chance(0.3) ? composerName(dice) : undefined,
        compilation: compilation || undefined,
        cover,
      };
      const tags = withMissingTags(full, dice.float());
      const format = mixedFormats ? dice.pick(options.formats) : albumFormat;
      const number = String(track).padStart(2, "0");
      const name = `${discTotal > 1 ? `${discIndex + 1}-` : ""}${number} ${pathSafe(full.title!)}`;
      files.push(plannedFile(`${directory}/${name}`, tags, format, id3Version, dice.int(0, options.audioVariants - 1), options));
    }
  });

  if (shape.hasDuplicate) {
    // Same tags, different file: another length (and maybe format), as when a track was ripped twice.
    const original = files[dice.int(0, files.length - 1)];
    const format = options.formats.length > 1 && dice.chance(0.5) ? dice.pick(options.formats) : original.format;
    const variant = (original.audioVariant + 1) % options.audioVariants;
    const base = original.entry.path.slice(0, original.entry.path.lastIndexOf("."));
    const copy = plannedFile(`${base} (1)`, original.tags, format, original.id3Version, variant, options);
    copy.entry.duplicateOf = original.entry.path;
    files.push(copy);
  }
  return files.slice(0, library.albumFileCounts[album]);
}

/** ~1% each: no tags at all, no album, no artist (neither track nor album artist). */
function withMissingTags(tags: TrackTags, roll: number): TrackTags {
  if (roll < 0.01) return {};
  if (roll < 0.02) return { ...tags, album: undefined };
  if (roll < 0.03) return { ...tags, artists: undefined, albumArtist: undefined };
  return tags;
}

function albumCover(dice: Dice): CoverImage {
  return dice.chance(0.2) ? tinyJpeg() : gradientPng(dice.int(0, 0xffffff));
}

function plannedFile(
  pathWithoutExtension: string,
  tags: TrackTags,
  format: SyntheticFormat,
  albumId3Version: 3 | 4,
  audioVariant: number,
  options: PlanOptions,
): PlannedFile {
  // ID3v2.3 separates artists with "/", so names that contain one only survive in v2.4.
  const hasSlashName = [...(tags.artists ?? []), tags.albumArtist ?? "", tags.composer ?? ""].some((name) => name.includes("/"));
  const id3Version = albumId3Version === 3 && !hasSlashName ? 3 : 4;
  const kind: FileKind = format === "flac" ? "flac" : id3Version === 3 ? "mp3-id3v2.3" : "mp3-id3v2.4";
  return {
    tags,
    format,
    id3Version,
    audioVariant,
    entry: {
      path: `${pathWithoutExtension}.${format}`,
      kind,
      coverBytes: tags.cover?.data.length ?? 0,
      title: tags.title ?? null,
      artists: tags.artists ?? [],
      album: tags.album ?? null,
      albumartist: tags.albumArtist ?? null,
      track: tags.track ?? null,
      tracktotal: tags.trackTotal ?? null,
      disc: tags.disc ?? null,
      disctotal: tags.discTotal ?? null,
      year: tags.year ?? null,
      genre: tags.genre ?? null,
      compilation: tags.compilation ?? false,
      composer: tags.composer ?? null,
      durationSeconds: options.durationOf(format, audioVariant),
    },
  };
}
