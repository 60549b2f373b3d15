import { describe, expect, test } from "bun:test";
import type { AlbumMemberTags } from "../../src/core/types.ts";
import { albumKeysInFolder, albumValuesOf } from "../../src/library/albums.ts";
import { compileTemplate, renderPath } from "../../src/library/template.ts";
import { DEFAULT_TEMPLATE } from "../../src/config/config.ts";
import { emptyTags, type FileMeta } from "../../src/core/types.ts";
import { asOriginId } from "../../src/core/ids.ts";

function track(realPath: string, t: Partial<FileMeta> = {}): FileMeta {
  return { originId: asOriginId("o"), realPath, size: 1, mtimeMs: 0, format: "flac", ...emptyTags(), ...t };
}

/** Groups a folder's files by album key: the folders the default template will make of them. */
function groups(files: AlbumMemberTags[]): string[][] {
  const keys = albumKeysInFolder("o", files);
  const by = new Map<string, string[]>();
  keys.forEach((k, i) => {
    const key = k ?? `none:${i}`;
    by.set(key, [...(by.get(key) ?? []), files[i].realPath]);
  });
  return [...by.values()];
}

describe("album identity", () => {
  test("a soundtrack whose tracks carry different years and artists and no album artist is one album", () => {
    const files = [2004, 2005, 2006, 2012].map((year, i) =>
      track(`Wesnoth/${i}.ogg`, { album: "The Battle for Wesnoth OST", artist: i % 2 ? "David W. Collins" : "Jeremy Nicoll", year }),
    );
    expect(groups(files)).toHaveLength(1);
    const values = albumValuesOf(files);
    expect(values).toEqual({ albumArtist: "Various Artists", year: 2004, formats: "FLAC", tracks: 4, discs: 1 });
  });

  test("tracks without an album artist join the tagged album of the same title in their folder", () => {
    const files = [
      track("ost/1.flac", { album: "OST", albumArtist: "Composer", artist: "Composer" }),
      track("ost/2.flac", { album: "OST", artist: "Guest" }),
      track("ost/3.flac", { album: "OST", albumArtist: "Composer", artist: "Composer" }),
      track("ost/4.flac", { album: "OST", artist: "Other guest" }),
    ];
    expect(groups(files)).toEqual([["ost/1.flac", "ost/2.flac", "ost/3.flac", "ost/4.flac"]]);
    expect(albumValuesOf(files).albumArtist).toBe("Composer");
  });

  test("one artist without album artist tags is that artist's album, not Various Artists", () => {
    const files = [track("a/1.flac", { album: "Solo", artist: "Ann" }), track("a/2.flac", { album: "Solo", artist: "Ann" })];
    expect(groups(files)).toHaveLength(1);
    expect(albumValuesOf(files).albumArtist).toBe("Ann");
  });

  test("a MusicBrainz album id splits same-named albums; files without an album tag are not grouped", () => {
    const hits = (mbAlbumId: string, n: number) =>
      track(`gh/${mbAlbumId}-${n}.flac`, { album: "Greatest Hits", albumArtist: "Band", mbAlbumId });
    const files = [hits("aaa", 1), hits("bbb", 1), hits("aaa", 2), track("gh/loose1.flac", { title: "x" }), track("gh/loose2.flac")];
    expect(groups(files)).toEqual([["gh/aaa-1.flac", "gh/aaa-2.flac"], ["gh/bbb-1.flac"], ["gh/loose1.flac"], ["gh/loose2.flac"]]);
  });

  test("same album title in two folders without album artists: two albums; with the same album artist: one", () => {
    const a = albumKeysInFolder("o", [track("x/1.flac", { album: "Live" })]);
    const b = albumKeysInFolder("o", [track("y/1.flac", { album: "Live" })]);
    expect(a[0]).not.toBe(b[0]);
    const c = albumKeysInFolder("o", [track("x/1.flac", { album: "Live", albumArtist: "Q" })]);
    const d = albumKeysInFolder("o", [track("y/2.flac", { album: "Live", albumArtist: "Q" })]);
    expect(c[0]).toBe(d[0]);
  });
});

describe("album-level values in the default template", () => {
  const def = compileTemplate(DEFAULT_TEMPLATE);

  test("a mixed-format album with tracks of several years renders one folder for every track", () => {
    const files = [
      track("m/1.flac", { album: "Mixed", albumArtist: "M", title: "One", track: 1, year: 2003 }),
      track("m/2.mp3", { album: "Mixed", albumArtist: "M", title: "Two", track: 2, year: 2001, format: "mp3" }),
    ];
    const album = albumValuesOf(files);
    const folders = new Set(files.map((f) => renderPath(def, f, album).slice(0, 2).join("/")));
    expect([...folders]).toEqual(["M/Mixed (2001) [FLAC+MP3]"]);
    // Per-track variables are still there for those who want them.
    expect(renderPath(compileTemplate("$year $format_upper/$title.$format"), files[0], album)).toEqual(["2003 FLAC", "One.flac"]);
  });

  test("the original year wins over the release years; album variables count tracks and discs", () => {
    const files = [
      track("r/1.flac", { album: "Re", albumArtist: "R", year: 2015, originalYear: 1971, disc: 1, track: 1, title: "A" }),
      track("r/2.flac", { album: "Re", albumArtist: "R", year: 2015, disc: 2, track: 1, title: "B" }),
    ];
    const album = albumValuesOf(files);
    const t = compileTemplate("$albumartist/$album ($albumyear, $albumtracks tracks, $albumdiscs discs)/$disctrack $title.$format");
    expect(renderPath(t, files[0], album)).toEqual(["R", "Re (1971, 2 tracks, 2 discs)", "1-01 A.flac"]);
  });

  test("$disctrack follows the album's disc count: a disc-1 track of a two-disc album is 1-03", () => {
    const one = track("d/1.flac", { album: "D", albumArtist: "X", disc: 1, track: 3, title: "T" });
    const two = track("d/2.flac", { album: "D", albumArtist: "X", disc: 2, track: 1, title: "U" });
    expect(renderPath(def, one)[2]).toBe("03 - T.flac"); // alone it looks single-disc
    expect(renderPath(def, one, albumValuesOf([one, two]))[2]).toBe("1-03 - T.flac");
  });
});
