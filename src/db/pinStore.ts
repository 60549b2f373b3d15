import { Database } from "bun:sqlite";
import { existsSync } from "node:fs";
import { asFileId, type FileId, type OriginId } from "../core/ids.ts";
import { openSqliteReadOnly } from "../core/sqliteReadOnly.ts";

/**
 * pins.db: what the user pinned, stored by what it names so that it outlives the tree it was made in:
 * - a folder or track pin keeps its files by origin and origin path (a retag or a re-placement moves the file in the
 *   tree but not on the origin; a rebuilt metadata.db finds the same files again);
 * - a search pin keeps its query and a collection pin its collection's name: tracks that match later are pinned too.
 * Its own file, like collections.db, so a damaged metadata.db that is moved aside and rebuilt loses no pin.
 */
export type PinKind = "files" | "search" | "collection";

export interface StoredPin {
  id: number;
  kind: PinKind;
  /** The mount-relative path the user pinned (how `unpin` and `pins` name it). */
  label: string;
  /** The search query, or the collection name; null for a files pin. */
  key: string | null;
  createdAt: number;
}

export interface PinnedFileRef {
  originId: OriginId;
  realPath: string;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS pins (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('files', 'search', 'collection')),
    label TEXT NOT NULL UNIQUE, key TEXT, created_at INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS pin_files (
    pin_id INTEGER NOT NULL REFERENCES pins (id) ON DELETE CASCADE, origin_id TEXT NOT NULL, real_path TEXT NOT NULL,
    PRIMARY KEY (pin_id, origin_id, real_path)) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS pinned_files (position INTEGER PRIMARY KEY, file_id INTEGER NOT NULL);
`;

const PINNED_FILES = "SELECT file_id FROM pinned_files ORDER BY position";

export class PinStore {
  private constructor(private readonly db: Database) {}

  static open(path: string): PinStore {
    const db = new Database(path, { create: true });
    db.run("PRAGMA journal_mode = WAL");
    db.run("PRAGMA synchronous = NORMAL"); // WAL + NORMAL: a committed pin survives kill -9
    db.run("PRAGMA foreign_keys = ON");
    db.exec(SCHEMA);
    return new PinStore(db);
  }

  list(): StoredPin[] {
    return this.db.query("SELECT id, kind, label, key, created_at AS createdAt FROM pins ORDER BY label").all() as StoredPin[];
  }

  byLabel(label: string): StoredPin | null {
    return this.db.query("SELECT id, kind, label, key, created_at AS createdAt FROM pins WHERE label = ?").get(label) as StoredPin | null;
  }

  files(pinId: number): PinnedFileRef[] {
    return this.db.query("SELECT origin_id AS originId, real_path AS realPath FROM pin_files WHERE pin_id = ?").all(pinId) as PinnedFileRef[];
  }

  /** Adds (or replaces: pinning a folder again takes its current files) a pin. */
  put(pin: { kind: PinKind; label: string; key: string | null; files?: readonly PinnedFileRef[] }, nowMs = Date.now()): StoredPin {
    return this.db.transaction(() => {
      this.db.run("DELETE FROM pins WHERE label = ?", [pin.label]);
      this.db.run("INSERT INTO pins (kind, label, key, created_at) VALUES (?, ?, ?, ?)", [pin.kind, pin.label, pin.key, nowMs]);
      const stored = this.byLabel(pin.label)!;
      const insert = this.db.prepare("INSERT OR IGNORE INTO pin_files (pin_id, origin_id, real_path) VALUES (?, ?, ?)");
      for (const f of pin.files ?? []) insert.run(stored.id, f.originId, f.realPath);
      return stored;
    })();
  }

  /** Removes a pin by its label; false when there was none. */
  remove(label: string): boolean {
    return this.db.run("DELETE FROM pins WHERE label = ?", [label]).changes > 0;
  }

  /**
   * The files every pin names now, in order (written by the mount at each refresh), for `/.collections/Pinned.m3u8`
   * in the FUSE workers. Only written when it changed.
   */
  setPinnedFiles(ids: readonly number[]): void {
    const current = this.pinnedFiles();
    if (current.length === ids.length && current.every((id, i) => id === ids[i])) return;
    this.db.transaction(() => {
      this.db.run("DELETE FROM pinned_files");
      const insert = this.db.prepare("INSERT INTO pinned_files (position, file_id) VALUES (?, ?)");
      ids.forEach((id, i) => insert.run(i, id));
    })();
  }

  /** The pinned files as the mount last wrote them (setPinnedFiles), in order. */
  pinnedFiles(): FileId[] {
    return (this.db.query(PINNED_FILES).values() as [number][]).map(([id]) => asFileId(id));
  }

  /** Read-only: the pinned files as the mount last wrote them; none when there is no pins.db yet. */
  static readPinnedFiles(path: string): FileId[] {
    let db: Database;
    try {
      db = new Database(path, { readonly: true });
    } catch {
      return [];
    }
    try {
      return (db.query(PINNED_FILES).values() as [number][]).map(([id]) => asFileId(id));
    } catch {
      return []; // a pins.db from before pinned_files: the mount adds it at its next refresh
    } finally {
      db.close();
    }
  }

  /**
   * Read-only, before anything else opens the cache dir (a mount on a full disk): the pinned files as the mount last
   * wrote them; [] when there is no pins.db; null when it cannot be read, or is from before pinned_files while it
   * has pins (the caller then must assume every cached file may be pinned). Writes nothing (openSqliteReadOnly), so
   * it works on a full disk.
   */
  static pinnedFilesIfKnown(path: string): FileId[] | null {
    if (!existsSync(path)) return [];
    let db: Database | undefined;
    try {
      db = openSqliteReadOnly(path);
      return (db.query(PINNED_FILES).values() as [number][]).map(([id]) => asFileId(id));
    } catch {
      try {
        if (db && (db.query("SELECT count(*) FROM pins").values() as [number][])[0]![0] === 0) return [];
      } catch {
        /* not readable at all */
      }
      return null;
    } finally {
      db?.close();
    }
  }

  close(): void {
    this.db.close();
  }
}
