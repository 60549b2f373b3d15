/**
 * Issue 17 item 5 on a real S3 mount (Ceph RGW): a track read past half makes the mount fetch the next track of its
 * album folder whole, so the next track starts without a network wait — it plays even if the store is gone by then.
 */
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { Database as Sqlite } from "bun:sqlite";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeMp3 } from "../../src/sample/mp3Writer.ts";
import { putObjects, rgwSkipReason, startRgw, type RgwCluster } from "../support/cephRgw.ts";
import { eventually } from "../support/eventually.ts";
import { runBytes } from "../support/process.ts";
import { cleanupAll, startMount, tempDir } from "./harness.ts";

const BUCKET = "gapless";
let rgw: RgwCluster;
const tracks: Uint8Array[] = [];

beforeAll(async () => {
  if (rgwSkipReason) return;
  rgw = await startRgw();
  await rgw.createBucket(BUCKET);
  for (let i = 1; i <= 3; i++)
    tracks.push(writeMp3({ title: `Song ${i}`, artists: ["Band"], album: "Record", track: i }, { seconds: 100 + i, bitrateKbps: 192 }));
  await putObjects(rgw.client(BUCKET), tracks.map((b, i): [string, Uint8Array] => [`lib/Band/Record/${i + 1}.mp3`, b]));
}, 60_000);

afterEach(cleanupAll);
afterAll(async () => {
  await cleanupAll();
  await rgw?.stop();
});

/** virtual path and "fully cached" (a manifest) of each track, in track order. */
function trackRows(cache: string): { path: string; cached: boolean }[] {
  const db = new Sqlite(join(cache, "metadata.db"), { readonly: true });
  const rows = db.query("SELECT virtual_path, chunk_manifest IS NOT NULL FROM files ORDER BY real_path").values() as [string, number][];
  db.close();
  return rows.map(([path, cached]) => ({ path, cached: Number(cached) === 1 }));
}

test.skipIf(rgwSkipReason !== null)(
  "reading track 1 past half fetches track 2 whole (not track 3); with RGW stopped, track 2 then reads byte-exact",
  async () => {
    const cache = tempDir();
    const mnt = join(tempDir(), "mnt");
    const config = join(tempDir(), "config.toml");
    writeFileSync(config, `[[origins]]\nid = "cloud"\nurl = "s3://${BUCKET}/lib"\nendpoint = "${rgw.endpoint}"\n`);
    const env = { AWS_ACCESS_KEY_ID: rgw.accessKeyId, AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey, AWS_REGION: rgw.region, AWS_PROFILE: "", AWS_ENDPOINT_URL: "" };
    await startMount(mnt, ["--config", config, "--cache-dir", cache], { env });
    const rows = trackRows(cache);
    expect(rows.length).toBe(3);
    expect(rows.some((r) => r.cached)).toBe(false);

    // A player reading track 1 from the start, just past its middle.
    const past = Math.floor(tracks[0].length / 2) + 64 * 1024;
    const head = await runBytes(["head", "-c", String(past), join(mnt, rows[0].path)]);
    expect(head.code).toBe(0);
    expect(Buffer.compare(Buffer.from(head.stdout), Buffer.from(tracks[0].subarray(0, past)))).toBe(0);

    await eventually(() => trackRows(cache)[1].cached, (cached) => cached, 60_000);
    expect(trackRows(cache)[2].cached).toBe(false); // the next track only, not the album

    await rgw.stopGateway();
    try {
      const next = await runBytes(["cat", join(mnt, rows[1].path)]);
      expect(next.code).toBe(0);
      expect(Buffer.compare(Buffer.from(next.stdout), Buffer.from(tracks[1]))).toBe(0);
    } finally {
      await rgw.startGateway();
    }
  },
  120_000,
);
