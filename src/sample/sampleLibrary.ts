/**
 * The demo library `bun run demo` mounts: 20 short tracks by fictional artists, mixed FLAC and MP3, with the
 * cases a tag-organised view must get right — a "Various Artists" compilation, a two-disc album, a track with two
 * artists, unicode names, embedded covers. Every track plays its own short melody (FLAC: sine with harmonics; MP3:
 * pure tones, see mp3Melody.ts). Everything is made in memory, so the compiled binary needs no files.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { writeFlac } from "./flacWriter.ts";
import { writeMp3 } from "./mp3Writer.ts";
import { pathSafe } from "./syntheticNames.ts";
import type { CoverImage, TrackTags } from "./tags.ts";
import { gradientPng, tinyJpeg } from "./tinyImages.ts";
import { renderMelody } from "./tone.ts";

export interface SampleFile {
  /** Relative to the library root. */
  path: string;
  format: "flac" | "mp3";
  tags: TrackTags;
  /** Length of the audio; FLAC is exact, MP3 rounds up to whole 1152-sample frames. */
  seconds: number;
}

export interface SampleLibraryResult {
  files: number;
  bytes: number;
  /** Files actually (re)written: 0 when the library was already there, unchanged. */
  written: number;
}

interface AlbumSpec {
  albumArtist: string;
  album: string;
  year: number;
  genre: string;
  format: "flac" | "mp3" | "mixed";
  cover?: CoverImage;
  compilation?: boolean;
  /** One list per disc: [title, artists?, composer?]. Artists default to the album artist. */
  discs: [string, string[]?, string?][][];
}

const ALBUMS: AlbumSpec[] = [
  {
    albumArtist: "Sólveig Ørn",
    album: "Norðurljós Sketches",
    year: 2016,
    genre: "Ambient",
    format: "flac",
    cover: gradientPng(0x2a6f97),
    discs: [[["Fyrsta Ljós"], ["Snow on Glass"], ["Hvítur Hestur", undefined, "Sólveig Ørn"], ["Pale Harbour"], ["Ending, Slowly?"]]],
  },
  {
    albumArtist: "The Paper Lanterns",
    album: "Harbour Lights",
    year: 2019,
    genre: "Indie Rock",
    format: "mp3",
    cover: tinyJpeg(),
    discs: [
      [["Tidewater"], ["Salt & Static"], ["Lighthouse Keeper"], ["Part 2: The Return"]],
      [["Night Ferry"], ["Foghorn Waltz"], ["Home: Again"]],
    ],
  },
  {
    albumArtist: "Kōji & the Night Trains",
    album: "東京 Nights",
    year: 2021,
    genre: "Electronic",
    format: "flac",
    cover: gradientPng(0x8e3b8c),
    discs: [[["Last Train to 渋谷"], ["Neon Rain"], ["Café Ölja", ["Kōji & the Night Trains", "Sólveig Ørn"]], ["Straße der Lichter"]]],
  },
  {
    albumArtist: "Various Artists",
    album: "Sunday Mixtape, Vol. 1",
    year: 2023,
    genre: "Pop",
    format: "mixed",
    compilation: true,
    cover: gradientPng(0xe07a1f),
    discs: [
      [
        ["Paper Boats", ["The Paper Lanterns"]],
        ["Ljósið", ["Sólveig Ørn"]],
        ["Who? Me", ["AC/DZ Tribute Band"]],
        ["Midnight Citrus", ["Mørk Brødre", "Kōji & the Night Trains"]],
      ],
    ],
  },
];

/** The demo's files, in order. Pure: the same list every time. */
export function sampleLibraryPlan(): SampleFile[] {
  const files: SampleFile[] = [];
  for (const spec of ALBUMS) {
    const discTotal = spec.discs.length;
    spec.discs.forEach((tracks, discIndex) => {
      tracks.forEach(([title, artists, composer], trackIndex) => {
        const n = files.length;
        const format = spec.format === "mixed" ? (trackIndex % 2 === 0 ? "flac" : "mp3") : spec.format;
        const number = `${discTotal > 1 ? `${discIndex + 1}-` : ""}${String(trackIndex + 1).padStart(2, "0")}`;
        files.push({
          path: `${pathSafe(spec.albumArtist)}/${pathSafe(spec.album)} (${spec.year})/${number} ${pathSafe(title)}.${format}`,
          format,
          seconds: 4 + (n % 3),
          tags: {
            title,
            artists: artists ?? [spec.albumArtist],
            album: spec.album,
            albumArtist: spec.albumArtist,
            track: trackIndex + 1,
            trackTotal: tracks.length,
            disc: discIndex + 1,
            discTotal,
            year: spec.year,
            genre: spec.genre,
            composer,
            compilation: spec.compilation,
            cover: spec.cover,
          },
        });
      });
    });
  }
  return files;
}

/** The bytes of one demo file, with a melody seeded by the track's position, so every track sounds different. */
export function renderSampleFile(file: SampleFile, index: number): Uint8Array {
  if (file.format === "flac") return writeFlac(file.tags, renderMelody({ seed: index + 1, seconds: file.seconds }));
  return writeMp3(file.tags, { seconds: file.seconds, melodySeed: index + 1 }, { version: 4, paddingBytes: 256 });
}

/** Writes the demo library under `dir`, skipping files already there with the same content. */
export async function writeSampleLibrary(dir: string): Promise<SampleLibraryResult> {
  let bytes = 0;
  let written = 0;
  const plan = sampleLibraryPlan();
  plan.forEach((file, index) => {
    const path = join(dir, file.path);
    const content = renderSampleFile(file, index);
    bytes += content.length;
    if (sameContent(path, content)) return;
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    written++;
  });
  return { files: plan.length, bytes, written };
}

function sameContent(path: string, content: Uint8Array): boolean {
  try {
    if (statSync(path).size !== content.length) return false;
    return Buffer.from(readFileSync(path)).equals(content);
  } catch {
    return false; // missing or unreadable: (re)write it
  }
}
