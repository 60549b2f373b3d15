import type { FileMeta } from "../../src/core/types.ts";
import { emptyTags } from "../../src/core/types.ts";
import { hashKeys, makeRandom } from "../../src/sample/random.ts";
import { asFileId, asOriginId } from "../../src/core/ids.ts";

/**
 * A reproducible synthetic music library with realistic word statistics, for the search benchmarks.
 *
 * Why not uniform random words: FTS cost depends on how many rows a term matches. Real libraries are Zipfian —
 * a few genres cover most tracks (Rock ~30 %), a few title words ("love", "you") are everywhere, most words are
 * rare, and the most represented artist has ~1 % of the tracks. Artist and album names are made of the same
 * words as titles, which makes them ambiguous on purpose (the expensive case for ranking). Words are built from syllables so first letters (what prefix queries hit) are
 * spread like in a natural language, and ~4 % of words carry diacritics.
 */

/**
 * A 0-based Zipf–Mandelbrot rank in [0, n): P(k) ∝ 1/(k+q). q flattens the head: q=1 is plain Zipf (the top item
 * of 40,000 takes 9 %), q=10 gives the top item ~1 % (a library's most-played artist).
 */
export function zipfIndex(random: () => number, n: number, q = 1): number {
  return Math.min(n - 1, Math.floor(q * Math.exp(random() * Math.log((n + q) / q)) - q));
}

const ONSETS = ["b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "br", "ch", "cl", "dr", "fl", "gr", "pl", "sh", "st", "th", "tr", ""];
const VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "ou", "y"];
const CODAS = ["", "", "", "n", "r", "s", "l", "t", "m", "nd", "ck", "ng"];
const ACCENTED: Record<string, string> = { a: "á", e: "é", i: "í", o: "ö", u: "ü" };

function makeWord(random: () => number, accent: boolean): string {
  const syllables = 1 + Math.floor(random() * random() * 3.5);
  let w = "";
  for (let s = 0; s < syllables; s++) {
    w += ONSETS[Math.floor(random() * ONSETS.length)] + VOWELS[Math.floor(random() * VOWELS.length)];
    if (s === syllables - 1 || random() < 0.3) w += CODAS[Math.floor(random() * CODAS.length)];
  }
  if (accent) w = w.replace(/[aeiou]/, (v) => ACCENTED[v] ?? v);
  return w;
}

function makeVocabulary(random: () => number, size: number): string[] {
  const seen = new Set<string>();
  const words: string[] = [];
  while (words.length < size) {
    const w = makeWord(random, random() < 0.04);
    if (w.length >= 2 && !seen.has(w)) {
      seen.add(w);
      words.push(w);
    }
  }
  return words;
}

const capitalise = (w: string) => w.charAt(0).toUpperCase() + w.slice(1);

export const GENRES = [
  "Rock", "Pop", "Electronic", "Jazz", "Classical", "Hip Hop", "Metal", "Folk", "Blues", "Soul", "Country",
  "Reggae", "Punk", "Ambient", "Funk", "R&B", "Indie Rock", "Alternative", "Techno", "House", "Soundtrack",
  "World", "Latin", "Disco", "Gospel", "Grunge", "New Wave", "Trip Hop", "Drum and Bass", "Bossa Nova",
];

export interface SyntheticLibrary {
  /** Words that occur in titles, by descending frequency: pick queries from these. */
  vocabulary: string[];
  artists: string[];
  albums: string[];
  tracks(): Generator<FileMeta>;
}

/** `count` tracks on albums of 8–14 tracks; artists' popularity, title words and genres are Zipf-distributed. */
export function syntheticLibrary(count: number, seed = 42): SyntheticLibrary {
  const random = makeRandom(hashKeys(seed)); // the project's one seeded generator: the same library every run
  const vocabulary = makeVocabulary(random, 40_000);
  // q=3: the commonest word is in ~1 title of 5 (like "the" or "love"), most words are rare.
  const pick = (n: number) => vocabulary[zipfIndex(random, n, 3)];
  const phrase = (min: number, max: number, n: number) => {
    const len = min + Math.floor(random() * (max - min + 1));
    return Array.from({ length: len }, () => capitalise(pick(n))).join(" ");
  };
  // Names (artists, composers, half the albums) come from their own proper-noun vocabulary with a mild skew, as
  // real names do ("Floyd" is rare); a quarter of artist names also carry a common word ("The", "Love").
  const names = makeVocabulary(random, 60_000).map(capitalise);
  const name = () => names[zipfIndex(random, names.length, 50)];
  const artistCount = Math.max(50, Math.round(count / 16));
  const artists = Array.from({ length: artistCount }, () => {
    const parts = Array.from({ length: 1 + Math.floor(random() * 2.2) }, name);
    if (random() < 0.25) parts.splice(Math.floor(random() * (parts.length + 1)), 0, capitalise(vocabulary[zipfIndex(random, 200, 3)]));
    return parts.join(" ");
  });
  const artistGenre = artists.map(() => GENRES[zipfIndex(random, GENRES.length)]);
  const composers = Array.from({ length: Math.max(20, Math.round(count / 200)) }, () => `${name()} ${name()}`);
  const albums: string[] = [];

  function* tracks(): Generator<FileMeta> {
    let id = 0;
    while (id < count) {
      const a = zipfIndex(random, artistCount, 10);
      const album = random() < 0.5 ? phrase(1, 4, 20_000) : `${name()}${random() < 0.5 ? ` ${name()}` : ""}`;
      albums.push(album);
      const year = 1950 + Math.floor(Math.pow(random(), 0.6) * 75);
      const genre = random() < 0.85 ? artistGenre[a] : GENRES[zipfIndex(random, GENRES.length)];
      const composer = random() < 0.3 ? composers[zipfIndex(random, composers.length)] : null;
      const trackTotal = 8 + Math.floor(random() * 7);
      const format = random() < 0.6 ? "flac" : "mp3";
      for (let t = 1; t <= trackTotal && id < count; t++) {
        id++;
        const title = phrase(1, 5, 40_000);
        yield {
          ...emptyTags(),
          id: asFileId(id),
          originId: asOriginId("music"),
          realPath: `${artists[a]}/${album}/${String(t).padStart(2, "0")} ${title}.${format}`,
          size: 30_000_000,
          mtimeMs: 1_700_000_000_000,
          format,
          title,
          artists: [artists[a]],
          artist: artists[a],
          album,
          albumArtist: artists[a],
          genre,
          year: random() < 0.95 ? year : null,
          date: String(year),
          track: t,
          trackTotal,
          composer,
        };
      }
    }
  }
  return { vocabulary, artists, albums, tracks };
}
