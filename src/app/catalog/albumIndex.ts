import { Lru } from "../../core/lru.ts";
import type { AlbumValues, FileId } from "../../core/types.ts";
import { AlbumStore, type AlbumId, type AlbumMemberRow } from "../../db/albumStore.ts";
import type { Database } from "../../db/database.ts";
import { dirOf } from "../../library/deltaClassify.ts";
import {
  ALBUM_RULES_VERSION,
  AlbumAccumulator,
  albumKeysInFolder,
  albumValuesOf,
  folderKey,
  sameAlbumValues,
  type OriginFolder,
} from "../../library/albums.ts";

/** Where the version of the rules the stored albums were built by is kept (meta). */
const META_KEY = "album_rules";
const RECENT_ALBUMS = 64;

/**
 * Keeps `albums` and files' membership true to src/library/albums.ts: all at once after a first scan (or an
 * upgrade), and folder by folder when a delta sync adds, retags or removes files. Album-level values are stored, so
 * placing a file costs one point lookup and a mount recomputes nothing.
 */
export class AlbumIndex {
  readonly store: AlbumStore;
  /** Values of recently placed albums (dropped whenever albums change). */
  private readonly recent = new Lru<AlbumId, AlbumValues>(RECENT_ALBUMS);

  constructor(private readonly db: Database) {
    this.store = new AlbumStore(db);
  }

  /** The stored albums were built by the current rules (false after an upgrade from a musicfs without albums). */
  isCurrent(): boolean {
    return this.db.getMeta(META_KEY) === ALBUM_RULES_VERSION;
  }

  /**
   * A file's album and the values it is rendered with (null: no album, the file is its own). Placement asks this
   * for every file, in path order, so an album's tracks come together: the values of recent albums are kept.
   */
  albumOf(fileId: FileId): { id: AlbumId; values: AlbumValues } | null {
    const id = this.store.albumIdOfFile(fileId);
    if (id === null) return null;
    let values = this.recent.get(id);
    if (!values) {
      values = this.store.album(id) ?? undefined;
      if (!values) return null;
      this.recent.set(id, values);
    }
    return { id, values };
  }

  /**
   * Computes every album from scratch in one streamed pass (folder by folder, values folded as they come, no
   * member lists kept), then writes the albums and each file's membership. O(library): after a first scan and
   * once after an upgrade only.
   */
  rebuildAll(): { albums: number } {
    this.recent.clear();
    const albums = new Map<string, { index: number; acc: AlbumAccumulator }>();
    const keyList: string[] = [];
    const fileIds: FileId[] = [];
    const fileAlbum: number[] = []; // index into keyList
    const flush = (folder: AlbumMemberRow[]) => {
      folder.sort((a, b) => (a.realPath < b.realPath ? -1 : a.realPath > b.realPath ? 1 : 0));
      const keys = albumKeysInFolder(folder[0].originId, folder);
      for (let i = 0; i < folder.length; i++) {
        const key = keys[i];
        if (key === null) continue;
        let album = albums.get(key);
        if (!album) {
          album = { index: keyList.length, acc: new AlbumAccumulator() };
          albums.set(key, album);
          keyList.push(key);
        }
        album.acc.add(folder[i]);
        fileIds.push(folder[i].id);
        fileAlbum.push(album.index);
      }
    };
    // Rows come in storage order; a folder is judged once all its files have arrived (only folders still
    // incomplete are held in memory).
    const remaining = new Map(this.store.folderSizes().map((f) => [folderKey(f), f.files]));
    const open = new Map<string, AlbumMemberRow[]>();
    for (const row of this.store.iterateAll()) {
      const key = folderKey({ originId: row.originId, dir: dirOf(row.realPath) });
      let folder = open.get(key);
      if (!folder) open.set(key, (folder = []));
      folder.push(row);
      const left = (remaining.get(key) ?? 1) - 1;
      remaining.set(key, left);
      if (left <= 0) {
        open.delete(key);
        flush(folder);
      }
    }
    for (const folder of open.values()) flush(folder); // none: only this thread writes, and it is here
    this.db.transaction(() => {
      this.store.deleteAllAlbums();
      const ids = keyList.map((key) => this.store.insertAlbum(key, albums.get(key)!.acc.values()));
      for (let i = 0; i < fileIds.length; i++) {
        this.store.setFileAlbum(fileIds[i], ids[fileAlbum[i]]);
      }
      this.db.setMeta(META_KEY, ALBUM_RULES_VERSION);
    });
    return { albums: keyList.length };
  }

  /**
   * After files of `folders` were stored, retagged or deleted: recomputes membership of every file in those folders
   * and the values of every album they were or are in (plus `albumIds`, the albums of deleted files). Returns the
   * files to re-place: those that changed album and every member of an album whose values changed. Albums not
   * touched by these folders are not read. Runs in the caller's transaction.
   */
  refresh(folders: readonly OriginFolder[], albumIds: readonly AlbumId[] = []): FileId[] {
    this.recent.clear();
    const touched = new Set<AlbumId>(albumIds);
    const replace = new Set<FileId>();
    for (const { originId, dir } of folders) {
      const members = this.store.folderMembers(originId, dir);
      const keys = albumKeysInFolder(originId, members);
      members.forEach((m, i) => {
        const key = keys[i];
        const albumId = key === null ? null : (this.store.idForKey(key) ?? this.store.insertAlbum(key, albumValuesOf([m])));
        if (m.albumId !== null) touched.add(m.albumId);
        if (albumId !== null) touched.add(albumId);
        if (albumId !== m.albumId) {
          this.store.setFileAlbum(m.id, albumId);
          replace.add(m.id);
        }
      });
    }
    for (const albumId of touched) {
      const members = this.store.albumMembers(albumId);
      if (members.length === 0) {
        this.store.deleteAlbum(albumId);
        continue;
      }
      const values = albumValuesOf(members);
      const stored = this.store.album(albumId);
      if (stored && sameAlbumValues(stored, values)) continue;
      this.store.updateAlbum(albumId, values);
      for (const m of members) replace.add(m.id);
    }
    return [...replace];
  }
}
