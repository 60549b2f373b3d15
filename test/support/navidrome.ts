/**
 * How Navidrome imports an .m3u/.m3u8 playlist found in its library, ported line for line from its source
 * (github.com/navidrome/navidrome core/playlists/parse_m3u.go and scanner/walk_dir_tree.go, read at commit
 * 295886cb9): Navidrome itself cannot be installed here (no package registry of this machine has it), so the tests
 * resolve playlists the way its code does.
 *
 * - The scanner skips dot-entries (`isDotEntry`: one leading dot): a `.collections` folder is never scanned, its
 *   playlists never imported; a visible `Playlists` folder is.
 * - `parseM3U`: lines are trimmed; `#…` and empty lines skipped; a `file://` prefix is stripped and unescaped; lines
 *   that are not audio files (by extension) skipped.
 * - `resolvePath`: a relative entry is joined to the playlist file's folder and cleaned (`../x` climbs out of it);
 *   an absolute one is taken as it is. There is no fallback to the library root.
 * - `findInLibraries`: the result must lie under a library's path (on a path boundary); it is then looked up as that
 *   library's relative path among the scanned media files.
 */
import { readdirSync } from "node:fs";
import { dirname, isAbsolute, join, normalize, relative, sep } from "node:path";

/** Navidrome's isDotEntry: exactly one leading dot. */
export function isDotEntry(name: string): boolean {
  return name !== "." && name.startsWith(".") && !name.startsWith("..");
}

/** model.IsAudioFile asks Go's mime table for an audio/ type by extension; these are the extensions it knows (and our library uses). */
const AUDIO = /\.(mp3|flac|ogg|oga|opus|m4a|m4b|mp4|aac|wav|wma|ape|mpc|wv|aif|aiff|dsf|dff|tak|tta|alac|webm|mka)$/i;

/** The library-relative paths of the audio files Navidrome's scanner would find under `root` (dot-entries skipped). */
export function scannedMediaFiles(root: string): Set<string> {
  const out = new Set<string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (isDotEntry(e.name)) continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (AUDIO.test(e.name)) out.add(relative(root, p));
    }
  };
  walk(root);
  return out;
}

/** The playlists Navidrome would import from `root`: .m3u/.m3u8 files outside dot-folders (library-relative). */
export function scannedPlaylists(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (isDotEntry(e.name)) continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.m3u8?$/i.test(e.name)) out.push(relative(root, p));
    }
  };
  walk(root);
  return out.sort();
}

/**
 * Each entry of the playlist file `playlistPath` (absolute, inside `libraryRoot`) as Navidrome resolves it: the
 * library-relative path, or null for an entry it would drop ("Path in playlist not found in any library").
 */
export function resolvePlaylistEntries(text: string, playlistPath: string, libraryRoot: string): { line: string; resolved: string | null }[] {
  const lib = normalize(libraryRoot);
  const out: { line: string; resolved: string | null }[] = [];
  for (const raw of text.split("\n")) {
    let line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    if (line.startsWith("file://")) line = decodeURIComponent(line.slice("file://".length));
    if (!AUDIO.test(line)) continue;
    const abs = isAbsolute(line) ? normalize(line) : normalize(join(dirname(playlistPath), line));
    const inside = abs.startsWith(lib) && (abs.length === lib.length || abs[lib.length] === sep);
    out.push({ line, resolved: inside ? relative(lib, abs) : null });
  }
  return out;
}
