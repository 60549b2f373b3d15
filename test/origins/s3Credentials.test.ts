import { describe, expect, test } from "bun:test";
import { parseIni, readableByOthers, resolveS3Settings } from "../../src/origins/s3Credentials.ts";

/** A fake file system: path → [text, mode]. */
function files(map: Record<string, [string, number]>) {
  return { read: (p: string) => map[p]?.[0] ?? null, mode: (p: string) => map[p]?.[1] ?? null };
}
const HOME = "/home/u";
const URL = "s3://music";

describe("S3 credentials from the usual places", () => {
  test("environment variables, with region and endpoint", () => {
    const s = resolveS3Settings(URL, {}, { AWS_ACCESS_KEY_ID: "AK", AWS_SECRET_ACCESS_KEY: "SK", AWS_SESSION_TOKEN: "TOK", AWS_REGION: "eu-west-1", AWS_ENDPOINT_URL: "http://127.0.0.1:9000/" }, files({}), HOME);
    expect(s.credentials).toEqual({ accessKeyId: "AK", secretAccessKey: "SK", sessionToken: "TOK", source: "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY" });
    expect(s.region).toBe("eu-west-1");
    expect(s.endpoint).toBe("http://127.0.0.1:9000");
    expect(s.pathStyle).toBe(true); // custom endpoint → path style by default
  });
  test("AWS_PROFILE picks a section of ~/.aws/credentials and its region and endpoint from ~/.aws/config", () => {
    const fs = files({
      "/home/u/.aws/credentials": ["[default]\naws_access_key_id = D\naws_secret_access_key = DS\n[b2]\naws_access_key_id = B\naws_secret_access_key = BS\n", 0o600],
      "/home/u/.aws/config": ["[profile b2]\nregion = us-west-004\nendpoint_url = https://s3.us-west-004.backblazeb2.com\n", 0o600],
    });
    const s = resolveS3Settings(URL, {}, { AWS_PROFILE: "b2" }, fs, HOME);
    expect(s.credentials.accessKeyId).toBe("B");
    expect(s.credentials.source).toBe("/home/u/.aws/credentials [b2]");
    expect(s.region).toBe("us-west-004");
    expect(s.endpoint).toBe("https://s3.us-west-004.backblazeb2.com");
    expect(s.exposedFiles).toEqual([]);
    expect(resolveS3Settings(URL, {}, {}, fs, HOME).credentials.accessKeyId).toBe("D");
  });
  test("the origin's credentials_file wins over the environment; AWS (virtual-hosted) without an endpoint", () => {
    const fs = files({ "/etc/musicfs/s3": ["[default]\naws_access_key_id = F\naws_secret_access_key = FS\n", 0o644] });
    const s = resolveS3Settings(URL, { credentialsFile: "/etc/musicfs/s3" }, { AWS_ACCESS_KEY_ID: "AK", AWS_SECRET_ACCESS_KEY: "SK" }, fs, HOME);
    expect(s.credentials.accessKeyId).toBe("F");
    expect(s.endpoint).toBeUndefined();
    expect(s.pathStyle).toBe(false);
    expect(s.region).toBe("us-east-1");
    expect(s.exposedFiles).toEqual(["/etc/musicfs/s3"]); // mode 0644: the caller warns
  });
  test("no credentials anywhere: one message saying where they are looked for", () => {
    expect(() => resolveS3Settings(URL, {}, {}, files({}), HOME)).toThrow(/No S3 credentials for s3:\/\/music/);
    try {
      resolveS3Settings(URL, {}, {}, files({}), HOME);
    } catch (e) {
      expect((e as { hint: string }).hint).toContain("AWS_ACCESS_KEY_ID");
    }
  });
  test("a missing credentials_file or a bad endpoint is named", () => {
    expect(() => resolveS3Settings(URL, { credentialsFile: "/nope" }, {}, files({}), HOME)).toThrow(/credentials_file \/nope/);
    expect(() => resolveS3Settings(URL, { endpoint: "minio:9000" }, { AWS_ACCESS_KEY_ID: "a", AWS_SECRET_ACCESS_KEY: "b" }, files({}), HOME)).toThrow(/not an http\(s\) URL/);
  });
  test("INI parsing and permission check", () => {
    expect(parseIni("# c\n[a]\nK = v = w\n; x\n").get("a")?.get("k")).toBe("v = w");
    expect(readableByOthers(0o600)).toBe(false);
    expect(readableByOthers(0o640)).toBe(true);
    expect(readableByOthers(0o604)).toBe(true);
  });
});
