import { asFolderImageId, type ContentId, type FileId, type FolderImageId } from "./ids.ts";

/**
 * The content cache (chunk store, range index, fetcher, FUSE workers) keys what it caches by ContentId: a file's
 * content under its FileId, a folder image's (album covers on a cached origin) under the negative of its
 * folder_images id — a space no file id uses (rowids are positive), so every cache path works for them unchanged.
 */
export function fileContentId(id: FileId): ContentId {
  return (id as number) as ContentId;
}

export function imageContentId(imageId: FolderImageId): ContentId {
  return -imageId as ContentId;
}

/** The folder image a content id stands for, or null for a file's id. */
export function imageIdOfContent(id: ContentId): FolderImageId | null {
  return id < 0 ? asFolderImageId(-id) : null;
}

/** The file a content id stands for, or null for a folder image's (the complement of imageIdOfContent). */
export function fileIdOfContent(id: ContentId): FileId | null {
  return id < 0 ? null : ((id as number) as FileId);
}
