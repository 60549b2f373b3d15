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
    const { accessKeyId, secretAccessKey, sessionToken, source } = s.credentials;
    expect({ accessKeyId, secretAccessKey, sessionToken, source }).toEqual({ accessKeyId: "AK", secretAccessKey: "SK", sessionToken: "TOK", source: "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY" });
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
  test("a readable file warns only when it holds a secret (~/.aws/config usually holds region and endpoint only)", () => {
    const fs = files({
      "/home/u/.aws/credentials": ["[default]\naws_access_key_id = D\naws_secret_access_key = DS\n", 0o600],
      "/home/u/.aws/config": ["[default]\nregion = eu-1\n", 0o644],
    });
    expect(resolveS3Settings(URL, {}, {}, fs, HOME).exposedFiles).toEqual([]);
    const leaky = files({ "/home/u/.aws/config": ["[default]\naws_access_key_id = C\naws_secret_access_key = CS\n", 0o604] });
    expect(resolveS3Settings(URL, {}, {}, leaky, HOME).exposedFiles).toEqual(["/home/u/.aws/config"]);
  });
  test("credentials with userinfo in the endpoint are refused without repeating them", () => {
    const env = { AWS_ACCESS_KEY_ID: "a", AWS_SECRET_ACCESS_KEY: "b", AWS_ENDPOINT_URL: "https://AK:topsecret@nas:7480" };
    expect(() => resolveS3Settings(URL, {}, env, files({}), HOME)).toThrow(/"https:\/\/…@nas:7480" holds credentials/);
  });
  test("the keys do not show when the credentials are printed, logged, serialised or carried by an uncaught error", async () => {
    const env = { AWS_ACCESS_KEY_ID: "AKIDMARKER", AWS_SECRET_ACCESS_KEY: "SECRETMARKER", AWS_SESSION_TOKEN: "TOKENMARKER" };
    const settings = resolveS3Settings(URL, {}, env, files({}), HOME);
    expect(settings.credentials.secretAccessKey).toBe("SECRETMARKER"); // still there for the S3 client
    const shown = [Bun.inspect(settings), Bun.inspect({ deep: { settings } }), JSON.stringify(settings), String(settings.credentials)].join("\n");
    expect(shown).toContain("AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"); // the source is shown
    for (const marker of ["AKIDMARKER", "SECRETMARKER", "TOKENMARKER"]) expect(shown).not.toContain(marker);
    // A crash: an error that carries the settings, thrown uncaught in a process of its own (Bun prints its properties).
    const script = `import { resolveS3Settings } from ${JSON.stringify(import.meta.dir + "/../../src/origins/s3Credentials.ts")};
      const settings = resolveS3Settings("s3://music", {}, process.env, { read: () => null, mode: () => null }, "/nowhere");
      throw Object.assign(new Error("crash"), { settings, credentials: settings.credentials });`;
    const proc = Bun.spawn(["bun", "-e", script], { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    expect(code).not.toBe(0);
    expect(err).toContain("crash");
    for (const marker of ["AKIDMARKER", "SECRETMARKER", "TOKENMARKER"]) expect(out + err).not.toContain(marker);
  });
});
