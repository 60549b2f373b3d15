import { expect, test } from "bun:test";
import { join } from "node:path";
import type { FileMeta } from "../../src/core/types.ts";
import { extensionOf } from "../../src/library/audioFormats.ts";
import { openFileBytes } from "../../src/library/headTailReader.ts";
import { readTags } from "../../src/library/tagReader.ts";
import { compileTemplate, renderPath } from "../../src/library/template.ts";
import { DEFAULT_TEMPLATE } from "../../src/config/config.ts";
import { corpusDescribe, loadManifest, type ManifestRow, SYNTHETIC } from "./corpus.ts";
import { asOriginId } from "../../src/core/ids.ts";

/**
 * The path the default template must give, written from the manifest's fields alone:
 * albumartist / album (year) [EXT] / [disc-]track - title.ext. (The manifest's values contain no characters that
 * sanitising changes, which the first assertion checks.)
 */
function expectedPath(row: ManifestRow): string {
  const ext = row.path.slice(row.path.lastIndexOf(".") + 1).toLowerCase();
  const track = String(row.track).padStart(2, "0");
  const number = row.disctotal > 1 ? `${row.disc}-${track}` : track;
  return `${row.albumartist}/${row.album} (${row.year}) [${ext.toUpperCase()}]/${number} - ${row.title}.${ext}`;
}

corpusDescribe("synthetic-2600 under the default template", () => {
  test("every file lands where its manifest tags say, with no collisions", async () => {
    const rows = loadManifest();
    for (const row of rows) {
      for (const value of [row.albumartist, row.album, row.title]) expect(value).toMatch(/^[^/\\:*?"<>|.\s][^/\\:*?"<>|]*$/);
    }
    const template = compileTemplate(DEFAULT_TEMPLATE);
    const wrong: string[] = [];
    const requests = [];
    for (const row of rows) {
      const ext = extensionOf(row.path);
      const file = openFileBytes(join(SYNTHETIC, row.path), ext);
      const tags = await readTags(file.source, ext);
      file.close();
      const meta: FileMeta = { originId: asOriginId("syn"), realPath: row.path, size: file.source.size, mtimeMs: 0, format: ext, ...tags };
      const path = renderPath(template, meta);
      if (path.join("/") !== expectedPath(row)) wrong.push(`${path.join("/")} ≠ ${expectedPath(row)}`);
      requests.push({ id: row.path, desired: path });
    }
    expect(wrong.slice(0, 10)).toEqual([]);
    // All 2,600 paths are distinct: the tree will not need to suffix any of them (test/e2e checks the mount).
    expect(new Set(requests.map((r) => r.desired.join("/"))).size).toBe(requests.length);
    // Compilations sit under "Various Artists"; multi-disc albums carry disc-track numbers.
    expect(rows.filter((r) => r.compilation).every((r) => expectedPath(r).startsWith("Various Artists/"))).toBe(true);
    expect(rows.some((r) => r.disctotal > 1 && /\/2-\d\d - /.test(expectedPath(r)))).toBe(true);
  }, 120_000);
});
