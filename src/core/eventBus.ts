import { EventEmitter } from "node:events";
import type { ContentId } from "./ids.ts";

/**
 * The typed event bus of the main thread. Producers (fetcher, sync, fs access reports) emit; listeners persist or
 * react (e.g. ManifestCached → Database.updateManifest). Listeners run synchronously in emit order; a listener that
 * throws is logged by the bus owner and does not stop the others.
 */
export interface MusicFsEvents {
  /** Content (a file's, or a folder image's: contentIds.ts) is complete in the chunk store; `manifest` is the encoded manifest. */
  ManifestCached: { fileId: ContentId; manifest: Uint8Array; originSize: number; originMtimeMs: number };
  /** The chunk store evicted least recently used chunks to stay under its cap. */
  CacheEviction: { bytesFreed: number; chunks: number };
}

export type EventName = keyof MusicFsEvents;

export class EventBus {
  private readonly emitter = new EventEmitter();
  constructor(private readonly onListenerError: (event: EventName, e: unknown) => void = () => {}) {
    this.emitter.setMaxListeners(64);
  }
  on<E extends EventName>(event: E, listener: (payload: MusicFsEvents[E]) => void): () => void {
    const wrapped = (payload: MusicFsEvents[E]) => {
      try {
        listener(payload);
      } catch (e) {
        this.onListenerError(event, e);
      }
    };
    this.emitter.on(event, wrapped);
    return () => this.emitter.off(event, wrapped);
  }
  emit<E extends EventName>(event: E, payload: MusicFsEvents[E]): void {
    this.emitter.emit(event, payload);
  }
}
