import { Lru } from "../core/lru.ts";
import type { FileId } from "../core/types.ts";

/**
 * Turns file accesses on the mount (FileAccessed events: one per open/read) into "plays". Pure and synchronous.
 *
 * A play starts when a file is accessed and it has no open session, a session being the run of accesses to that
 * file with gaps shorter than `sessionGapMs`. So a player reading a track in chunks, seeking, or re-reading its
 * header produces one play, and coming back to the track later produces another. Within a session, a read from
 * offset 0 counts as a new play once the current play is `replayAfterMs` old: a player on "repeat one" keeps the
 * session open but starts the file over.
 */

export interface AccessEvent {
  fileId: FileId;
  offset: number;
  size: number;
  atMs: number;
}

export interface Play {
  fileId: FileId;
  atMs: number;
}

export interface PlayDetectorOptions {
  /** Silence after which the next access to the file is a new play. Default 30 s. */
  sessionGapMs?: number;
  /** Minimum age of the current play before a read from offset 0 restarts it. Default 60 s. */
  replayAfterMs?: number;
  /** Sessions remembered at most; older closed sessions are forgotten first. Default 10,000. */
  maxTracked?: number;
}

interface Session {
  lastAccessMs: number;
  playStartMs: number;
}

export class PlayDetector {
  /** Least recently started first: the oldest closed sessions are forgotten first. */
  private readonly sessions: Lru<FileId, Session>;
  private readonly sessionGapMs: number;
  private readonly replayAfterMs: number;

  constructor(opts: PlayDetectorOptions = {}) {
    this.sessionGapMs = opts.sessionGapMs ?? 30_000;
    this.replayAfterMs = opts.replayAfterMs ?? 60_000;
    this.sessions = new Lru(opts.maxTracked ?? 10_000);
  }

  /** The play this access starts, or null when it continues one. */
  observe(e: AccessEvent): Play | null {
    const s = this.sessions.peek(e.fileId);
    const startsPlay =
      !s ||
      e.atMs - s.lastAccessMs >= this.sessionGapMs ||
      (e.offset === 0 && e.atMs - s.playStartMs >= this.replayAfterMs);
    if (s && !startsPlay) {
      s.lastAccessMs = Math.max(s.lastAccessMs, e.atMs);
      return null;
    }
    // Forgetting the least recently started beyond maxTracked: bounded memory matters more than a rare double-counted play.
    this.sessions.set(e.fileId, { lastAccessMs: e.atMs, playStartMs: e.atMs });
    return { fileId: e.fileId, atMs: e.atMs };
  }

  /** Sessions currently remembered (for tests and status). */
  get tracked(): number {
    return this.sessions.size;
  }
}
