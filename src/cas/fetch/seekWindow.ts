/**
 * The seek window: how far ahead of the sequential fetch a read may be and still wait for it. A read within the
 * window is answered the moment the stream brings its bytes; a read further on is a seek, served by range blocks
 * (otherwise a jump to the last minute of a track would wait for the whole track). Pure.
 */

/**
 * The default window: a player's reads run up to the playback threshold before the sequential fetch starts from 0
 * (assembling those bytes at once from the blocks already read), so a read that far ahead of it is no seek; nor is
 * one within the fetch's window of reads in flight (at its largest: fetchWindow.ts).
 */
export function defaultSeekWindow(playbackThresholdBytes: number, fetchWindowMaxBytes: number): number {
  return playbackThresholdBytes + fetchWindowMaxBytes;
}

/** True when a read at `pos` should wait for a sequential fetch that has reached `streamPos`. */
export function withinSeekWindow(streamPos: number, pos: number, windowBytes: number): boolean {
  return pos >= streamPos && pos < streamPos + windowBytes;
}
