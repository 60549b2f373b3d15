/**
 * Makes music-metadata 12.1.0 cheaper per file, without changing what it returns.
 *
 * Every parse builds a fresh MetadataCollector, which builds every tag mapper; the five case-insensitive ones
 * (ID3v2.2, ID3v2.3/2.4, MP4, APEv2, Matroska) upper-case all keys of their tag maps in their constructor. Profiled
 * on synthetic-2600 that was 25 % of the scan's CPU time. The tag maps are module constants, so we compute each
 * upper-cased map once: the five mapper classes get a parent constructor that caches by map identity (their own
 * methods, including `getCommonName`, are untouched).
 *
 * This reaches into the library's internals (by file path: its package exports hide them), so it is pinned to the
 * version in package.json; test/library/musicMetadataSpeedup.test.ts checks that it is in effect and that tags come
 * out the same. If an upgrade moves these files, the build fails loudly here; delete this module then.
 */
import { APEv2TagMapper } from "../../node_modules/music-metadata/lib/apev2/APEv2TagMapper.js";
import { CaseInsensitiveTagMap } from "../../node_modules/music-metadata/lib/common/CaseInsensitiveTagMap.js";
import { CommonTagMapper } from "../../node_modules/music-metadata/lib/common/GenericTagMapper.js";
import { ID3v22TagMapper } from "../../node_modules/music-metadata/lib/id3v2/ID3v22TagMapper.js";
import { ID3v24TagMapper } from "../../node_modules/music-metadata/lib/id3v2/ID3v24TagMapper.js";
import { MatroskaTagMapper } from "../../node_modules/music-metadata/lib/matroska/MatroskaTagMapper.js";
import { MP4TagMapper } from "../../node_modules/music-metadata/lib/mp4/MP4TagMapper.js";

type TagMap = Record<string, string>;

const upperCased = new WeakMap<object, TagMap>();
let cachedMaps = 0;

/** Same construction result as CaseInsensitiveTagMap's constructor, computed once per tag map. */
class CachedCaseInsensitiveTagMap extends CommonTagMapper {
  constructor(tagTypes: string[], tagMap: TagMap) {
    let upper = upperCased.get(tagMap);
    if (!upper) {
      upper = {};
      for (const tag of Object.keys(tagMap)) upper[tag.toUpperCase()] = tagMap[tag];
      upperCased.set(tagMap, upper);
      cachedMaps++;
    }
    super(tagTypes as never, upper as never);
  }
}

const MAPPERS = [APEv2TagMapper, ID3v22TagMapper, ID3v24TagMapper, MatroskaTagMapper, MP4TagMapper];

let installed = false;

/** Installs the cache (idempotent). Returns whether it is in effect. */
export function installMusicMetadataSpeedup(): boolean {
  if (installed) return true;
  // Only redirect classes that still have the shape we know: a direct subclass of CaseInsensitiveTagMap.
  if (!MAPPERS.every((m) => Object.getPrototypeOf(m) === CaseInsensitiveTagMap)) return false;
  for (const mapper of MAPPERS) Object.setPrototypeOf(mapper, CachedCaseInsensitiveTagMap);
  installed = true;
  return true;
}

/** For the test: how many tag maps have been upper-cased through the cache (≤ 5 however many files are parsed). */
export function cachedTagMapCount(): number {
  return cachedMaps;
}
