/**
 * Fictional names for generated libraries. Artist and album names are a bijection of their index (mixed radix
 * over word lists, then a Discogs-style " (2)" / ", Vol. 2" suffix once the lists run out), so two different
 * albums never share a name and generated paths never collide. Words mix scripts and awkward characters on
 * purpose: é, ø, ß, 東京, Cyrillic, an emoji, "/", "?", ":".
 */
import { Dice } from "./random.ts";

const FIRST_NAMES = [
  "Ásgeir", "Björk-Lin", "Søren", "Zoë", "Mika", "Léa", "Nikolai", "Yuki", "Amara", "Dara", "Elif", "Inès",
  "Jonah", "Kaito", "Lior", "Marta", "Noor", "Oskar", "Priya", "Rafael", "Sigrún", "Tomás", "Uma", "Vítor",
  "Wren", "Xiomara", "Yara", "Zdeněk", "Анна", "Иван", "さくら", "Chloé", "Dmitri", "Émile", "Fatima", "Gunnar",
  "Hana", "Ilse", "José", "Kirsi",
];
const LAST_NAMES = [
  "Frost", "Nightingale", "Løvås", "Moreau", "Tanaka", "Novák", "Okafor", "Quist", "Rivera", "Straße", "Sørensen",
  "van der Berg", "Wójcik", "Yılmaz", "Zhou", "Ødegaard", "Åberg", "Müller", "O'Brien", "Ríos", "Kowalczyk",
  "Haraldsdóttir", "Petrov", "Nakamura", "Dubois", "Castillo", "Lindqvist", "Mbeki", "Fontaine", "Ishikawa",
];
const ADJECTIVES = [
  "Blue", "Electric", "Silent", "Golden", "Neon", "Velvet", "Hollow", "Crimson", "Paper", "Glass", "Northern",
  "Midnight", "Frozen", "Quiet", "Wild", "Broken", "Static", "Solar", "Lunar", "Iron", "Mørk", "Café", "Tōkyō",
  "Città", "Straßen",
];
const NOUNS = [
  "Echoes", "Rivers", "Machines", "Lanterns", "Wolves", "Harbours", "Satellites", "Foxes", "Mirrors", "Gardens",
  "Tides", "Pilots", "Owls", "Engines", "Comets", "Saints", "Ghosts", "Islands", "Drums", "Sparrows", "Brødre",
  "東京", "Любовь", "Niños", "Fjords",
];
const TITLE_WORDS = [
  "Night", "River", "Sun", "Echo", "Zero", "Blue", "Café", "Ölja", "東京", "Straße", "Città", "Любовь", "Niño",
  "Ånd", "Rain", "Glass", "Summer", "Letter", "Window", "Signal", "Morning", "Dust", "Harbour", "Salt", "Ember",
  "Noir", "Señal", "Fjord", "Kōri", "Vento", "🎵",
];
const ODD_TITLES = ["Who? Me", "Part 2: The Return", "Either/Or", "Why?", "Re: Re: Hello", "A/B Test", "1:59 a.m.", "What's Next?!"];
export const GENRES = ["Rock", "Jazz", "Electronic", "Pop", "Classical", "Hip-Hop", "Folk", "Ambient", "Metal", "Soul", "Reggae", "Blues"];
export const VARIOUS_ARTISTS = "Various Artists";

/** Mixed radix: splits n into digits of the given bases (least significant first) plus what is left over. */
function digits(n: number, bases: number[]): { parts: number[]; overflow: number } {
  const parts: number[] = [];
  let rest = n;
  for (const base of bases) {
    parts.push(rest % base);
    rest = Math.floor(rest / base);
  }
  return { parts, overflow: rest };
}

/** Spreads consecutive indexes over the name space so neighbouring artists don't share a first word. */
function scatter(n: number, space: number): number {
  if (space % 7919 === 0) throw new Error("name space must be coprime with the scatter prime");
  return ((n % space) * 7919 + 104729) % space; // a multiple of a prime coprime with the space is a permutation
}

/** A way of naming: every combination of its word lists gives one distinct name. */
interface NameStyle {
  lists: readonly string[][];
  format: (words: string[]) => string;
}

function sizeOf(style: NameStyle): number {
  return style.lists.reduce((n, list) => n * list.length, 1);
}

function spaceOf(styles: NameStyle[]): number {
  return styles.reduce((sum, style) => sum + sizeOf(style), 0);
}

/** The styles' spaces laid end to end; `overflow` counts how many times the whole space was used up. */
function nameAt(styles: NameStyle[], space: number, index: number): { name: string; overflow: number } {
  let slot = scatter(index, space) % space;
  const overflow = Math.floor(index / space);
  for (const style of styles) {
    const size = sizeOf(style);
    if (slot < size) {
      const { parts } = digits(slot, style.lists.map((list) => list.length));
      return { name: style.format(parts.map((part, i) => style.lists[i][part])), overflow };
    }
    slot -= size;
  }
  throw new Error("unreachable: slot is below the space size");
}

const ARTIST_STYLES: NameStyle[] = [
  { lists: [FIRST_NAMES, LAST_NAMES], format: ([first, last]) => `${first} ${last}` },
  { lists: [ADJECTIVES, NOUNS], format: ([adjective, noun]) => `The ${adjective} ${noun}` },
  { lists: [ADJECTIVES, NOUNS], format: ([adjective, noun]) => `${adjective} ${noun}` },
  // Slash names (AC/DC-like): "/" is the separator ID3v2.3 uses between artists, so these test that readers keep them whole.
  { lists: [ADJECTIVES, NOUNS], format: ([adjective, noun]) => `${adjective}/${noun}` },
];
const ARTIST_SPACE = spaceOf(ARTIST_STYLES);

/** A unique fictional artist name for artist number `index`: solo artists, bands, "X/Y" names; then "Name (2)". */
export function artistName(index: number): string {
  const { name, overflow } = nameAt(ARTIST_STYLES, ARTIST_SPACE, index);
  return overflow > 0 ? `${name} (${overflow + 1})` : name;
}

const ALBUM_STYLES: NameStyle[] = [
  { lists: [ADJECTIVES, NOUNS], format: ([adjective, noun]) => `${adjective} ${noun}` },
  { lists: [NOUNS], format: ([noun]) => `Songs for ${noun}` },
  { lists: [NOUNS, ADJECTIVES], format: ([noun, adjective]) => `${noun}: ${adjective} Sessions` },
  { lists: [NOUNS], format: ([noun]) => `Live in ${noun}?` },
  { lists: [ADJECTIVES, NOUNS], format: ([adjective, noun]) => `${adjective} / ${noun}` },
  { lists: [TITLE_WORDS, TITLE_WORDS], format: ([a, b]) => `${a} & ${b}` },
];
const ALBUM_SPACE = spaceOf(ALBUM_STYLES);

/** A unique album title for album number `index`; after the word space runs out, ", Vol. N". */
export function albumTitle(index: number): string {
  const { name, overflow } = nameAt(ALBUM_STYLES, ALBUM_SPACE, index);
  return overflow > 0 ? `${name}, Vol. ${overflow + 1}` : name;
}

/** A track title: two or three words, sometimes one with "?", ":" or "/" in it. */
export function trackTitle(dice: Dice): string {
  if (dice.chance(0.05)) return dice.pick(ODD_TITLES);
  const words = [dice.pick(TITLE_WORDS), dice.pick(TITLE_WORDS)];
  if (dice.chance(0.3)) words.push(dice.pick(TITLE_WORDS));
  return words.join(" ");
}

/** A composer name (any artist-like person). */
export function composerName(dice: Dice): string {
  return `${dice.pick(FIRST_NAMES)} ${dice.pick(LAST_NAMES)}`;
}

/**
 * A name made safe for one path component: "/" is the separator (taggers write "_" instead); a leading "." would
 * hide the entry; trailing spaces and dots confuse Windows-side tools.
 */
export function pathSafe(name: string): string {
  const cleaned = name.replaceAll("/", "_").replace(/^\.+/, "_").replace(/[ .]+$/, "");
  return cleaned === "" ? "_" : cleaned;
}
