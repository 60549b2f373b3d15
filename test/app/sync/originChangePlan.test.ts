import { describe, expect, test } from "bun:test";
import { planOriginChange } from "../../../src/app/sync/originReconcile.ts";
import type { OriginConfig } from "../../../src/config/config.ts";
import { asOriginId } from "../../../src/core/ids.ts";

const folder = (id: string, path: string): OriginConfig => ({ id: asOriginId(id), path, cache: "off", priority: 0 });
const music = folder("music", "/srv/music");

describe("planOriginChange: which origins are tried before a changed list is applied", () => {
  test("the same origins: nothing to try, nothing leaves", () => {
    expect(planOriginChange([music], [music], new Map([[asOriginId("music"), 5]]))).toEqual({ fresh: [], leaving: [] });
  });

  test("a mistyped folder replacing the library: it is tried, and the files it would cost are named", () => {
    const typo = folder("musik", "/srv/musik");
    expect(planOriginChange([typo], [music], new Map([[asOriginId("music"), 5]]))).toEqual({ fresh: [typo], leaving: [{ id: asOriginId("music"), where: music, files: 5 }] });
  });

  test("a new id for the same folder is a rename: nothing tried, nothing leaves", () => {
    const renamed = folder("library", "/srv/music");
    expect(planOriginChange([renamed], [music], new Map([[asOriginId("music"), 5]]))).toEqual({ fresh: [], leaving: [] });
  });

  test("the same id at another place: tried, and its stored files are at stake", () => {
    const moved = folder("music", "/srv/typo");
    expect(planOriginChange([moved], [music], new Map([[asOriginId("music"), 5]]))).toEqual({ fresh: [moved], leaving: [{ id: asOriginId("music"), where: music, files: 5 }] });
  });

  test("an origin added next to the library: tried, nothing leaves", () => {
    const more = folder("more", "/srv/more");
    expect(planOriginChange([music, more], [music], new Map([[asOriginId("music"), 5]]))).toEqual({ fresh: [more], leaving: [] });
  });

  test("no origins.json (an older cache dir): a stored id is known, others are tried", () => {
    const typo = folder("musik", "/srv/musik");
    expect(planOriginChange([music], null, new Map([[asOriginId("music"), 5]]))).toEqual({ fresh: [], leaving: [] });
    expect(planOriginChange([typo], null, new Map([[asOriginId("music"), 5]]))).toEqual({ fresh: [typo], leaving: [{ id: asOriginId("music"), where: undefined, files: 5 }] });
  });
});
