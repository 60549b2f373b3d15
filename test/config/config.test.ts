import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig, originIdForPath, parseConfigText, parseSize, DEFAULT_TEMPLATE, isS3Origin, BUILT_IN_VIEWS } from "../../src/config/config.ts";
import { validateLibraryConfig } from "../../src/app/library/libraryConfig.ts";
import { UserError } from "../../src/core/errors.ts";
import { asOriginId } from "../../src/core/ids.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function configFile(text: string): string {
  const d = mkdtempSync(join(tmpdir(), "musicfs-config-"));
  dirs.push(d);
  writeFileSync(join(d, "config.toml"), text);
  return join(d, "config.toml");
}
function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return (e as UserError).message + " " + ((e as UserError).hint ?? "");
  }
  throw new Error("expected a UserError");
}

describe("config file", () => {
  test("a full file is read, with ~ expanded and defaults filled in", () => {
    const c = parseConfigText(
      `mount_point = "~/MusicView"\n[[origins]]\nid = "nas"\npath = "/srv/music"\ncache = "full"\n[cache]\nmax_size = "2GiB"\nread_timeout_ms = 1500\nscrub_rate = "1MiB"\n[sync]\nwatch = true\ninterval_secs = 600\n`,
      "x.toml",
    );
    expect(c.mountPoint).toBe(join(process.env.HOME!, "MusicView"));
    expect(c.origins).toEqual([{ id: asOriginId("nas"), path: "/srv/music", cache: "full", priority: 0 }]);
    expect(c.cache).toEqual({ maxBytes: 2 * 1024 ** 3, readTimeoutMs: 1500, minFree: null, scrubBytesPerSec: 1024 ** 2 });
    expect(c.sync).toEqual({ watch: true, intervalS: 600, offlineRetryS: 60 });
    expect(c.template).toBe(DEFAULT_TEMPLATE);
  });

  test("[cache] min_free takes a size or a percentage; anything else names the key", () => {
    expect(parseConfigText(`[cache]\nmin_free = "2GiB"\n`, "f").cache.minFree).toEqual({ bytes: 2 * 1024 ** 3 });
    expect(parseConfigText(`[cache]\nmin_free = "2.5 %"\n`, "f").cache.minFree).toEqual({ percent: 2.5 });
    expect(parseConfigText(`[cache]\nmin_free = 0\n`, "f").cache.minFree).toEqual({ bytes: 0 });
    for (const bad of [`"150%"`, `"lots"`, `-1`, `"5 parsecs"`]) {
      const m = messageOf(() => parseConfigText(`[cache]\nmin_free = ${bad}\n`, "f"));
      expect(m).toContain("cache.min_free");
      expect(m).toContain(`"5%"`);
    }
  });

  test("mistakes are errors that name the key and what is expected", () => {
    expect(messageOf(() => parseConfigText(`mount_piont = "/x"`, "f"))).toContain("mount_piont");
    expect(messageOf(() => parseConfigText(`[[origins]]\nid = "a"\n`, "f"))).toContain("origins[0].path");
    expect(messageOf(() => parseConfigText(`[[origins]]\npath = "/a"\ncache = "yes"\n`, "f"))).toContain("origins[0].cache");
    expect(messageOf(() => parseConfigText(`[cache]\nmax_size = "lots"\n`, "f"))).toContain("cache.max_size");
    expect(messageOf(() => parseConfigText(`[sync]\nwatch = "yes"\n`, "f"))).toContain("sync.watch");
    expect(messageOf(() => parseConfigText(`[[origins]]\nid="a"\npath="/a"\n[[origins]]\nid="a"\npath="/b"\n`, "f"))).toContain('"a"');
    expect(messageOf(() => parseConfigText(`this is = not toml =`, "/etc/m.toml"))).toContain("/etc/m.toml");
  });

  test('special_dirs: hidden by default, "visible" shows them, anything else names the key', () => {
    expect(parseConfigText("", "f").specialDirs).toBe("hidden");
    expect(parseConfigText(`special_dirs = "visible"`, "f").specialDirs).toBe("visible");
    expect(loadConfig({ configPath: configFile(`special_dirs = "visible"`) }, {}).specialDirs).toBe("visible");
    expect(messageOf(() => parseConfigText(`special_dirs = "shown"`, "f"))).toContain("special_dirs");
  });

  test('cover: "cover" by default, a name without extension, false or "none" for none; bad values name the key', () => {
    expect(parseConfigText("", "f").cover).toBe("cover");
    expect(parseConfigText(`cover = "folder"`, "f").cover).toBe("folder");
    expect(parseConfigText(`cover = false`, "f").cover).toBeNull();
    expect(parseConfigText(`cover = "none"`, "f").cover).toBeNull();
    expect(loadConfig({ configPath: configFile(`cover = "folder"`), cover: "none" }, {}).cover).toBeNull(); // --cover wins
    expect(loadConfig({ configPath: configFile(`cover = false`) }, {}).cover).toBeNull();
    expect(messageOf(() => parseConfigText(`cover = "folder.jpg"`, "f"))).toContain("without extension");
    expect(messageOf(() => parseConfigText(`cover = 3`, "f"))).toContain("Config key cover");
    expect(messageOf(() => parseConfigText(`cover = "a/b"`, "f"))).toContain("plain file name");
    expect(messageOf(() => loadConfig({ cover: "" }, {}))).toContain("--cover");
  });

  test("[[view]]: none by default; name and template; built-in views by name alone; bad views name the key", () => {
    expect(parseConfigText("", "f").views).toEqual([]);
    const views = parseConfigText(
      `[[view]]\nname = "By Composer"\ntemplate = "$composer/$album/$title.$format"\n[[view]]\nname = "Years"\n[[view]]\nname = "Recently Added"\n`,
      "f",
    ).views;
    expect(views).toEqual([
      { name: "By Composer", template: "$composer/$album/$title.$format" },
      { name: "Years", template: BUILT_IN_VIEWS.Years },
      { name: "Recently Added", template: BUILT_IN_VIEWS["Recently Added"] },
    ]);
    expect(loadConfig({ configPath: configFile(`[[view]]\nname = "Genres"\n`) }, {}).views).toEqual([{ name: "Genres", template: BUILT_IN_VIEWS.Genres }]);
    const bad = (toml: string) => messageOf(() => parseConfigText(toml, "f"));
    expect(bad(`[[view]]\nname = "Genres"\n[[view]]\nname = "Genres"\n`)).toContain("two views are named \"Genres\"");
    expect(bad(`[[view]]\nname = ".search"\n`)).toContain("view[0].name \".search\" is the mount's special directory");
    expect(bad(`[[view]]\nname = "A/B"\ntemplate = "$title.$format"\n`)).toContain("view[0].name \"A/B\" is not a plain folder name");
    expect(bad(`[[view]]\nname = ".hidden"\ntemplate = "$title.$format"\n`)).toContain("not a plain folder name");
    expect(bad(`[[view]]\nname = " Pad"\ntemplate = "$title.$format"\n`)).toContain("not a plain folder name");
    expect(bad(`[[view]]\nname = "Mine"\n`)).toContain("view[0].template is missing");
    expect(bad(`[[view]]\ntemplate = "$title.$format"\n`)).toContain("view[0].name is missing");
    expect(bad(`[[view]]\nname = "Mine"\nsort = "x"\n`)).toContain("Unknown config key view[0].sort");
    expect(bad(`view = "Genres"`)).toContain("Config key view must be an array of tables");
  });

  test("a view's bad template is an error naming the key, before anything is mounted", () => {
    const config = loadConfig({ configPath: configFile(`[[view]]\nname = "Genres"\n[[view]]\nname = "Mine"\ntemplate = "$genre/$nope.$format"\n`) }, {});
    const message = messageOf(() => validateLibraryConfig(config));
    expect(message).toContain('Config key view[1].template (view "Mine")');
    expect(message).toContain('unknown variable "$nope"');
  });

  test("flags override the file; --origin replaces its origins; a missing --config file is an error", () => {
    const file = configFile(`cache_dir = "/var/cache/m"\ntemplate = "$artist/$title.$format"\n[[origins]]\nid = "a"\npath = "/a"\n`);
    const c = loadConfig({ configPath: file, origins: ["/b"], cacheMode: "full" }, {});
    expect(c.cacheDir).toBe("/var/cache/m");
    expect(c.template).toBe("$artist/$title.$format");
    expect(c.origins).toEqual([{ id: originIdForPath("/b"), path: "/b", cache: "full", priority: 0 }]);
    expect(loadConfig({ configPath: file, cacheDir: "/c" }, {}).cacheDir).toBe("/c");
    expect(loadConfig({ configPath: file }, { MUSICFS_CACHE_DIR: "/env" }).cacheDir).toBe("/env");
    expect(messageOf(() => loadConfig({ configPath: "/nonexistent/config.toml" }, {}))).toContain("does not exist");
  });

  test("an origin given as a path keeps the same id across runs, different folders get different ids", () => {
    expect(originIdForPath("/home/a/Music")).toBe(originIdForPath("/home/a/Music"));
    expect(originIdForPath("/home/a/Music")).not.toBe(originIdForPath("/home/b/Music"));
    expect(originIdForPath("/home/a/Music")).toMatch(/^Music-[0-9a-f]{8}$/);
  });

  test("origin ids: letters, digits, . _ -, never . or ..; the error names the key", () => {
    for (const bad of ["..", ".", "a/b", "my music", ""]) {
      const m = messageOf(() => parseConfigText(`[[origins]]\nid = "${bad}"\npath = "/a"\n`, "f"));
      expect(m).toContain("origins[0].id");
    }
    expect(parseConfigText(`[[origins]]\nid = "nas.v2_x-1"\npath = "/a"\n`, "f").origins[0].id).toBe(asOriginId("nas.v2_x-1"));
  });

  test("accept_removals: an origin's removals are applied even when it looks offline; must be true or false", () => {
    expect(parseConfigText(`[[origins]]\npath = "/a"\naccept_removals = true\n`, "f").origins[0].acceptRemovals).toBe(true);
    expect(parseConfigText(`[[origins]]\npath = "/a"\n`, "f").origins[0].acceptRemovals).toBeUndefined();
    expect(messageOf(() => parseConfigText(`[[origins]]\npath = "/a"\naccept_removals = "yes"\n`, "f"))).toContain("origins[0].accept_removals");
  });

  test("the same folder given twice (trailing slash, ~, a symlink to it) is one origin, the first", () => {
    const d = mkdtempSync(join(tmpdir(), "musicfs-config-"));
    dirs.push(d);
    mkdirSync(join(d, "Music"));
    symlinkSync(join(d, "Music"), join(d, "link"));
    const c = loadConfig({ origins: [join(d, "Music"), `${join(d, "Music")}/`, join(d, "link"), join(d, "x", "..", "Music")] }, { HOME: d });
    expect(c.origins.map((o) => (isS3Origin(o) ? o.url : o.path))).toEqual([join(d, "Music")]);
    const file = configFile(`[[origins]]\nid = "a"\npath = "${join(d, "Music")}"\n[[origins]]\nid = "b"\npath = "${join(d, "link")}"\n`);
    expect(loadConfig({ configPath: file }, {}).origins.map((o) => o.id)).toEqual(["a"].map(asOriginId));
  });

  test("sizes", () => {
    expect(parseSize("10GiB", "k")).toBe(10 * 1024 ** 3);
    expect(parseSize("500 MB", "k")).toBe(500 * 1024 ** 2);
    expect(parseSize(4096, "k")).toBe(4096);
    expect(() => parseSize("-1", "k")).toThrow(UserError);
  });
});

describe("S3 origins in the config", () => {
  test("config.toml takes no secrets: a key named like one, or a URL with credentials, is refused without repeating it", () => {
    const secretKey = messageOf(() => parseConfigText(`[[origins]]\nurl = "s3://music"\naws_secret_access_key = "topsecret"\n`, "x.toml"));
    expect(secretKey).toContain("origins[0].aws_secret_access_key");
    expect(secretKey).toContain("credentials_file");
    const inUrl = messageOf(() => parseConfigText(`[[origins]]\nurl = "s3://AK:topsecret@music"\n`, "x.toml"));
    expect(inUrl).toContain("holds credentials");
    const inEndpoint = messageOf(() => parseConfigText(`[[origins]]\nurl = "s3://music"\nendpoint = "https://AK:topsecret@nas"\n`, "x.toml"));
    expect(inEndpoint).toContain("origins[0].endpoint");
    for (const m of [secretKey, inUrl, inEndpoint]) expect(m).not.toContain("topsecret");
  });
  test("url with endpoint, region, path style, credentials file; cached by default; no secret kept", () => {
    const c = parseConfigText(
      `[[origins]]\nurl = "s3://music/FLAC"\nendpoint = "http://127.0.0.1:7480/"\nregion = "eu-1"\npath_style = true\ncredentials_file = "/etc/musicfs/s3"\nmax_requests = 8\n`,
      "x.toml",
    );
    const o = c.origins[0];
    expect(o).toMatchObject({ kind: "s3", url: "s3://music/FLAC", bucket: "music", prefix: "FLAC/", endpoint: "http://127.0.0.1:7480", region: "eu-1", pathStyle: true, credentialsFile: "/etc/musicfs/s3", maxRequests: 8, cache: "full" });
    expect(o.id).toMatch(/^music-[0-9a-f]{8}$/);
    expect(JSON.stringify(o)).not.toMatch(/secret_access|aws_secret/i);
  });
  test("--origin s3://… on the command line is an S3 origin, cached", () => {
    const c = loadConfig({ origins: ["s3://bucket/a b"] }, {});
    expect(c.origins[0]).toMatchObject({ kind: "s3", bucket: "bucket", prefix: "a b/", cache: "full" });
  });
  test("mistakes are named: cache off, a path key on an S3 origin, a bad URL, a bad endpoint", () => {
    expect(messageOf(() => parseConfigText(`[[origins]]\nurl = "s3://music"\ncache = "off"\n`, "x"))).toContain("always read through the content cache");
    expect(messageOf(() => parseConfigText(`[[origins]]\nurl = "s3://music"\npath = "/x"\n`, "x"))).toContain("Unknown config key origins[0].path");
    expect(messageOf(() => parseConfigText(`[[origins]]\nurl = "http://music"\n`, "x"))).toContain("must be an s3:// URL");
    expect(messageOf(() => parseConfigText(`[[origins]]\nurl = "s3://music"\nendpoint = "minio:9000"\n`, "x"))).toContain("origins[0].endpoint");
    expect(messageOf(() => parseConfigText(`[[origins]]\npath = "/x"\nendpoint = "http://a"\n`, "x"))).toContain("Unknown config key origins[0].endpoint");
    expect(messageOf(() => loadConfig({ origins: ["s3://music"], cacheMode: "off" }, {}))).toContain("always read through the content cache");
  });
});
