import type { FileId } from "./types.ts";

/**
 * The content cache (chunk store, range index, fetcher, FUSE workers) keys what it caches by FileId. Folder images
 * (album covers on a cached origin) are cached the same way under the negative of their folder_images id: a space
 * no file id uses (rowids are positive), so every cache path works for them unchanged.
 */
export function imageContentId(imageId: number): FileId {
  return -imageId;
}

/** The folder image a content id stands for, or null for a file's id. */
export function imageIdOfContent(id: FileId): number | null {
  return id < 0 ? -id : null;
}
