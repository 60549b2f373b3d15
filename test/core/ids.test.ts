/**
 * The ids are branded (src/core/ids.ts): mixing them up is a type error. `bun run typecheck` checks this file: each
 * `@ts-expect-error` line must fail to type-check, or tsc reports the directive as unused — so if a brand were
 * dropped (FileId = number again), the type check of the suite fails here.
 */
import { expect, test } from "bun:test";
import { fileContentId, fileIdOfContent, imageContentId, imageIdOfContent } from "../../src/core/contentIds.ts";
import { asFileId, asIno, asOriginId, type ContentId, type FileId, type Ino, type OriginId } from "../../src/core/ids.ts";

const takesFileId = (id: FileId): number => id;
const takesIno = (ino: Ino): number => ino;
const takesOriginId = (id: OriginId): string => id;
const takesContentId = (id: ContentId): number => id;

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

test("content ids: a file's is its id, a folder image's is the negative of its id; each maps back to one owner", () => {
  const file = asFileId(42);
  expect(fileIdOfContent(fileContentId(file))).toBe(file);
  expect(imageIdOfContent(fileContentId(file))).toBeNull();
  expect(imageContentId(5)).toBe(-5 as ContentId);
  expect(imageIdOfContent(imageContentId(5))).toBe(5);
  expect(fileIdOfContent(imageContentId(5))).toBeNull();
});
