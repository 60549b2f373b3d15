/**
 * Album identity and album-level values (docs/templates.md, "Albums"). Pure functions: src/db/albumStore.ts feeds
 * them stored rows and keeps the results, so a mount never recomputes them.
 *
 * Identity: tracks are one album when they share album artist and album title (and MusicBrainz album id when
 * present: it splits same-named albums). A track without an album artist joins the album of the same title in the
 * same origin folder that has one; when no track of the folder with that title has one, the folder's tracks that
 * share the title are one album (a compilation when their artists differ, as Picard and beets infer). A file without
 * an album tag belongs to no album: its album-level values are its own.
 *
 * Identity is judged one origin folder at a time (albumKeysInFolder): when files of a folder are added, retagged or
 * removed, that folder is judged again (foldersOf), with the albums its files were in. This module is the rule;
 * src/app/catalog/albumIndex.ts keeps the stored albums in step with it and src/db/albumStore.ts stores them.
 */
import type { AlbumMemberTags, AlbumValues, OriginId } from "../core/types.ts";
import { dirOf } from "./deltaClassify.ts";
import { nameOr } from "../core/names.ts";

export type { AlbumMemberTags, AlbumValues };

export const VARIOUS_ARTISTS = "Various Artists";

/**
 * The version of these rules. Bump it when the identity rule or the album-level values change: stored albums are
 * then rebuilt once, at the next mount (and the tree re-laid out where a value moved a folder).
 */
export const ALBUM_RULES_VERSION = "1";

/** One origin folder: the unit album identity is judged in. */
export interface OriginFolder {
  originId: OriginId;
  /** "" = origin root, else ending in "/". */
  dir: string;
}

/** A folder as a map key (one spelling for everyone who groups files by folder). */
export function folderKey(folder: OriginFolder): string {
  return `${folder.originId}\0${folder.dir}`;
}

/** The distinct origin folders of some files: the folders whose albums must be judged again when they change. */
export function foldersOf(files: readonly { originId: OriginId; realPath: string }[]): OriginFolder[] {
  const out = new Map<string, OriginFolder>();
  for (const f of files) {
    const folder = { originId: f.originId, dir: dirOf(f.realPath) };
    out.set(folderKey(folder), folder);
  }
  return [...out.values()];
}

/** A tag value that counts as present (the template's rule: blank or name-less values are missing). */
export function presentTag(value: string | null | undefined): string {
  return nameOr(value, "");
}

/** The track's artist as the template shows it: the ARTIST tag, else the artists joined. */
export function trackArtist(file: Pick<AlbumMemberTags, "artist" | "artists">): string {
  return presentTag(file.artist) || presentTag(file.artists.join("; "));
}

/**
 * The album key of every file of ONE origin folder (same order as `files`; null = no album). Keys are opaque,
 * comparable strings; the folder's files should come in real-path order so that the choice among several tagged
 * peers is stable.
 */
export function albumKeysInFolder(originId: string, files: readonly AlbumMemberTags[]): (string | null)[] {
  const keyOf = (artist: string, album: string, mbid: string) => JSON.stringify(["a", artist, album, mbid]);
  const albums = files.map((f) => presentTag(f.album));
  const mbids = files.map((f) => presentTag(f.mbAlbumId));
  const keys = files.map((f, i) => {
    const artist = presentTag(f.albumArtist);
    return albums[i] && artist ? keyOf(artist, albums[i], mbids[i]) : null;
  });
  // The first tagged track of each title (and of each title + album id): what untagged tracks of the folder join.
  const firstByTitle = new Map<string, string>();
  const firstByTitleAndId = new Map<string, string>();
  keys.forEach((key, i) => {
    if (key === null) return;
    if (!firstByTitle.has(albums[i])) firstByTitle.set(albums[i], key);
    const withId = `${albums[i]}\0${mbids[i]}`;
    if (!firstByTitleAndId.has(withId)) firstByTitleAndId.set(withId, key);
  });
  return files.map((f, i) => {
    const album = albums[i];
    if (!album || keys[i] !== null) return keys[i];
    // No album artist: join a peer of the same title (and the same album id, if this track has one) that has one.
    const peer = mbids[i] ? firstByTitleAndId.get(`${album}\0${mbids[i]}`) : firstByTitle.get(album);
    return peer ?? JSON.stringify(["f", originId, dirOf(f.realPath), album, mbids[i]]);
  });
}

/** Folds an album's tracks into its values, one track at a time (a million-file rebuild keeps no member lists). */
export class AlbumAccumulator {
  private albumArtist = "";
  private compilation = false;
  private firstArtist = "";
  private artistsDiffer = false;
  private minYear: number | null = null;
  private minOriginalYear: number | null = null;
  private readonly formats = new Set<string>();
  private tracks = 0;
  private discs = 1;

  add(f: AlbumMemberTags): void {
    this.tracks++;
    this.albumArtist ||= presentTag(f.albumArtist);
    this.compilation ||= f.compilation;
    const artist = trackArtist(f);
    if (artist) {
      if (!this.firstArtist) this.firstArtist = artist;
      else if (artist !== this.firstArtist) this.artistsDiffer = true;
    }
    if (f.year !== null && f.year > 0 && (this.minYear === null || f.year < this.minYear)) this.minYear = f.year;
    if (f.originalYear !== null && f.originalYear > 0 && (this.minOriginalYear === null || f.originalYear < this.minOriginalYear)) {
      this.minOriginalYear = f.originalYear;
    }
    this.formats.add(f.format.toUpperCase());
    this.discs = Math.max(this.discs, f.disc ?? 0, f.discTotal ?? 0);
  }

  values(): AlbumValues {
    return {
      albumArtist: this.albumArtist || (this.compilation || this.artistsDiffer ? VARIOUS_ARTISTS : this.firstArtist) || null,
      year: this.minOriginalYear ?? this.minYear,
      formats: [...this.formats].sort().join("+"),
      tracks: this.tracks,
      discs: this.discs,
    };
  }
}

/** The album-level values of a set of tracks (one file alone: a file without an album is its own). */
export function albumValuesOf(members: readonly AlbumMemberTags[]): AlbumValues {
  const acc = new AlbumAccumulator();
  for (const m of members) acc.add(m);
  return acc.values();
}

export function sameAlbumValues(a: AlbumValues, b: AlbumValues): boolean {
  return a.albumArtist === b.albumArtist && a.year === b.year && a.formats === b.formats && a.tracks === b.tracks && a.discs === b.discs;
}
