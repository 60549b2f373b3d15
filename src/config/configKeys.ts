/**
 * Every key of config.toml, once: its type, default, bounds and what it does. The parser (config.ts) reads keys
 * through this table, the unknown-key check takes its key lists from it, and the README's config reference is
 * generated from it (configReference(); a test checks the README holds exactly that text).
 */

/** How a key's value is read and checked (the messages are config.ts's). */
export type KeySpec =
  | { type: "string"; default: string | null; defaultText?: string; doc: string }
  /** A path: "~" is expanded, relative paths are taken from the current directory. */
  | { type: "path"; default: null; defaultText?: string; doc: string }
  | { type: "bool"; default: boolean | null; defaultText?: string; doc: string }
  | { type: "number"; min: number; default: number | null; defaultText?: string; doc: string }
  /** A size: a number of bytes or a string such as "10GiB", "500MB". */
  | { type: "size"; default: number; defaultText: string; doc: string }
  /** A size, or a share of a file system such as "5%". */
  | { type: "sizeOrPercent"; default: null; defaultText: string; doc: string }
  | { type: "enum"; values: readonly string[]; default: string; doc: string }
  /** A file name without extension, or false / "none" for none. */
  | { type: "fileStem"; default: string; doc: string }
  | { type: "table"; doc: string }
  | { type: "tables"; doc: string };

export type Section = Readonly<Record<string, KeySpec>>;

/** The main tree's layout: one folder per album, with album-level year and formats, so tracks of one album never
 *  split over two folders. */
const DEFAULT_TEMPLATE_TEXT = "$albumartist/$album ($albumyear) [$albumformat]/$disctrack - $title.$format";

export const ROOT_KEYS = {
  mount_point: { type: "path", default: null, defaultText: "none (give MOUNTPOINT)", doc: "Where `musicfs mount` mounts when no MOUNTPOINT is given." },
  cache_dir: {
    type: "path",
    default: null,
    defaultText: "`$MUSICFS_CACHE_DIR`, else `$XDG_CACHE_HOME/musicfs`",
    doc: "The library's database, content cache and state.",
  },
  template: { type: "string", default: DEFAULT_TEMPLATE_TEXT, doc: "The path template of the main tree (docs/templates.md)." },
  playlists_folder: {
    type: "bool",
    default: false,
    doc: "Show a `Playlists` folder at the root with every collection's `.m3u8` (and `Pinned.m3u8`), for players that look for playlists in the library.",
  },
  metrics: {
    type: "string",
    default: null,
    defaultText: "off",
    doc: 'Serve Prometheus metrics at this loopback address, e.g. `"127.0.0.1:9464"` (GET /metrics; docs/metrics.md lists them).',
  },
  allow_other: { type: "bool", default: false, doc: "Let other users read the mount (needs `user_allow_other` in /etc/fuse.conf)." },
  special_dirs: {
    type: "enum",
    values: ["hidden", "visible"],
    default: "hidden",
    doc: "`/.search` and `/.collections`: reachable by name but not listed, or listed.",
  },
  cover: {
    type: "fileStem",
    default: "cover",
    doc: 'Each album folder\'s cover file, without extension (`"folder"` → folder.jpg); false for none.',
  },
  view: { type: "tables", doc: "Extra top-level folders, each laid out by its own template (`[[view]]`, below)." },
  origins: { type: "tables", doc: "The music: local folders and S3 buckets (`[[origins]]`, below)." },
  cache: { type: "table", doc: "The content cache (`[cache]`, below)." },
  sync: { type: "table", doc: "Keeping the library in step with the origins (`[sync]`, below)." },
} as const satisfies Section;

export const CACHE_KEYS = {
  max_size: { type: "size", default: 10 * 1024 ** 3, defaultText: '"10GiB"', doc: "Cap of the content cache (least recently used content is evicted)." },
  read_timeout_ms: {
    type: "number",
    min: 1,
    default: 30_000,
    doc: "An uncached read of an unreachable origin fails (EIO) after this many milliseconds.",
  },
  min_free: {
    type: "sizeOrPercent",
    default: null,
    defaultText: "5 % of the disk or 1 GiB, the smaller",
    doc: 'Free space eviction keeps on the cache\'s disk: a size, or a share such as "5%".',
  },
  scrub_rate: {
    type: "size",
    default: 2 * 1024 * 1024,
    defaultText: '"2MiB"',
    doc: "How fast complete cached files are re-checked in the background, per second (0: never).",
  },
} as const satisfies Section;

export const SYNC_KEYS = {
  watch: { type: "bool", default: false, doc: "Watch local origins (inotify) and apply changes within seconds." },
  interval_secs: { type: "number", min: 0, default: 0, doc: "Also re-sync everything every this many seconds (0: only at mount)." },
  offline_retry_secs: { type: "number", min: 0.1, default: 60, doc: "A sync that found an origin unreachable tries again after this many seconds." },
} as const satisfies Section;

const ORIGIN_ID = {
  type: "string",
  default: null,
  defaultText: "derived from the path (or bucket)",
  doc: "A stable id: letters, digits, `.`, `_`, `-`; not `.` or `..`.",
} as const satisfies KeySpec;
const ORIGIN_PRIORITY = {
  type: "number",
  min: 0,
  default: null,
  defaultText: "its position in the list",
  doc: "Lower wins when two origins hold the same track (placement order).",
} as const satisfies KeySpec;
const ORIGIN_ACCEPT_REMOVALS = {
  type: "bool",
  default: false,
  doc: "Apply removals even when the origin looks offline (emptied, unmounted).",
} as const satisfies KeySpec;

/** `[[origins]]` with `path`: a local folder. */
export const LOCAL_ORIGIN_KEYS = {
  id: ORIGIN_ID,
  path: { type: "path", default: null, defaultText: "required", doc: "The folder." },
  cache: {
    type: "enum",
    values: ["off", "full"],
    default: "off",
    doc: '`"full"`: read through the content cache (fetched once, plays offline); `"off"`: read directly.',
  },
  priority: ORIGIN_PRIORITY,
  accept_removals: ORIGIN_ACCEPT_REMOVALS,
} as const satisfies Section;

/** `[[origins]]` with `url`: an S3 bucket and prefix (always cached; docs/origins.md). */
export const S3_ORIGIN_KEYS = {
  id: ORIGIN_ID,
  cache: { type: "enum", values: ["off", "full"], default: "full", doc: 'Always `"full"` for S3 origins.' },
  priority: ORIGIN_PRIORITY,
  accept_removals: ORIGIN_ACCEPT_REMOVALS,
  url: { type: "string", default: null, defaultText: "required", doc: "`s3://BUCKET/PREFIX`." },
  endpoint: { type: "string", default: null, defaultText: "`AWS_ENDPOINT_URL`, else AWS", doc: "An http:// or https:// URL of an S3-compatible store." },
  region: { type: "string", default: null, defaultText: "`AWS_REGION`, else us-east-1", doc: "The bucket's region." },
  path_style: {
    type: "bool",
    default: null,
    defaultText: "true with a custom endpoint, else false",
    doc: "Bucket in the URL path (true) or in the host name (false).",
  },
  credentials_file: { type: "path", default: null, defaultText: "none", doc: "An AWS INI credentials file (mode 600) for this origin." },
  profile: { type: "string", default: null, defaultText: "`AWS_PROFILE`, else default", doc: "The profile in the credentials file or ~/.aws." },
  ca_file: { type: "path", default: null, defaultText: "none", doc: "Extra CA certificates (PEM) to trust for an https endpoint with a private CA." },
  max_requests: { type: "number", min: 1, default: 32, doc: "Requests in flight at most." },
  request_timeout_ms: { type: "number", min: 1, default: 15_000, doc: "Bound on each request, in milliseconds (a stalled one is retried)." },
} as const satisfies Section;

/** `[[view]]`: docs/templates.md, "Views". */
export const VIEW_KEYS = {
  name: { type: "string", default: null, defaultText: "required", doc: "The folder at the mount's root (a plain folder name, unique)." },
  template: {
    type: "string",
    default: null,
    defaultText: "required, except for the built-in views Genres, Years, Recently Added",
    doc: "The view's path template.",
  },
} as const satisfies Section;

/** The sections in the order the reference lists them, with the heading each is written under in config.toml. */
export const SECTIONS: readonly { heading: string; keys: Section }[] = [
  { heading: "top level", keys: ROOT_KEYS },
  { heading: "[cache]", keys: CACHE_KEYS },
  { heading: "[sync]", keys: SYNC_KEYS },
  { heading: "[[origins]] with path (a local folder)", keys: LOCAL_ORIGIN_KEYS },
  { heading: "[[origins]] with url (an S3 bucket)", keys: S3_ORIGIN_KEYS },
  { heading: "[[view]]", keys: VIEW_KEYS },
];

/** The key names of a section, for the unknown-key check. */
export function keyNames(section: Section): string[] {
  return Object.keys(section);
}

function typeText(spec: KeySpec): string {
  switch (spec.type) {
    case "string":
      return "string";
    case "path":
      return "path";
    case "bool":
      return "true/false";
    case "number":
      return `number ≥ ${spec.min}`;
    case "size":
      return 'size ("10GiB")';
    case "sizeOrPercent":
      return 'size or "N%"';
    case "enum":
      return spec.values.map((v) => `"${v}"`).join(" or ");
    case "fileStem":
      return "name or false";
    case "table":
      return "table";
    case "tables":
      return "array of tables";
  }
}

function defaultText(spec: KeySpec): string {
  if (spec.type === "table" || spec.type === "tables") return "—";
  if ("defaultText" in spec && spec.defaultText !== undefined) return spec.defaultText;
  if (spec.default === null) return "none";
  return typeof spec.default === "string" ? `\`"${spec.default}"\`` : `\`${spec.default}\``;
}

/** The config reference of the README (between its config-reference markers), generated from the table. */
export function configReference(): string {
  const out: string[] = [];
  for (const { heading, keys } of SECTIONS) {
    out.push(`**${heading}**`, "", "| key | type | default | what |", "|---|---|---|---|");
    for (const [name, spec] of Object.entries(keys)) out.push(`| \`${name}\` | ${typeText(spec)} | ${defaultText(spec)} | ${spec.doc} |`);
    out.push("");
  }
  return out.join("\n");
}
