/**
 * Issue 9 item 7 on a real mount: one naming rule for the tree and the `/.search` / `/.collections` link names —
 * Windows-unsafe characters, line separators, bidirectional and zero-width characters, oversized graphemes.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeFlac } from "../../src/sample/flacWriter.ts";
import { silence } from "../../src/sample/tone.ts";
import type { TrackTags } from "../../src/sample/tags.ts";
import { cleanupAll, findFiles, startMount, tempDir } from "./harness.ts";

afterAll(cleanupAll);

const HOSTILE_ARTIST = 'Who?: "A" <B>|';
const HOSTILE_TITLE = "x*y\u2028z\u202Eevil\u200Bname\u2066";
const HUGE_GRAPHEME = "a" + "\u0300".repeat(300); // one grapheme, 601 bytes

let mnt: string;
let tree: string[];

beforeAll(async () => {
  const origin = tempDir("musicfs-names-origin-");
  const put = (name: string, tags: TrackTags) => writeFileSync(join(origin, name), writeFlac(tags, silence(0.2, 22050, 1)));
  put("hostile.flac", { artists: [HOSTILE_ARTIST], title: HOSTILE_TITLE, album: "Hostilealbum", track: 1 });
  put("huge.flac", { artists: ["Zalgo"], title: HUGE_GRAPHEME, album: "Hugealbum", track: 1 });
  put("invisible.flac", { artists: ["\u200B\u202E"], title: "\uFEFF\u2069", album: "Invisiblealbum", track: 1 });
  mnt = join(tempDir(), "mnt");
  await startMount(mnt, ["--origin", origin, "--cache-dir", tempDir()]);
  tree = await findFiles(mnt);
}, 60_000);

/** The one tree file under the album folder that starts with `album`, split into its parts. */
function treeFile(album: string): { artist: string; fileName: string; title: string } {
  const path = tree.find((p) => p.split("/")[1]?.startsWith(album));
  if (!path) throw new Error(`no ${album} in ${tree.join(", ")}`);
  const [artist, , fileName] = path.split("/");
  return { artist, fileName, title: fileName.replace(/^\d\d - /, "").replace(/\.flac$/, "") };
}

function searchLinks(query: string): string[] {
  return readdirSync(join(mnt, ".search", query));
}

describe("one naming rule for the tree and the special folders", () => {
  test("a hostile artist and title read the same in the tree and in /.search", () => {
    const t = treeFile("Hostilealbum");
    expect(t.artist).toBe("Who__ _A_ _B__");
    expect(t.title).toBe("x_y zevilname");
    const links = searchLinks("Hostilealbum");
    expect(links).toEqual([`001. ${t.artist} - ${t.title}.flac`]);
    expect(readlinkSync(join(mnt, ".search", "Hostilealbum", links[0]))).toBe(`../../${t.artist}/${tree.find((p) => p.includes("Hostilealbum"))!.split("/").slice(1).join("/")}`);
    // The collections use the same names.
    const recent = readdirSync(join(mnt, ".collections", "Recently Added"));
    expect(recent.some((n) => n.endsWith(`. ${t.artist} - ${t.title}.flac`))).toBe(true);
  });

  test("no name anywhere on the mount holds a bidirectional or zero-width character", () => {
    const everything = [...tree, ...searchLinks("Hostilealbum"), ...searchLinks("Invisiblealbum"), ...readdirSync(join(mnt, ".collections", "Recently Added"))];
    for (const name of everything) expect(name).not.toMatch(/[\u200B-\u200D\u202A-\u202E\u2066-\u2069\uFEFF\u2028]/);
  });

  test("names made only of invisible characters take the fallbacks", () => {
    const t = treeFile("Invisiblealbum");
    expect(t.artist).toBe("Unknown Artist");
    expect(t.fileName).toBe("01 - invisible.flac"); // the title falls back to the file's own name
    expect(searchLinks("Invisiblealbum")).toEqual(["001. Unknown Artist - Unknown Title.flac"]);
  });

  test("a 601-byte single-grapheme title is shortened in both places, never dropped", () => {
    const t = treeFile("Hugealbum");
    expect(t.fileName).not.toBe("01 -.flac");
    expect(t.title.startsWith("\u00e0\u0300\u0300")).toBe(true);
    expect(Buffer.byteLength(t.fileName)).toBeGreaterThan(250);
    const [link] = searchLinks("Hugealbum");
    expect(link.startsWith("001. Zalgo - \u00e0\u0300\u0300")).toBe(true);
    expect(link.endsWith(".flac")).toBe(true);
    expect(Buffer.byteLength(link)).toBeLessThanOrEqual(255);
  });
});
