/**
 * Which image is an album's cover (docs/templates.md, "Cover files"). Pure rules over what the scan recorded:
 *
 * 1. A folder image next to the album's tracks: by name, `cover` before `folder`, `front`, `albumart`, `album`,
 *    `albumartsmall` (the names players and rippers write: MPD, Kodi, foobar2000, Windows Media Player, EAC); by
 *    extension `jpg`, `jpeg`, `png`, `webp`; any case. An album spread over several origin folders (CD1/, CD2/) takes
 *    the first folder (by path) that has one.
 * 2. Else a picture embedded in one of its tracks: the first track (by origin path) with a front cover, else the
 *    first with any picture.
 * 3. Else none.
 * The image's real type (sniffed from its bytes) decides the cover file's extension, never the name it has.
 */
import type { FileId, FolderImageId } from "../core/ids.ts";
import type { ImageType } from "./coverLocator.ts";

/** Folder image names by priority (lower case, without extension). */
export const FOLDER_IMAGE_NAMES = ["cover", "folder", "front", "albumart", "album", "albumartsmall"] as const;
export const FOLDER_IMAGE_EXTENSIONS = ["jpg", "jpeg", "png", "webp"] as const;

/**
 * The priority of a file name as a folder image (0 = best), or null when the name is not one of ours. Only the
 * name is looked at: the walk reports every file, and this decides which ones are worth recording.
 */
export function folderImageRank(fileName: string): number | null {
  const dot = fileName.lastIndexOf(".");
  if (dot <= 0) return null;
  const base = FOLDER_IMAGE_NAMES.indexOf(fileName.slice(0, dot).toLowerCase() as (typeof FOLDER_IMAGE_NAMES)[number]);
  const ext = FOLDER_IMAGE_EXTENSIONS.indexOf(fileName.slice(dot + 1).toLowerCase() as (typeof FOLDER_IMAGE_EXTENSIONS)[number]);
  if (base < 0 || ext < 0) return null;
  return base * FOLDER_IMAGE_EXTENSIONS.length + ext;
}

/** True for a path whose file name is a folder image name (see folderImageRank). */
export function isFolderImagePath(realPath: string): boolean {
  return folderImageRank(realPath.slice(realPath.lastIndexOf("/") + 1)) !== null;
}

/** A folder image as recorded: its type is null when its bytes are not a JPEG, PNG or WebP. */
export interface FolderImageCandidate {
  id: FolderImageId;
  realPath: string;
  type: ImageType | null;
}

/** A track's embedded picture as recorded. */
export interface EmbeddedCandidate {
  fileId: FileId;
  realPath: string;
  type: ImageType;
  front: boolean;
}

export type CoverChoice =
  | { kind: "folder"; imageId: FolderImageId; type: ImageType }
  | { kind: "embedded"; fileId: FileId; type: ImageType }
  | null;

/** The album's cover from the images of its folders and its tracks' pictures (rules above). */
export function chooseCover(images: readonly FolderImageCandidate[], pictures: readonly EmbeddedCandidate[]): CoverChoice {
  let best: { image: FolderImageCandidate; folder: string; rank: number } | null = null;
  for (const image of images) {
    if (image.type === null) continue;
    const slash = image.realPath.lastIndexOf("/");
    const folder = image.realPath.slice(0, slash + 1);
    const rank = folderImageRank(image.realPath.slice(slash + 1));
    if (rank === null) continue;
    if (!best || folder < best.folder || (folder === best.folder && rank < best.rank)) best = { image, folder, rank };
  }
  if (best) return { kind: "folder", imageId: best.image.id, type: best.image.type! };
  const byPath = [...pictures].sort((a, b) => (a.realPath < b.realPath ? -1 : a.realPath > b.realPath ? 1 : 0));
  const picture = byPath.find((p) => p.front) ?? byPath[0];
  return picture ? { kind: "embedded", fileId: picture.fileId, type: picture.type } : null;
}
