import type { FileId } from "../core/types.ts";
import { QueryError } from "./queryParser.ts";
import { SearchIndexError } from "./searchIndex.ts";
import { MAX_NAME_BYTES, nameOr, sanitizeFileName, utf8Length } from "../core/names.ts";

/**
 * What `/.search/<query>/` and `/.collections/<name>/` contain: one relative symlink per result, in rank order,
 * named `NNN. Artist - Title.ext`. Pure; the fs layer maps entries onto inodes.
 *
 * Relative targets (`../../Artist/Album/Track.flac`) keep working wherever the mount point is and whatever
 * bind-mount or chroot sees it, unlike the reference's absolute `/mnt/musicfs/...` targets.
 */

/**
 * Results listed per directory. Three digits ("001".."999") keep names the same width so that `ls` order is rank
 * order; the reference's 1000 would have needed a fourth digit for one entry.
 */
export const SEARCH_DIR_MAX_RESULTS = 999;

export interface DirTrack {
  fileId: FileId;
  artist: string | null;
  title: string | null;
  /** Extension without the dot ("flac"). */
  format: string;
  /** The track's path in the mount, relative to its root ("Queen/A Night at the Opera (1975) [FLAC]/11 - ….flac"). */
  virtualPath: string;
}

export interface SymlinkEntry {
  fileId: FileId;
  name: string;
  target: string;
}

/**
 * `007. Artist - Title.flac`, by the same naming rule as the tree (core/names.ts), so a title shows the same in
 * both; at most 255 bytes (the middle is shortened, never the number or extension).
 */
export function entryName(position: number, t: Pick<DirTrack, "artist" | "title" | "format">): string {
  const head = `${String(position).padStart(3, "0")}. `;
  const body = `${nameOr(t.artist, "Unknown Artist")} - ${nameOr(t.title, "Unknown Title")}.${t.format}`;
  return head + sanitizeFileName(body, { maxBytes: MAX_NAME_BYTES - utf8Length(head) });
}

/**
 * A symlink target from a directory `depth` levels below the root (2 for `/.search/<q>/`) to a virtual path, or
 * null when the path is not a clean relative path (a `..` segment could point outside the mount).
 */
export function relativeTarget(virtualPath: string, depth = 2): string | null {
  const path = virtualPath.replace(/^\/+/, "");
  const segments = path.split("/");
  if (path === "" || segments.some((s) => s === "" || s === "." || s === "..")) return null;
  return "../".repeat(depth) + path;
}

/** Entries for ranked tracks; tracks with an unusable path are left out and numbering stays gap-free. */
export function symlinkEntries(tracks: readonly DirTrack[], depth = 2): SymlinkEntry[] {
  const out: SymlinkEntry[] = [];
  for (const t of tracks) {
    if (out.length >= SEARCH_DIR_MAX_RESULTS) break;
    const target = relativeTarget(t.virtualPath, depth);
    if (target === null) continue;
    out.push({ fileId: t.fileId, name: entryName(out.length + 1, t), target });
  }
  return out;
}

/**
 * The errno for a failed `/.search/<query>` lookup: a query the user must fix → EINVAL; an index that is missing
 * or damaged → EIO (the writer rebuilds it). Zero results are not an error: the directory exists and is empty.
 * Anything else is a bug and should propagate.
 */
export function searchLookupErrno(e: unknown): "EINVAL" | "EIO" | null {
  if (e instanceof QueryError) return "EINVAL";
  if (e instanceof SearchIndexError) return "EIO";
  return null;
}

/** A collection's playlist file in `/.collections`: `<name>.m3u8`. */
export const PLAYLIST_SUFFIX = ".m3u8";

/**
 * An extended M3U playlist (UTF-8) of ranked tracks for a playlist file `depth` folders below the mount's root,
 * each path relative to the playlist's own folder and staying inside the mount (`../Artist/Album/Track.flac` from
 * `/.collections`): how MPD (`mpc load .collections/NAME.m3u8`), Navidrome and file managers resolve a relative
 * entry, wherever the mount is. Tracks with an unusable path are left out.
 */
export function playlistText(tracks: readonly DirTrack[], depth = 1): string {
  const lines = ["#EXTM3U"];
  for (const t of tracks) {
    const target = relativeTarget(t.virtualPath, depth);
    if (target === null) continue;
    const label = `${nameOr(t.artist, "Unknown Artist")} - ${nameOr(t.title, "Unknown Title")}`.replace(/[\r\n]+/g, " ");
    lines.push(`#EXTINF:-1,${label}`, target);
  }
  return `${lines.join("\n")}\n`;
}
