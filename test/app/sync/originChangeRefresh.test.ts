/**
 * The refusal side of item 5 (issue 9): when a changed origin file cannot be refreshed before its open is answered
 * — the sync fails, takes too long, or the file changes again meanwhile — the open fails with EIO and a warning,
 * and the fd the worker opened is closed. The success side runs through real mounts in test/e2e/originChanged.test.ts.
 */
import { afterEach, expect, spyOn, test } from "bun:test";
import { closeSync, fstatSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { answerOriginChange } from "../../../src/app/sync/originChangeRefresh.ts";
import type { Library } from "../../../src/app/library/library.ts";
import { log } from "../../../src/core/logger.ts";
import { originVersionOf } from "../../../src/core/originVersion.ts";
import type { DeferredReply, DeferredRequest } from "../../../src/fuse/session.ts";
import type { DeferredOriginChange } from "../../../src/fs/workerMessages.ts";
import { cleanupAll, tempDir } from "../../support/cleanup.ts";
import { asFileId, asIno, asOriginId } from "../../../src/core/ids.ts";

afterEach(cleanupAll);

const INO = 42;
const FILE_ID = 7;

function setup(row: { size: number; mtimeMs: number }, nodeIno = INO) {
  const path = join(tempDir(), "1.flac");
  writeFileSync(path, new Uint8Array(1000));
  const fd = openSync(path, "r");
  const library = {
    origins: [{ id: "o", displayName: "/music" }],
    inodesOfFiles: (ids: number[]) => (ids.includes(FILE_ID) ? [nodeIno] : []),
    db: { getFile: (id: number) => (id === FILE_ID ? row : null) },
  } as unknown as Library;
  const payload: DeferredOriginChange = {
    type: "originChanged", ino: asIno(INO), fileId: asFileId(FILE_ID), originId: asOriginId("o"), realPath: "1.flac", fd,
    stored: { size: 2000, mtimeMs: 1 }, found: originVersionOf(fstatSync(fd)),
  };
  const answers: string[] = [];
  const reply: DeferredReply = {
    data: () => answers.push("data"),
    error: (errno) => answers.push(`error ${errno}`),
    open: (r) => (answers.push(`open fh ${r.fh}`), true),
    done: false,
  };
  const request = { unique: 1n, opcode: 14, nodeid: INO, offset: 0, size: 0, fh: 0, payload, signal: new AbortController().signal } as DeferredRequest;
  return { fd, library, request, reply, answers, current: payload.found };
}

const isOpen = (fd: number) => {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
};

test("refreshed and consistent: the open is answered with the worker's fd", async () => {
  const s = setup({ size: 0, mtimeMs: 0 });
  Object.assign(s.library.db, { getFile: () => s.current }); // the sync stored the file as it is now
  await answerOriginChange({ library: s.library, refresh: async () => {} }, s.request, s.reply);
  expect(s.answers).toEqual([`open fh ${s.fd}`]);
  expect(isOpen(s.fd)).toBe(true);
  closeSync(s.fd);
});

test("a refresh that fails or takes too long: EIO with a warning naming the file, fd closed", async () => {
  const warn = spyOn(log, "warn");
  try {
    const failing = setup({ size: 0, mtimeMs: 0 });
    await answerOriginChange({ library: failing.library, refresh: () => Promise.reject(new Error("disk full")) }, failing.request, failing.reply);
    expect(failing.answers).toEqual(["error 5"]);
    expect(isOpen(failing.fd)).toBe(false);
    expect(String(warn.mock.calls.at(-1)?.[0])).toContain("/music/1.flac: answering EIO to its open (disk full)");

    const slow = setup({ size: 0, mtimeMs: 0 });
    await answerOriginChange({ library: slow.library, refresh: () => new Promise(() => {}), timeoutMs: 20 }, slow.request, slow.reply);
    expect(slow.answers).toEqual(["error 5"]);
    expect(String(warn.mock.calls.at(-1)?.[0])).toContain("not refreshed within");
  } finally {
    warn.mockRestore();
  }
});

test("the stored row still differs from the open file (changed again meanwhile): EIO", async () => {
  const s = setup({ size: 999, mtimeMs: 0 });
  await answerOriginChange({ library: s.library, refresh: async () => {} }, s.request, s.reply);
  expect(s.answers).toEqual(["error 5"]);
  expect(isOpen(s.fd)).toBe(false);
});
