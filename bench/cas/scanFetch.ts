/**
 * What a scanner costs in origin bytes: `ffprobe -show_format` over every file of a library in a bucket on Ceph RGW,
 * through a fresh musicfs S3 mount (nothing cached), against the bytes ffprobe itself reads of the same files
 * (strace -P on the local copies). Issue 17 item 4.
 *
 *   bun run bench/cas/scanFetch.ts --lib DIR [--repo PATH]   (--repo: the checkout whose CLI mounts; default this one)
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { putObjects, startRgw } from "../../test/support/cephRgw.ts";
import { cleanupAll, startMount, tempDir } from "../../test/e2e/harness.ts";
import { run } from "../../test/support/process.ts";

const { values } = parseArgs({ options: { lib: { type: "string" }, repo: { type: "string" } } });
if (!values.lib) throw new Error("--lib DIR is required");
const lib = values.lib;
const repo = values.repo ?? join(import.meta.dir, "../..");

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : [join(dir, n)]));
}

const all = files(lib).filter((f) => /\.(ogg|mp3|flac|opus)$/i.test(f));
let probed = 0;
for (const f of all) {
  const r = await run(["strace", "-f", "-e", "trace=read,pread64", "-P", f, "ffprobe", "-v", "error", "-show_format", f]);
  for (const m of r.stderr.matchAll(/= (\d+)\s*$/gm)) probed += Number(m[1]);
}
const total = all.reduce((n, f) => n + statSync(f).size, 0);

const rgw = await startRgw();
try {
  await rgw.createBucket("scan");
  await putObjects(rgw.client("scan"), all.map((f): [string, Uint8Array] => [`lib/${relative(lib, f)}`, new Uint8Array(readFileSync(f))]));
  const cache = tempDir();
  const mnt = join(tempDir(), "mnt");
  const config = join(tempDir(), "config.toml");
  writeFileSync(config, `[[origins]]\nid = "cloud"\nurl = "s3://scan/lib"\nendpoint = "${rgw.endpoint}"\n`);
  const env = { AWS_ACCESS_KEY_ID: rgw.accessKeyId, AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey, AWS_REGION: rgw.region, AWS_PROFILE: "", AWS_ENDPOINT_URL: "" };
  const server = await startMount(mnt, ["--config", config, "--cache-dir", cache], { env, command: ["bun", join(repo, "src/cli/main.ts"), "mount", mnt, "--config", config, "--cache-dir", cache] });
  const onMount = files(mnt).filter((f) => /\.(ogg|mp3|flac|opus)$/i.test(f));
  for (const f of onMount) await run(["ffprobe", "-v", "error", "-show_format", f]);
  await server.stop();
  const fetched = JSON.parse(readFileSync(join(cache, "status.json"), "utf8")).cache.originBytes as number;
  console.log(
    `${all.length} files, ${total} bytes; ffprobe read ${probed} bytes; the mount fetched ${fetched} ` +
      `(${(fetched / probed).toFixed(2)}× what ffprobe read, ${((100 * fetched) / total).toFixed(1)} % of the library)`,
  );
} finally {
  await cleanupAll();
  await rgw.stop();
}
