/**
 * Issue 5: changes on the origins reach the mounted tree in the background, without a remount — at the next mount
 * (background delta sync) and live with --watch.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeFlac } from "../../src/sample/flacWriter.ts";
import { silence } from "../../src/sample/tone.ts";
import type { TrackTags } from "../../src/sample/tags.ts";
import { cleanupAll, findFiles, run, startMount, tempDir, QUICK_WATCH_ENV } from "./harness.ts";
import { eventually } from "../support/eventually.ts";
import { holdOpen } from "../support/holder.ts";

afterEach(cleanupAll);
afterAll(cleanupAll);

function put(dir: string, rel: string, tags: TrackTags, seconds = 0.2): void {
  mkdirSync(join(dir, rel, ".."), { recursive: true });
  writeFileSync(join(dir, rel), writeFlac(tags, silence(seconds, 22050, 1)));
}


const album = { artists: ["Moss"], album: "Green", year: 2011 };

describe("delta sync at the next mount", () => {
  test("added, retagged and removed files are applied in the background; the listing updates live", async () => {
    const origin = tempDir();
    put(origin, "1.flac", { ...album, title: "One", track: 1 });
    put(origin, "2.flac", { ...album, title: "Two", track: 2 });
    put(origin, "3.flac", { ...album, title: "Three", track: 3 });
    const mnt = join(tempDir(), "mnt");
    const cache = tempDir();
    const first = await startMount(mnt, ["--origin", origin, "--cache-dir", cache]);
    const albumDir = join(mnt, "Moss", "Green (2011) [FLAC]");
    expect(readdirSync(albumDir).sort()).toEqual(["01 - One.flac", "02 - Two.flac", "03 - Three.flac"]);
    expect(await first.stop()).toBe(0);

    put(origin, "4.flac", { ...album, title: "Four", track: 4 }); // added
    put(origin, "2.flac", { ...album, title: "Deux", track: 2 }, 0.3); // retagged (and a new size)
    rmSync(join(origin, "3.flac")); // removed
    put(origin, "other/5.flac", { artists: ["Fern"], album: "Blue", year: 2012, title: "Five", track: 5 });

    const second = await startMount(mnt, ["--origin", origin, "--cache-dir", cache]);
    const after = await eventually(() => findFiles(mnt), (l) => l.length === 4 && l.some((p) => p.includes("Deux")));
    expect(after).toEqual([
      "Fern/Blue (2012) [FLAC]/05 - Five.flac",
      "Moss/Green (2011) [FLAC]/01 - One.flac",
      "Moss/Green (2011) [FLAC]/02 - Deux.flac",
      "Moss/Green (2011) [FLAC]/04 - Four.flac",
    ]);
    await eventually(() => second.output(), (o) => /Delta sync complete: 2 added, 1 modified, 1 removed, 1 unchanged/.test(o));
    // The retagged file is served with its new content, byte for byte.
    expect((await run(["cmp", join(albumDir, "02 - Deux.flac"), join(origin, "2.flac")])).code).toBe(0);
    // A removed file is a clean ENOENT.
    const gone = await run(["stat", join(albumDir, "03 - Three.flac")]);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain("No such file");
  }, 120_000);
});

describe("--watch", () => {
  test("applies origin changes to an open listing while mounted, and prunes emptied folders", async () => {
    const origin = tempDir();
    put(origin, "a/1.flac", { ...album, title: "One", track: 1 });
    put(origin, "b/1.flac", { artists: ["Lone"], album: "Single", year: 2000, title: "Only", track: 1 });
    const mnt = join(tempDir(), "mnt");
    await startMount(mnt, ["--origin", origin, "--cache-dir", tempDir(), "--watch"], { env: QUICK_WATCH_ENV });
    const albumDir = join(mnt, "Moss", "Green (2011) [FLAC]");
    expect(readdirSync(albumDir)).toEqual(["01 - One.flac"]); // listed (and cached by the kernel) before the change

    put(origin, "a/2.flac", { ...album, title: "Two", track: 2 });
    await eventually(() => readdirSync(albumDir).sort(), (l) => l.length === 2);

    rmSync(join(origin, "b"), { recursive: true });
    await eventually(() => readdirSync(mnt).sort(), (l) => !l.includes("Lone"));
    expect(readdirSync(mnt).filter((n) => !n.startsWith("."))).toEqual(["Moss"]);
  }, 60_000);

  test("a reader of a removed file finishes what it had open; new opens get ENOENT", async () => {
    const origin = tempDir();
    put(origin, "long.flac", { ...album, title: "Long", track: 1 }, 20);
    // Two more tracks stay: an origin losing its only file would look offline and keep it (docs/sync.md).
    put(origin, "2.flac", { ...album, title: "Two", track: 2 });
    put(origin, "3.flac", { ...album, title: "Three", track: 3 });
    const mnt = join(tempDir(), "mnt");
    await startMount(mnt, ["--origin", origin, "--cache-dir", tempDir(), "--watch"], { env: QUICK_WATCH_ENV });
    const file = join(mnt, "Moss", "Green (2011) [FLAC]", "01 - Long.flac");
    const expected = await Bun.file(join(origin, "long.flac")).bytes();
    // Open now, read after the file is gone from the origin and from the tree.
    const reader = await holdOpen(file);
    rmSync(join(origin, "long.flac"));
    await eventually(async () => (await run(["stat", file])).code, (c) => c !== 0);
    const bytes = await reader.readRest();
    expect(new Bun.CryptoHasher("sha256").update(bytes).digest("hex")).toBe(new Bun.CryptoHasher("sha256").update(expected).digest("hex"));
    const cat = await run(["cat", file]);
    expect(cat.stderr).toContain("No such file");
  }, 60_000);
});
