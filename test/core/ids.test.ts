/**
 * The ids are branded (src/core/ids.ts): mixing them up is a type error. `bun run typecheck` checks this file: each
 * `@ts-expect-error` line must fail to type-check, or tsc reports the directive as unused — so if a brand were
 * dropped (FileId = number again), the type check of the suite fails here.
 */
import { expect, test } from "bun:test";
import { fileContentId, fileIdOfContent, imageContentId, imageIdOfContent } from "../../src/core/contentIds.ts";
import {
  asAlbumId, asFileId, asFolderImageId, asIno, asOriginId, asViewId,
  type AlbumId, type ContentId, type FileId, type FolderImageId, type Ino, type OriginId, type ViewId,
} from "../../src/core/ids.ts";

const takesFileId = (id: FileId): number => id;
const takesIno = (ino: Ino): number => ino;
const takesOriginId = (id: OriginId): string => id;
const takesContentId = (id: ContentId): number => id;
const takesAlbumId = (id: AlbumId): number => id;
const takesViewId = (id: ViewId): number => id;
const takesFolderImageId = (id: FolderImageId): number => id;

test("an Ino is rejected where a FileId is expected, and every other mix-up too (type-level; checked by tsc)", () => {
  const ino = asIno(7);
  const file = asFileId(7);
  // @ts-expect-error an Ino is not a FileId
  takesFileId(ino);
  // @ts-expect-error a FileId is not an Ino
  takesIno(file);
  // @ts-expect-error a plain number is not a FileId: ids are born at the edges (asFileId)
  takesFileId(7);
  // @ts-expect-error a FileId is not a ContentId: say which content (fileContentId / imageContentId)
  takesContentId(file);
  // @ts-expect-error a plain string is not an OriginId
  takesOriginId("music");
  // The right ones compile, and are the same numbers at run time.
  expect(takesFileId(file)).toBe(7);
  expect(takesIno(ino)).toBe(7);
  expect(takesOriginId(asOriginId("music"))).toBe("music");
  expect(takesContentId(fileContentId(file))).toBe(7);
});

test("album, view and folder-image ids are ids of their own: none is taken for another or for a file's (type-level)", () => {
  const album = asAlbumId(3);
  const view = asViewId(3);
  const image = asFolderImageId(3);
  const file = asFileId(3);
  // @ts-expect-error a ViewId is not an AlbumId
  takesAlbumId(view);
  // @ts-expect-error a FileId is not an AlbumId (album_tracks maps one to the other)
  takesAlbumId(file);
  // @ts-expect-error a plain number is not an AlbumId: ids are born at the edges (asAlbumId)
  takesAlbumId(3);
  // @ts-expect-error an AlbumId is not a ViewId
  takesViewId(album);
  // @ts-expect-error an Ino is not a ViewId (a view has a top-level folder's inode and an id of its own)
  takesViewId(asIno(3));
  // @ts-expect-error a FileId is not a FolderImageId: a folder image is not a file of the library
  takesFolderImageId(file);
  // @ts-expect-error an AlbumId is not a FolderImageId (album_covers names both)
  takesFolderImageId(album);
  // @ts-expect-error a FolderImageId is not a FileId
  takesFileId(image);
  // @ts-expect-error a folder image's content id is its negative id (imageContentId), not its id
  takesContentId(image);
  expect(takesAlbumId(album)).toBe(3);
  expect(takesViewId(view)).toBe(3);
  expect(takesFolderImageId(image)).toBe(3);
  expect(takesContentId(imageContentId(image))).toBe(-3);
});

test("content ids: a file's is its id, a folder image's is the negative of its id; each maps back to one owner", () => {
  const file = asFileId(42);
  expect(fileIdOfContent(fileContentId(file))).toBe(file);
  expect(imageIdOfContent(fileContentId(file))).toBeNull();
  const image = asFolderImageId(5);
  expect(imageContentId(image)).toBe(-5 as ContentId);
  expect(imageIdOfContent(imageContentId(image))).toBe(image);
  expect(fileIdOfContent(imageContentId(image))).toBeNull();
});
