/**
 * config.toml's keys are written once, in src/config/configKeys.ts: the README's reference is generated from that
 * table (`bun run config-reference`) and the parser's unknown-key check takes its key lists from it.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfigText } from "../../src/config/config.ts";
import { CACHE_KEYS, configReference, keyNames, LOCAL_ORIGIN_KEYS, ROOT_KEYS, S3_ORIGIN_KEYS, SYNC_KEYS, VIEW_KEYS, type Section } from "../../src/config/configKeys.ts";
import { BEGIN, END, withReference } from "../../scripts/configReference.ts";
import { REPO } from "../support/paths.ts";

test("the README's config reference is the one generated from the key table (run `bun run config-reference`)", () => {
  const readme = readFileSync(join(REPO, "README.md"), "utf8");
  expect(readme).toContain(BEGIN);
  expect(readme).toContain(END);
  expect(withReference(readme, configReference())).toBe(readme);
  for (const name of keyNames(S3_ORIGIN_KEYS)) expect(configReference()).toContain(`| \`${name}\` |`);
});

/** The hint of the unknown-key error of a config text: the keys the parser knows at that place. */
function knownKeysAt(text: string): string[] {
  try {
    parseConfigText(text, "test.toml");
  } catch (e) {
    const hint = String((e as { hint?: unknown }).hint ?? "");
    const m = /Known keys here: (.*)\.$/.exec(hint);
    if (m) return m[1]!.split(", ");
    throw new Error(`not an unknown-key error: ${(e as Error).message} ${hint}`);
  }
  throw new Error("the config was accepted");
}

test.each<[string, string, Section]>([
  ["top level", "nonsense = 1", ROOT_KEYS],
  ["[cache]", "[cache]\nnonsense = 1", CACHE_KEYS],
  ["[sync]", "[sync]\nnonsense = 1", SYNC_KEYS],
  ["[[origins]] with path", '[[origins]]\npath = "/music"\nnonsense = 1', LOCAL_ORIGIN_KEYS],
  ["[[origins]] with url", '[[origins]]\nurl = "s3://bucket/music"\nnonsense = 1', S3_ORIGIN_KEYS],
  ["[[view]]", '[[view]]\nname = "Years"\nnonsense = 1', VIEW_KEYS],
])("the unknown-key check at %s knows exactly the table's keys", (_, text, section) => {
  expect(knownKeysAt(text)).toEqual(keyNames(section));
});

test("with no config file every value is the table's default", () => {
  const c = parseConfigText("", "empty.toml");
  expect(c.template).toBe(ROOT_KEYS.template.default);
  expect(c.specialDirs).toBe(ROOT_KEYS.special_dirs.default);
  expect(c.cover).toBe(ROOT_KEYS.cover.default);
  expect(c.cache).toEqual({ maxBytes: CACHE_KEYS.max_size.default, readTimeoutMs: CACHE_KEYS.read_timeout_ms.default, minFree: null, scrubBytesPerSec: CACHE_KEYS.scrub_rate.default });
  expect(c.sync).toEqual({ watch: SYNC_KEYS.watch.default, intervalS: SYNC_KEYS.interval_secs.default, offlineRetryS: SYNC_KEYS.offline_retry_secs.default });
  const s3 = parseConfigText('[[origins]]\nurl = "s3://bucket/music"', "s3.toml").origins[0]!;
  expect(s3).toMatchObject({ maxRequests: S3_ORIGIN_KEYS.max_requests.default, requestTimeoutMs: S3_ORIGIN_KEYS.request_timeout_ms.default });
});
