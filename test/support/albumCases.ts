/**
 * A small origin with the album cases users tripped over (issue 10), written with our own FLAC/MP3 writers: shared by
 * the mount, MPD and beets tests.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeFlac } from "../../src/sample/flacWriter.ts";
import { writeMp3 } from "../../src/sample/mp3Writer.ts";
import { silence } from "../../src/sample/tone.ts";
import type { TrackTags } from "../../src/sample/tags.ts";

export function put(dir: string, rel: string, tags: TrackTags): void {
  mkdirSync(join(dir, rel, ".."), { recursive: true });
  const bytes = rel.endsWith(".mp3") ? writeMp3(tags, { seconds: 0.2 }) : writeFlac(tags, silence(0.2, 22050, 1));
  writeFileSync(join(dir, rel), bytes);
}

export const WESNOTH = "The Battle for Wesnoth OST";

/**
 * An origin with the cases users tripped over: a soundtrack whose tracks carry different years and artists and no
 * album artist; an album of FLAC and MP3 tracks; two same-named albums told apart only by MusicBrainz album id.
 * Returns the number of albums by tag (what the mount must show as folders).
 */
export function writeAlbumCases(origin: string): { albums: number; tracks: number } {
  [2004, 2005, 2008, 2012].forEach((year, i) =>
    put(origin, `Wesnoth/${i + 1}.flac`, { album: WESNOTH, artists: [i % 2 ? "David W. Collins" : "Jeremy Nicoll"], year, title: `Theme ${i + 1}`, track: i + 1 }),
  );
  put(origin, "Mixed/1.flac", { album: "Odds", albumArtist: "Mixed Band", artists: ["Mixed Band"], year: 1999, title: "Odd", track: 1 });
  put(origin, "Mixed/2.mp3", { album: "Odds", albumArtist: "Mixed Band", artists: ["Mixed Band"], year: 1999, title: "Even", track: 2 });
  put(origin, "Mixed/3.mp3", { album: "Odds", artists: ["Mixed Band"], year: 1999, title: "Third", track: 3 }); // no album artist
  for (const [dir, mbAlbumId] of [["GH1", "11111111-1111-1111-1111-111111111111"], ["GH2", "22222222-2222-2222-2222-222222222222"]]) {
    put(origin, `${dir}/1.flac`, { album: "Greatest Hits", albumArtist: "Band", artists: ["Band"], year: 2001, title: `${dir} opener`, track: 1, mbAlbumId });
  }
  return { albums: 4, tracks: 9 };
}

