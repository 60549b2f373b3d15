/**
 * Which files are music. Decided by extension (case-insensitive), as every player does: content sniffing every file
 * of a library would cost a read per cover, cue sheet and log. Generous on purpose: a format music-metadata cannot
 * parse (TTA, AC-3, tracker modules) is still audio the user wants to see, under fallback names. Not silly: images,
 * text, playlists, cue sheets and video containers (mkv, webm, ogv, 3gp, wmv) are not listed, and the scanner counts
 * them as skipped. `.mp4` is listed: music is sold and ripped as .mp4 too.
 */

export const AUDIO_EXTENSIONS: ReadonlySet<string> = new Set([
  // Lossless
  "flac", "alac", "ape", "wv", "tta", "tak", "ofr", "ofs", "shn", "wav", "wave", "aif", "aiff", "aifc", "afc", "w64",
  "rf64", "bwf", "caf", "dsf", "dff",
  // MPEG audio, AAC and MP4 audio
  "mp3", "mp2", "mp1", "mpga", "aac", "adts", "m4a", "m4b", "m4p", "m4r", "mp4",
  // Ogg family, Matroska audio, Windows Media
  "ogg", "oga", "opus", "spx", "mka", "wma", "asf",
  // Others that players handle
  "mpc", "mp+", "mpp", "ac3", "eac3", "dts", "amr", "awb", "au", "snd", "ra", "voc",
  // Tracker modules and MIDI: music libraries keep them, players play them
  "mod", "xm", "it", "s3m", "mid", "midi",
]);

/** Lower-case extension of a path without the dot ("" when there is none or the name starts with its only dot). */
export function extensionOf(path: string): string {
  const slash = path.lastIndexOf("/");
  const dot = path.lastIndexOf(".");
  if (dot <= slash + 1) return "";
  return path.slice(dot + 1).toLowerCase();
}

export function isAudioPath(path: string): boolean {
  return AUDIO_EXTENSIONS.has(extensionOf(path));
}
