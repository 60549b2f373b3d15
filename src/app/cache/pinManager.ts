import type { CachePaths } from "../../config/paths.ts";
import { errorMessage } from "../../core/errors.ts";
import { log } from "../../core/logger.ts";
import { plural } from "../../core/plural.ts";
import type { FileId } from "../../core/types.ts";
import { NodeReader } from "../../db/nodeReader.ts";
import { PinStore, type PinKind } from "../../db/pinStore.ts";
import { CollectionCatalog } from "../../search/collectionCatalog.ts";
import { CollectionStore } from "../../search/collectionStore.ts";
import type { ContentCache } from "./contentCache.ts";
import type { Library } from "../library/library.ts";
import { checkPinBudget, pinFetchLimit, progressOf, type PinProgress } from "./pinPolicy.ts";
import { filesOfPin, pinLabel, targetOfPath, type PinLookup } from "./pinTargets.ts";

/** The fetcher's whole-file fetches at once (its maxConcurrentFileFetches): pins take them all while nothing plays. */
const FETCHER_SLOTS = 4;
/** After a round with failures (origin unreachable), the next try. */
const RETRY_MS = 30_000;

export interface PinReport {
  label: string;
  kind: PinKind;
  files: number;
  cachedFiles: number;
  bytes: number;
  cachedBytes: number;
}

/**
 * The pins of a running mount: resolves what each pin names now (at mount, after every sync, on pin/unpin), hands
 * the set of pinned files to the content cache (which keeps them from eviction and `cache clear`: one notion of
 * "kept"), and fetches whatever of them is not cached whole, in the background. Main thread.
 */
export class PinManager {
  private readonly store: PinStore;
  private readonly nodes: NodeReader;
  private readonly collections: CollectionStore;
  private readonly lookup: PinLookup;
  /** Pinned files of cached origins (the others are read from their local origin anyway). */
  private pinned = new Set<FileId>();
  /** Pinned files found cached whole (their chunks are held since: they stay whole). */
  private readonly whole = new Set<FileId>();
  private readonly failed = new Map<FileId, string>();
  private queue: FileId[] = [];
  private running = 0;
  private fetchedBytes = 0;
  private fetchingSince: number | null = null;
  private retry: Timer | null = null;
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly library: Library,
    private readonly content: ContentCache,
    paths: CachePaths,
  ) {
    this.store = PinStore.open(paths.pinsDb);
    this.nodes = new NodeReader(paths.metadataDb);
    this.collections = CollectionStore.open(paths.collectionsDb, { readonly: true });
    const db = library.db;
    this.lookup = {
      nodes: this.nodes,
      search: library.search,
      catalog: new CollectionCatalog({ index: library.search, store: this.collections, recentlyAdded: (s, l) => this.nodes.recentlyAdded(s, l) }),
      refOf: (id) => {
        const f = db.fileLocation(id);
        return f && { originId: f.originId, realPath: f.realPath };
      },
      idOf: (ref) => db.getFileByRealPath(ref.originId, ref.realPath)?.id ?? null,
    };
  }

  /** Pins mount-relative paths (all or none: one that names nothing, or too much for the cap, refuses them all). */
  pin(paths: readonly string[]): { pinned: string[]; files: number; bytes: number } {
    const targets = paths.map((p) => targetOfPath(p, this.lookup));
    const adding = new Set<FileId>();
    for (const t of targets) for (const id of t.files) if (!this.pinned.has(id) && this.content.isCachedOrigin(id)) adding.add(id);
    checkPinBudget({
      label: targets.map((t) => `/${t.label}`).join(", "),
      pinnedBytes: this.bytesOf(this.pinned),
      addedBytes: this.bytesOf(adding),
      limitBytes: this.content.cache.evictor.lowWaterBytes,
      capBytes: this.content.cache.evictor.capBytes,
    });
    for (const t of targets) {
      const refs = t.kind === "files" ? t.files.map(this.lookup.refOf).filter((r) => r !== null) : [];
      this.store.put({ kind: t.kind, label: t.label, key: t.key, files: refs });
    }
    this.refresh();
    const files = new Set(targets.flatMap((t) => t.files));
    log.info(`Pinned ${targets.map((t) => `/${t.label}`).join(", ")}: ${plural(files.size, "file")}, ${plural(adding.size, "file")} newly kept.`);
    return { pinned: targets.map((t) => t.label), files: files.size, bytes: this.bytesOf(files) };
  }

  /** Unpins by the paths they were pinned as; returns the ones that were not pinned. */
  unpin(paths: readonly string[]): { unpinned: string[]; unknown: string[] } {
    const unpinned: string[] = [];
    const unknown: string[] = [];
    for (const p of paths) (this.store.remove(pinLabel(p)) ? unpinned : unknown).push(pinLabel(p));
    if (unpinned.length > 0) this.refresh();
    return { unpinned, unknown };
  }

  /** Every pin with what it names now and how much of it is cached; plus the fetch progress of them all. */
  report(): { pins: PinReport[]; progress: PinProgress } {
    const pins = this.store.list().map((pin) => {
      const files = filesOfPin(pin, this.store.files(pin.id), this.lookup);
      let bytes = 0;
      let cachedBytes = 0;
      let cachedFiles = 0;
      for (const id of files) {
        const size = this.library.db.fileLocation(id)?.size ?? 0;
        bytes += size;
        if (this.isAvailable(id)) {
          cachedFiles++;
          cachedBytes += size;
        }
      }
      return { label: pin.label, kind: pin.kind, files: files.length, cachedFiles, bytes, cachedBytes };
    });
    return { pins, progress: this.progress() };
  }

  /** Fetch progress over every pinned file of a cached origin. */
  progress(): PinProgress {
    let bytes = 0;
    let cachedBytes = 0;
    for (const id of this.pinned) {
      const size = this.library.db.fileLocation(id)?.size ?? 0;
      bytes += size;
      if (this.whole.has(id)) cachedBytes += size;
    }
    return progressOf({
      files: this.pinned.size, cachedFiles: [...this.pinned].filter((id) => this.whole.has(id)).length, bytes, cachedBytes,
      failedFiles: this.failed.size, fetchedBytes: this.fetchedBytes,
      fetchingForMs: this.fetchingSince === null ? 0 : Date.now() - this.fetchingSince,
      lastError: [...this.failed.values()].at(-1) ?? null,
    });
  }

  /**
   * Before the content cache starts: the files the last refresh pinned (as pins.db recorded them) are kept at once.
   * The cache's start runs an eviction sweep and writes data files from chunks (which may push it over its cap),
   * while the pins are resolved again only after the ready line (refresh): without this, that first sweep evicted
   * pinned files, and a restart with the origin down answered EIO for them.
   */
  keepLastPinned(): void {
    const ids = this.store.pinnedFiles().filter((id) => this.content.isCachedOrigin(id));
    this.content.setPinnedFiles(new Set(ids));
  }

  /** Resolves every pin again (at mount, after a sync: later matches join, removed files leave) and fetches what is missing. */
  refresh(): void {
    if (this.closed) return;
    const now = new Set<FileId>();
    const everything = new Set<FileId>(); // uncached origins' files too: the pin set's playlist lists them all
    for (const pin of this.store.list())
      for (const id of filesOfPin(pin, this.store.files(pin.id), this.lookup)) {
        everything.add(id);
        if (this.content.isCachedOrigin(id)) now.add(id);
      }
    this.store.setPinnedFiles([...everything]);
    this.content.setPinnedFiles(now); // held from here on: what is cached now cannot be evicted meanwhile
    this.pinned = now;
    for (const id of [...this.whole]) if (!now.has(id)) this.whole.delete(id);
    for (const id of [...this.failed.keys()]) if (!now.has(id)) this.failed.delete(id);
    // Whether each file is cached whole is checked in the queue, one file per turn of the event loop: a large pin
    // set does not hold up the main thread (it answers the mount's deferred reads).
    const queued = new Set(this.queue);
    for (const id of now) if (!this.whole.has(id) && !queued.has(id)) this.queue.push(id);
    this.queue = this.queue.filter((id) => now.has(id));
    this.pump();
  }

  /** `cache clear` or `cache verify` may have taken chunks: check the pinned files again. */
  recheck(): void {
    this.whole.clear();
    this.refresh();
  }

  /** Resolves when no pin fetch is running or queued (every file fetched, or the round's failures counted). */
  idle(): Promise<void> {
    if (this.running === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * `pin --wait`: the progress once the pins are idle or after `ms` (bounded to 0–2 s), whichever comes first. The
   * CLI asks again until done: its wait ends when the last file is in, not at its next poll.
   */
  async waitForProgress(ms: number): Promise<PinProgress> {
    let timer: Timer | undefined;
    const bound = Math.max(0, Math.min(ms, 2000));
    await Promise.race([this.idle(), new Promise<void>((resolve) => (timer = setTimeout(resolve, bound)))]);
    clearTimeout(timer);
    return this.progress();
  }

  private isAvailable(id: FileId): boolean {
    return !this.content.isCachedOrigin(id) || this.whole.has(id) || this.content.isCachedWhole(id);
  }

  private bytesOf(ids: Iterable<FileId>): number {
    let n = 0;
    for (const id of ids) n += this.library.db.fileLocation(id)?.size ?? 0;
    return n;
  }

  private pump(): void {
    while (!this.closed && this.running < pinFetchLimit(FETCHER_SLOTS, this.content.foregroundBusy()) && this.queue.length > 0) {
      const id = this.queue.shift()!;
      if (!this.pinned.has(id) || this.whole.has(id)) continue;
      this.running++;
      void this.fetchOne(id).finally(() => {
        this.running--;
        this.pump();
      });
    }
    if (this.running === 0 && this.queue.length === 0) this.roundDone();
  }

  private async fetchOne(id: FileId): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    if (this.closed || !this.pinned.has(id)) return;
    if (this.content.isCachedWhole(id)) {
      this.whole.add(id);
      this.failed.delete(id);
      return;
    }
    const size = this.library.db.fileLocation(id)?.size ?? 0;
    this.fetchingSince ??= Date.now();
    try {
      if (await this.content.fetchWhole(id)) {
        this.whole.add(id);
        this.failed.delete(id);
        this.fetchedBytes += size;
      } else this.failed.set(id, "the fetch did not complete (origin unreachable, or no room in the cache dir)");
    } catch (e) {
      this.failed.set(id, errorMessage(e));
    }
  }

  private roundDone(): void {
    // The rate is of one round: a later pin starts its own clock.
    this.fetchingSince = null;
    this.fetchedBytes = 0;
    for (const w of this.idleWaiters.splice(0)) w();
    if (this.failed.size > 0 && !this.retry && !this.closed) {
      log.warn(`${plural(this.failed.size, "pinned file")} could not be fetched (${[...this.failed.values()].at(-1)}); trying again in ${RETRY_MS / 1000} s.`);
      this.retry = setTimeout(() => {
        this.retry = null;
        this.queue.push(...[...this.failed.keys()].filter((id) => !this.queue.includes(id)));
        this.pump();
      }, RETRY_MS);
      this.retry.unref?.();
    }
  }

  close(): void {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.queue = [];
    for (const w of this.idleWaiters.splice(0)) w();
    this.store.close();
    this.collections.close();
    this.nodes.close();
  }
}
