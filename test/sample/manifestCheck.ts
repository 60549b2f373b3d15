/** Compares what ffprobe and music-metadata read from a generated file with its manifest line. Test-only. */
import { parseFile } from "music-metadata";
import type { ManifestEntry } from "../../src/sample/syntheticPlan.ts";
import { tag, type ProbeResult } from "./tools.ts";

/** The manifest's fields as music-metadata reports them, for a toEqual against the entry. */
export async function readWithMusicMetadata(path: string) {
  const { common, format } = await parseFile(path);
  return {
    title: common.title ?? null,
    artists: common.artists ?? [],
    album: common.album ?? null,
    albumartist: common.albumartist ?? null,
    track: common.track.no,
    tracktotal: common.track.of,
    disc: common.disk.no,
    disctotal: common.disk.of,
    year: common.year ?? null,
    genre: common.genre?.[0] ?? null,
    compilation: common.compilation ?? false,
    composer: common.composer?.[0] ?? null,
    coverBytes: common.picture?.[0]?.data.length ?? 0,
    durationSeconds: format.duration,
  };
}

export function manifestFields(entry: ManifestEntry) {
  const { path: _path, kind: _kind, duplicateOf: _duplicateOf, ...fields } = entry;
  return fields;
}

/** What ffprobe should show for the entry's tags (ffmpeg's own spellings for each format). */
export function expectedProbeTags(entry: ManifestEntry): Record<string, string | undefined> {
  const isFlac = entry.kind === "flac";
  const pair = (n: number | null, total: number | null) => (n === null ? undefined : isFlac || total === null ? String(n) : `${n}/${total}`);
  const artist =
    entry.artists.length === 0
      ? undefined
      : isFlac
        ? entry.artists.join(";") // ffmpeg joins repeated Vorbis fields with ";"
        : entry.kind === "mp3-id3v2.3"
          ? entry.artists.join("/") // v2.3's own separator, shown as written
          : entry.artists[0]; // ffmpeg shows the first of v2.4's NUL-separated values
  return {
    title: entry.title ?? undefined,
    artist,
    album: entry.album ?? undefined,
    album_artist: entry.albumartist ?? undefined,
    track: pair(entry.track, entry.tracktotal),
    disc: pair(entry.disc, entry.disctotal),
    date: entry.year === null ? undefined : String(entry.year),
    genre: entry.genre ?? undefined,
  };
}

export function probeTags(probe: ProbeResult, names: string[]): Record<string, string | undefined> {
  return Object.fromEntries(names.map((name) => [name, tag(probe, name)]));
}
