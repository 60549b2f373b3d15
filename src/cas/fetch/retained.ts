/**
 * The latest pieces (ranged reads) of running sequential fetches, kept in memory, oldest first, up to a byte
 * budget shared by all files: a reader behind the stream — common with 8 reads in flight ahead of it — is answered
 * from them, usually with a view of one piece (no copy), instead of reading each chunk back from the store and
 * re-hashing it by SHA-256 (a third of the fetcher's CPU in a cold read from S3 before). Each file also lists its own
 * pieces (`FileFetch.recent`), so a read looks only at its file's.
 */
import type { FileFetch, RetainedPiece } from "./fileFetch.ts";

export class RetainedPieces {
  private readonly pieces: { ff: FileFetch; piece: RetainedPiece }[] = [];
  private bytes = 0;

  constructor(private readonly budgetBytes: number) {}

  /** Keeps a piece for a while; the oldest (of any file) are let go first. */
  retain(ff: FileFetch, at: number, bytes: Uint8Array): void {
    const piece = { at, bytes };
    ff.recent.push(piece);
    this.pieces.push({ ff, piece });
    this.bytes += bytes.length;
    while (this.bytes > this.budgetBytes && this.pieces.length > 0) {
      const old = this.pieces.shift()!;
      old.ff.recent.splice(old.ff.recent.indexOf(old.piece), 1);
      this.bytes -= old.piece.bytes.length;
    }
  }

  /** A finished or abandoned fetch gives its pieces back at once (reads now go through its manifest). */
  release(ff: FileFetch): void {
    if (ff.recent.length === 0) return;
    ff.recent = [];
    let kept = 0;
    for (const r of this.pieces) if (r.ff !== ff) this.pieces[kept++] = r;
    this.pieces.length = kept;
    this.bytes = this.pieces.reduce((n, r) => n + r.piece.bytes.length, 0);
  }
}
