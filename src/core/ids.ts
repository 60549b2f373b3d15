/**
 * The ids of the domain, branded so that mixing them up is a type error: an Ino where a FileId is expected does not
 * compile, although both are numbers at run time (the brand exists only for the type checker; no cost).
 *
 * A plain number or string becomes an id only through the constructors below, at the edges where ids are born:
 * database rows, kernel requests, the config. Everything between passes the branded value along.
 */
declare const brand: unique symbol;
type Branded<T, B extends string> = T & { readonly [brand]: B };

/** An origin's id as configured (e.g. "music", "nas"). Stable across runs: it keys every stored row. */
export type OriginId = Branded<string, "OriginId">;
/** Primary key of a row in `files`. Stable for the life of the row. */
export type FileId = Branded<number, "FileId">;
/** A virtual-tree inode number. Persisted in `nodes`, so stable across remounts. Root is 1. */
export type Ino = Branded<number, "Ino">;
/**
 * What the content cache (chunk store, range index, fetcher, FUSE workers) keys cached content by: a file's id, or
 * for a folder image (an album cover on a cached origin) the negative of its folder_images id — a space no file id
 * uses (rowids are positive), so every cache path works for images unchanged.
 */
export type ContentId = Branded<number, "ContentId">;

/** Primary key of a row in `albums`: an album as album identity grouped it (src/library/albums.ts). */
export type AlbumId = Branded<number, "AlbumId">;
/** Primary key of a configured view (its folder at the root of the mount and its own placements). */
export type ViewId = Branded<number, "ViewId">;
/**
 * Primary key of a row in `folder_images` (cover.jpg and the like next to an album's tracks). Never a FileId: the
 * content cache keys an image by its negative (imageContentId), so the two id spaces cannot meet.
 */
export type FolderImageId = Branded<number, "FolderImageId">;

export const asFileId = (n: number): FileId => n as FileId;
export const asIno = (n: number): Ino => n as Ino;
export const asOriginId = (s: string): OriginId => s as OriginId;
export const asAlbumId = (n: number): AlbumId => n as AlbumId;
export const asViewId = (n: number): ViewId => n as ViewId;
export const asFolderImageId = (n: number): FolderImageId => n as FolderImageId;
/** A content id as stored or sent (a row of the range index, a worker message). */
export const asContentId = (n: number): ContentId => n as ContentId;
