import { describe, expect, test } from "bun:test";
import { emptyTags, type FileMeta } from "../../src/core/types.ts";
import { isUserError } from "../../src/core/errors.ts";
import { compileTemplate, renderPath, TEMPLATE_VARIABLES } from "../../src/library/template.ts";
import { DEFAULT_TEMPLATE } from "../../src/config/config.ts";
import { utf8Length } from "../../src/core/names.ts";
import { asOriginId } from "../../src/core/ids.ts";

function file(overrides: Partial<FileMeta> = {}): FileMeta {
  return { ...emptyTags(), originId: asOriginId("o"), realPath: "Some Dir/Some File.flac", size: 1, mtimeMs: 0, format: "flac", ...overrides };
}
const def = compileTemplate(DEFAULT_TEMPLATE);
const full = file({ artist: "Metallica", artists: ["Metallica"], album: "Master of Puppets", year: 1986, track: 1, title: "Battery" });

describe("default template", () => {
  test("full tags", () => {
    expect(renderPath(def, full)).toEqual(["Metallica", "Master of Puppets (1986) [FLAC]", "01 - Battery.flac"]);
  });

  test("AC/DC and Windows-unsafe characters", () => {
    const out = renderPath(def, file({ artist: "AC/DC", album: "Who Made Who?", title: "Test:Track", track: 5, format: "mp3" }));
    expect(out).toEqual(["AC_DC", "Who Made Who_ [MP3]", "05 - Test_Track.mp3"]);
  });

  test("missing year: the section vanishes with its space, no ()", () => {
    const out = renderPath(def, file({ artist: "A", album: "Album", title: "T", track: 2 }));
    expect(out[1]).toBe("Album [FLAC]");
    expect(out.join("/")).not.toContain("()");
  });

  test("nothing known: fallbacks, title from the file name", () => {
    expect(renderPath(def, file())).toEqual(["Unknown Artist", "Unknown Album [FLAC]", "00 - Some File.flac"]);
  });

  test("compilation without album artist → Various Artists; album artist tag wins; else the artist", () => {
    expect(renderPath(def, file({ artist: "X", compilation: true }))[0]).toBe("Various Artists");
    expect(renderPath(def, file({ artist: "X", albumArtist: "Y", compilation: true }))[0]).toBe("Y");
    expect(renderPath(def, file({ artist: "X" }))[0]).toBe("X");
    expect(renderPath(def, file({ artists: ["P", "Q"] }))[0]).toBe("P; Q");
  });

  test("multi-disc albums get disc-track, single-disc albums only the track", () => {
    expect(renderPath(def, file({ title: "T", track: 3, disc: 2, discTotal: 2 }))[2]).toBe("2-03 - T.flac");
    expect(renderPath(def, file({ title: "T", track: 3, disc: 1, discTotal: 2 }))[2]).toBe("1-03 - T.flac");
    expect(renderPath(def, file({ title: "T", track: 3, disc: 1, discTotal: 1 }))[2]).toBe("03 - T.flac");
    expect(renderPath(def, file({ title: "T", track: 3, disc: 2 }))[2]).toBe("2-03 - T.flac"); // disc 2 implies several
    expect(renderPath(def, file({ title: "T", track: 112 }))[2]).toBe("112 - T.flac");
  });

  test("tag values are data: $artist and / in a title stay literal", () => {
    const out = renderPath(def, file({ artist: "A", title: "$artist/$album ${year} $$", track: 1 }));
    expect(out[2]).toBe("01 - $artist_$album ${year} $$.flac");
    expect(out).toHaveLength(3);
  });

  test("dots: '..' and '.' values count as missing; a leading dot is stripped", () => {
    const out = renderPath(def, file({ artist: "..", album: ".", title: ".hidden", track: 1 }));
    expect(out[0]).toBe("Unknown Artist");
    expect(out[1]).toBe("Unknown Album [FLAC]");
    expect(out[2]).toBe("01 - .hidden.flac"); // not leading, so not hidden
    const titleOnly = compileTemplate("$title.$format");
    expect(renderPath(titleOnly, file({ title: ".hidden" }))).toEqual(["hidden.flac"]);
    for (const c of renderPath(titleOnly, file({ title: ".." }))) expect(c.startsWith(".")).toBe(false);
  });

  test("300-byte multi-byte titles are cut to 255 bytes on a character boundary, extension kept", () => {
    const title = "Ölja東京🎵".repeat(30); // 2+6+4 = 12 bytes × 30 = 360 bytes
    const name = renderPath(def, file({ title, track: 7 }))[2];
    expect(utf8Length(name)).toBeLessThanOrEqual(255);
    expect(name.endsWith(".flac")).toBe(true);
    expect(("07 - " + title).startsWith(name.slice(0, -".flac".length))).toBe(true);
    expect(name).not.toContain("\ufffd");
  });

  test("control characters in tags are removed", () => {
    expect(renderPath(def, file({ artist: "Bad\u0000Name\u0007", title: "T\u001bx", track: 1 }))).toEqual([
      "Bad_Name",
      "Unknown Album [FLAC]",
      "01 - Tx.flac",
    ]);
  });

  test("NFD tags give NFC names", () => {
    expect(renderPath(def, file({ artist: "Bjo\u0308rk" }))[0]).toBe("Bj\u00f6rk");
  });
});

describe("sections and custom templates", () => {
  test("reference example: $genre/$artist - $album/$track $title.$format", () => {
    const t = compileTemplate("$genre/$artist - $album/$track $title.$format");
    expect(renderPath(t, file({ genre: "Rock", artist: "Artist", album: "Album", track: 3, title: "Song" }))).toEqual([
      "Rock",
      "Artist - Album",
      "03 Song.flac",
    ]);
  });

  test("a section at the start takes the following space with it", () => {
    const t = compileTemplate("[$genre] $album/$title.$format");
    expect(renderPath(t, file({ album: "Al", title: "T" }))[0]).toBe("Al");
    expect(renderPath(t, file({ album: "Al", title: "T", genre: "Jazz" }))[0]).toBe("[Jazz] Al");
  });

  test("{ } is an optional section without printed braces", () => {
    const t = compileTemplate("$album{ - $year}/$title.$format");
    expect(renderPath(t, file({ album: "Al", title: "T" }))[0]).toBe("Al");
    expect(renderPath(t, file({ album: "Al", title: "T", year: 1999 }))[0]).toBe("Al - 1999");
  });

  test("a section shows when any of its variables has a value; brackets without variables are text", () => {
    const t = compileTemplate("$album ($year, $genre) (Live)/$title.$format");
    expect(renderPath(t, file({ album: "A", title: "T", genre: "Rock" }))[0]).toBe("A (, Rock) (Live)");
    expect(renderPath(t, file({ album: "A", title: "T" }))[0]).toBe("A (Live)");
  });

  test("a folder level that is only a vanished section is left out", () => {
    const t = compileTemplate("$albumartist/[$year]/$album/$title.$format");
    expect(renderPath(t, file({ artist: "A", album: "B", title: "T" }))).toEqual(["A", "B", "T.flac"]);
    expect(renderPath(t, file({ artist: "A", album: "B", title: "T", year: 2001 }))).toEqual(["A", "[2001]", "B", "T.flac"]);
  });

  test("$$ is a dollar; ${name} works; balanced brackets without a variable are text", () => {
    const t = compileTemplate("$album (Live)/${title}x $$ [a].$format");
    expect(renderPath(t, file({ album: "Al", title: "T" }))).toEqual(["Al (Live)", "Tx $ [a].flac"]);
  });

  test("a file name part that renders empty falls back to the origin file's name, extension included", () => {
    const untitled = file({ realPath: "rips/track07.flac" });
    // A vanished optional title used to leave ".flac", shown as a file called "flac".
    expect(renderPath(compileTemplate("[$title].$format"), untitled)).toEqual(["track07.flac"]);
    expect(renderPath(compileTemplate("{$title}.$format"), untitled)).toEqual(["track07.flac"]);
    // A file name with no extension in the template used to fall back to the bare stem ("allnul", "allnul (2)").
    expect(renderPath(compileTemplate("$artist/[$title]"), untitled)).toEqual(["Unknown Artist", "track07.flac"]);
    // A title of invisible characters counts as missing: the title falls back to the file's name.
    expect(renderPath(def, file({ title: "\u200B\u202E\uFEFF" }))[2]).toBe("00 - Some File.flac");
  });

  test("a 601-byte single-grapheme title is shortened, not dropped", () => {
    const title = "a" + "\u0300".repeat(300);
    const name = renderPath(def, file({ title, format: "mp3", realPath: "x.mp3" }))[2];
    expect(name).not.toBe("00 -.mp3");
    expect(name.startsWith("00 - \u00e0\u0300\u0300")).toBe(true);
    expect(name.endsWith(".mp3")).toBe(true);
    expect(utf8Length(name)).toBeLessThanOrEqual(255);
  });

  test("variables are case-insensitive", () => {
    expect(renderPath(compileTemplate("$Artist/$TITLE.$format"), file({ artist: "a", title: "t" }))).toEqual(["a", "t.flac"]);
  });

  test("every documented variable compiles", () => {
    const all = Object.keys(TEMPLATE_VARIABLES).map((v) => `$${v}`).join(" ");
    expect(() => compileTemplate(`${all}/x.$format`)).not.toThrow();
  });
});

describe("validation", () => {
  function errorOf(source: string) {
    try {
      compileTemplate(source);
    } catch (e) {
      if (!isUserError(e)) throw e;
      return e;
    }
    throw new Error(`"${source}" compiled`);
  }

  test("unknown variable names it and lists the valid ones", () => {
    const e = errorOf("$artst/$title.$format");
    expect(e.message).toContain('"$artst"');
    for (const name of Object.keys(TEMPLATE_VARIABLES)) expect(e.message).toContain(`$${name}`);
    expect(errorOf("${nope}.x").message).toContain("$nope");
  });

  test("empty template, empty segment, leading /, trailing /, dot segments, lone $", () => {
    expect(errorOf("  ").message).toContain("empty");
    expect(errorOf("a//$title").message).toContain("empty folder");
    expect(errorOf("/$artist/$title").message).toContain('leading "/"');
    expect(errorOf("$artist/").message).toContain("no file name");
    expect(errorOf("../$title").message).toContain('".."');
    expect(errorOf("$artist/$ x").message).toContain("$$");
    expect(errorOf("${artist").message).toContain("not a variable");
  });

  test("an unbalanced bracket is an error naming its position", () => {
    expect(errorOf("$album ($year").message).toContain('"(" at position 8 is never closed');
    expect(errorOf("$artist/$album Live)/$title.$format").message).toContain('")" at position 20 has no opening bracket');
    expect(errorOf("$artist/([$album)]/$title.$format").message).toContain('")" at position 17 does not close "[" at position 10');
    expect(errorOf("$artist/$title {$year.$format").message).toContain('"{" at position 16 is never closed');
    // Brackets pair up within a folder, not across "/".
    expect(errorOf("$artist ($album/$year)/$title.$format").message).toContain('"(" at position 9 is never closed (a bracket cannot span a "/")');
  });
});

describe("$added", () => {
  const added = compileTemplate("$added/$album/$title.$format");
  test("the month the file came into the library, in UTC (a placement must not depend on the time zone)", () => {
    const lateOnMarch31 = Date.UTC(2026, 2, 31, 23, 30);
    expect(renderPath(added, { ...full, addedAt: lateOnMarch31 })).toEqual(["2026-03", "Master of Puppets", "Battery.flac"]);
    expect(renderPath(added, { ...full, addedAt: Date.UTC(2025, 11, 1) })[0]).toBe("2025-12");
  });
  test("unknown: the fallback outside sections, nothing inside one", () => {
    expect(renderPath(added, full)[0]).toBe("Unknown Date");
    expect(renderPath(compileTemplate("$album{ ($added)}/$title.$format"), full)[0]).toBe("Master of Puppets");
  });
});
