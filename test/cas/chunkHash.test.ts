import { expect, spyOn, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chunkHex, chunkIdentity, sha256ChunkId, sha256Matches } from "../../src/cas/chunkHash.ts";
import { CHUNK_ID_KEY_FILE, chunkIdKeyForMount, loadOrMakeChunkIdKey, readChunkIdKey } from "../../src/cas/chunkIdKey.ts";
import { isChunkFileName } from "../../src/cas/chunkPaths.ts";
import { readChecksum } from "../../src/cas/manifestCodec.ts";
import { log } from "../../src/core/logger.ts";
import { tempDir } from "./helpers.ts";
import { pseudoRandomBytes } from "./testData.ts";

const KEY = 0x0123456789abcdefn;

test("a new chunk id is 16 bytes: the read checksum, then XXH3 keyed by the cache's key; pinned golden value", () => {
  const bytes = pseudoRandomBytes(64 * 1024, 1);
  const id = chunkIdentity(KEY).idOf(bytes);
  expect(id.length).toBe(16);
  expect(new DataView(id.buffer).getBigUint64(0, false)).toBe(readChecksum(bytes));
  expect(new DataView(id.buffer).getBigUint64(8, false)).toBe(Bun.hash.xxHash3(bytes, KEY));
  // Ids persist in manifests and chunk file names: a runtime whose XXH3 differed would find every chunk damaged.
  expect(chunkHex(chunkIdentity(KEY).idOf(new TextEncoder().encode("musicfs chunk")))).toBe(GOLDEN);
  expect(chunkIdentity(KEY).idWithChecksum(bytes, readChecksum(bytes))).toEqual(id);
});

test("the id depends on the key: another cache's key makes other ids, and does not pass the check", () => {
  const bytes = pseudoRandomBytes(1000, 2);
  const a = chunkIdentity(KEY);
  const b = chunkIdentity(KEY + 1n);
  expect(chunkHex(a.idOf(bytes))).not.toBe(chunkHex(b.idOf(bytes)));
  expect(a.matches(bytes, a.idOf(bytes))).toBe(true);
  expect(b.matches(bytes, a.idOf(bytes))).toBe(false);
  const bad = bytes.slice();
  bad[500] ^= 1;
  expect(a.matches(bad, a.idOf(bytes))).toBe(false);
});

test("an id is checked by the algorithm its length names: SHA-256 ids (old caches) still pass, no key needed", () => {
  const bytes = pseudoRandomBytes(5000, 3);
  const old = sha256ChunkId(bytes);
  expect(old.length).toBe(32);
  expect(chunkIdentity(KEY).matches(bytes, old)).toBe(true);
  expect(chunkIdentity(KEY + 7n).matches(bytes, old)).toBe(true);
  expect(sha256Matches(bytes, old)).toBe(true);
  // Never checked with the other algorithm: a keyed id is not a SHA-256 one, an id of another length is nothing.
  expect(sha256Matches(bytes, chunkIdentity(KEY).idOf(bytes))).toBe(false);
  expect(chunkIdentity(KEY).matches(bytes, old.subarray(0, 20))).toBe(false);
});

test("chunk file names of both algorithms are recognised (64 and 32 hex characters), nothing else", () => {
  const bytes = pseudoRandomBytes(100, 4);
  expect(isChunkFileName(chunkHex(sha256ChunkId(bytes)))).toBe(true);
  expect(isChunkFileName(chunkHex(chunkIdentity(KEY).idOf(bytes)))).toBe(true);
  for (const name of ["access.db", "0".repeat(48), "A".repeat(32), `${"0".repeat(32)}.tmp`]) expect(isChunkFileName(name)).toBe(false);
});

test("the cache's key: made once (mode 0600), the same at every load; a damaged one is replaced, with a warning", () => {
  const dir = tempDir();
  expect(readChunkIdKey(dir)).toBeUndefined();
  const key = loadOrMakeChunkIdKey(dir);
  const path = join(dir, CHUNK_ID_KEY_FILE);
  expect(statSync(path).mode & 0o777).toBe(0o600);
  expect(loadOrMakeChunkIdKey(dir)).toBe(key);
  expect(readChunkIdKey(dir)).toBe(key);
  expect(loadOrMakeChunkIdKey(tempDir())).not.toBe(key); // random per cache dir
  chmodSync(path, 0o600);
  writeFileSync(path, "not a key");
  const warn = spyOn(log, "warn").mockImplementation((() => {}) as never);
  try {
    const fresh = loadOrMakeChunkIdKey(dir);
    expect(fresh).not.toBe(key);
    expect(readChunkIdKey(dir)).toBe(fresh);
    expect(String(warn.mock.calls[0]?.[0])).toContain("is damaged");
  } finally {
    warn.mockRestore();
  }
  expect(readFileSync(`${path}.damaged`, "utf8")).toBe("not a key");
  expect(existsSync(join(dir, `.${CHUNK_ID_KEY_FILE}.${process.pid}.tmp`))).toBe(false);
});

test("a mount whose cache dir cannot take the key file still gets a key (for that run), with a warning", () => {
  const notADir = join(tempDir(), "file");
  writeFileSync(notADir, "x");
  const warn = spyOn(log, "warn").mockImplementation((() => {}) as never);
  try {
    expect(() => loadOrMakeChunkIdKey(join(notADir, "cache"))).toThrow();
    const a = chunkIdKeyForMount(join(notADir, "cache"));
    const b = chunkIdKeyForMount(join(notADir, "cache"));
    expect(typeof a).toBe("bigint");
    expect(a).not.toBe(b); // one per run, not kept
    expect(String(warn.mock.calls[0]?.[0])).toContain("for this run only");
  } finally {
    warn.mockRestore();
  }
  const ok = tempDir();
  expect(chunkIdKeyForMount(ok)).toBe(loadOrMakeChunkIdKey(ok));
});

test("a key file that cannot be read is left alone (it may hold the right key): the mount runs with a key of its own, and says why", () => {
  const dir = tempDir();
  // Unreadable without being damaged: a directory in its place (as root, a mode-0000 file would still be read).
  mkdirSync(join(dir, CHUNK_ID_KEY_FILE));
  const warn = spyOn(log, "warn").mockImplementation((() => {}) as never);
  try {
    expect(() => loadOrMakeChunkIdKey(dir)).toThrow(/cannot read the chunk id key .*chunk-id-key \(EISDIR\): check its owner and permissions/);
    expect(typeof chunkIdKeyForMount(dir)).toBe("bigint");
    expect(String(warn.mock.calls.at(-1)?.[0])).toContain("for this run only");
  } finally {
    warn.mockRestore();
  }
  // Not taken for damage: nothing renamed, nothing replaced.
  expect(statSync(join(dir, CHUNK_ID_KEY_FILE)).isDirectory()).toBe(true);
  expect(existsSync(join(dir, `${CHUNK_ID_KEY_FILE}.damaged`))).toBe(false);
});

/** Computed once with Bun 1.4.5 (Bun.hash.xxHash3 is XXH3-64, frozen since xxHash 0.8.0). */
const GOLDEN = "10f5b08fea562f4007c9d7b8fd73e338";
