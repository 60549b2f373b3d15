/**
 * Issue 9 item 6: origin file names that are not valid UTF-8 (`$'\xff\xfe.mp3'`, a folder `dir\xffbad/`) were
 * left out with ENOENT. Every audio file must appear under a valid UTF-8 name and read byte for byte, through
 * passthrough and through normal READs, after a remount and when added while mounted (--watch).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { isUtf8 } from "node:buffer";
import { join } from "node:path";
import { writeFlac } from "../../src/sample/flacWriter.ts";
import { writeMp3 } from "../../src/sample/mp3Writer.ts";
import { silence } from "../../src/sample/tone.ts";
import { cleanupAll, startMount, tempDir, QUICK_WATCH_ENV } from "./harness.ts";
import { eventually } from "../support/eventually.ts";

afterAll(cleanupAll);

/** A path below `dir` from raw bytes (the name parts may be anything but "/" and NUL). */
const rawPath = (dir: string, ...parts: (string | number[])[]) =>
  Buffer.concat([Buffer.from(`${dir}/`), ...parts.map((p) => (typeof p === "string" ? Buffer.from(p) : Buffer.from(p)))]);

/** Runs a program and returns its stdout as bytes (names in it may not be UTF-8). */
async function output(cmd: string[]): Promise<Buffer> {
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 60_000);
  const [out, err, code] = await Promise.all([new Response(proc.stdout).bytes(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${cmd.join(" ")} failed (${code}): ${err}`);
  return Buffer.from(out);
}

/** sha256 → count, of every regular file below `dir`, read by sha256sum (through the mount for a mount). */
async function contentHashes(dir: string): Promise<string[]> {
  const out = await output(["find", dir, "-type", "f", "-exec", "sha256sum", "{}", "+"]);
  return out.toString("latin1").split("\n").filter(Boolean).map((l) => l.slice(0, 64)).sort();
}

function makeOrigin(): { dir: string; audioFiles: number } {
  const dir = tempDir("musicfs-rawnames-");
  // Untagged: the name comes from the file name, whose bytes are not UTF-8. Two of them collide once sanitised.
  writeFileSync(rawPath(dir, [0xff, 0xfe], ".mp3"), writeMp3({}, { seconds: 0.3 }));
  writeFileSync(rawPath(dir, [0xfd, 0xfc], ".mp3"), writeMp3({}, { seconds: 0.4 }));
  // A folder whose name is not UTF-8, holding a Latin-1 file name with tags.
  mkdirSync(rawPath(dir, "dir", [0xff], "bad"));
  writeFileSync(rawPath(dir, "dir", [0xff], "bad/caf", [0xe9], ".flac"), writeFlac({ title: "Cafe", artists: ["Raw"], album: "Bytes", track: 1 }, silence(0.2, 22050, 1)));
  // A valid name that holds U+FFFD followed by hex digits must not be taken for an escaped byte.
  writeFileSync(join(dir, "real\uFFFDff.flac"), writeFlac({}, silence(0.3, 22050, 1)));
  return { dir, audioFiles: 4 };
}

describe("origin names that are not UTF-8", () => {
  test("every audio file appears under a valid UTF-8 name and reads byte for byte, with and without passthrough", async () => {
    const origin = makeOrigin();
    const cache = tempDir();
    const originHashes = await contentHashes(origin.dir);
    for (const env of [{}, { MUSICFS_NO_PASSTHROUGH: "1" }] as Record<string, string>[]) {
      const mnt = join(tempDir(), "mnt");
      const server = await startMount(mnt, ["--origin", origin.dir, "--cache-dir", cache], { env });
      const listing = await output(["find", mnt, "-type", "f", "-printf", "%P\\n"]);
      expect(isUtf8(listing)).toBe(true);
      const names = listing.toString("utf8").split("\n").filter(Boolean).sort();
      expect(names).toEqual([
        "Raw/Bytes [FLAC]/01 - Cafe.flac",
        "Unknown Artist/Unknown Album [FLAC]/00 - real\uFFFDff.flac",
        "Unknown Artist/Unknown Album [MP3]/00 - \uFFFD\uFFFD (2).mp3",
        "Unknown Artist/Unknown Album [MP3]/00 - \uFFFD\uFFFD.mp3",
      ]);
      // sha256sum reads every file through the mount: the same bytes as the origin's files.
      expect(await contentHashes(mnt)).toEqual(originHashes);
      // cmp of the origin file (named by its bytes: argv cannot carry them from here, printf can) and the mount's.
      const originFile = '"$(printf "%s/dir\\377bad/caf\\351.flac" "$1")"';
      const cmp = Bun.spawn(["sh", "-c", `cmp ${originFile} "$2"`, "sh", origin.dir, join(mnt, "Raw/Bytes [FLAC]/01 - Cafe.flac")], { stderr: "pipe" });
      expect(await cmp.exited).toBe(0);
      expect(server.output()).not.toMatch(/[1-9]\d* unreadable|ENOENT/);
      await server.stop();
    }
  }, 120_000);

  test("a file that is not UTF-8 added while mounted with --watch appears and reads", async () => {
    const origin = makeOrigin();
    const mnt = join(tempDir(), "mnt");
    await startMount(mnt, ["--origin", origin.dir, "--cache-dir", tempDir(), "--watch"], { env: QUICK_WATCH_ENV });
    const bytes = writeFlac({ title: "Late", artists: ["Raw"], album: "Bytes", track: 2 }, silence(0.25, 22050, 1));
    writeFileSync(rawPath(origin.dir, "dir", [0xff], "bad/late", [0x80], ".flac"), bytes);
    const target = join(mnt, "Raw/Bytes [FLAC]/02 - Late.flac");
    await eventually(() => Bun.file(target).exists(), (there) => there);
    const read = await output(["cat", target]);
    expect(Buffer.compare(read, Buffer.from(bytes))).toBe(0);
  }, 60_000);
});
