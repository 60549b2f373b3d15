/**
 * A strtok3 tokenizer over a ByteSource, so that music-metadata parses a partly read file as if it had the whole of
 * it. music-metadata's own `parseBuffer` cannot do this: its buffer tokenizer takes the file size from the buffer
 * length, which breaks CBR MP3 durations, trailer detection and `moov`-at-end MP4s on a head-only buffer.
 *
 * strtok3 is music-metadata's own tokenizer package (a pinned dependency of it): the parsers test
 * `instanceof EndOfStreamError` from that exact module, so we must throw its class, not a look-alike.
 */
import { AbstractTokenizer, EndOfStreamError, type IFileInfo, type IReadChunkOptions } from "strtok3/core";
import type { ByteSource } from "./byteSource.ts";

/** No single token read may allocate more than this: a fuzzed length field must fail, not exhaust memory. */
const MAX_TOKEN_BYTES = 64 * 1024 * 1024;

export class ByteSourceTokenizer extends AbstractTokenizer {
  fileInfo: IFileInfo;

  constructor(
    private readonly source: ByteSource,
    /** A path (only its extension matters) lets music-metadata pick the parser by extension, as parseFile does. */
    path?: string,
  ) {
    super({ maxBufferSize: MAX_TOKEN_BYTES });
    this.fileInfo = { size: source.size, ...(path ? { path } : {}) };
  }

  supportsRandomAccess(): boolean {
    return true;
  }

  setPosition(position: number): void {
    this.validateLength(position, "position");
    this.position = position;
  }

  async readBuffer(target: Uint8Array, options?: IReadChunkOptions): Promise<number> {
    const norm = this.normalizeOptions(target, options);
    const n = this.peekNormalized(target, norm.position, norm.length, norm.mayBeLess === true);
    this.position = norm.position + n;
    return n;
  }

  async peekBuffer(target: Uint8Array, options?: IReadChunkOptions): Promise<number> {
    const norm = this.normalizeOptions(target, options);
    return this.peekNormalized(target, norm.position, norm.length, norm.mayBeLess === true);
  }

  private peekNormalized(target: Uint8Array, position: number, length: number, mayBeLess: boolean): number {
    const n = Math.max(0, Math.min(this.source.size - position, length));
    if (!mayBeLess && n < length) throw new EndOfStreamError();
    if (n > 0) this.source.copyInto(target, 0, position, n);
    return n;
  }
}
