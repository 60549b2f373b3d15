/**
 * Issue 18, the control channel, on a real mount: the socket answers only its owner (another user is refused by
 * its kernel credentials even with the modes opened up), bad input of every kind gets an error reply while the mount
 * keeps serving, a stale socket of a killed daemon is replaced, and `cache clear` on a running mount keeps the file
 * a player is reading while everything else goes.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { Database as Sqlite } from "bun:sqlite";
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import net from "node:net";
import { join, relative } from "node:path";
import { chunkPath } from "../../src/cas/chunkPaths.ts";
import { dataFilePath } from "../../src/cas/dataFilePaths.ts";
import { decodeManifest, manifestChunkHexes } from "../../src/cas/manifestCodec.ts";
import { writeSampleLibraryCopy } from "../support/sampleLibraryCopy.ts";
import { eventually } from "../support/eventually.ts";
import { addUser, removeUser } from "../support/users.ts";
import { isRoot } from "../support/system.ts";
import { CLI, cleanupAll, findTracks, run, startMount, tempDir, type Running } from "./harness.ts";
import { asContentId } from "../../src/core/ids.ts";

afterAll(cleanupAll);

const sha = (b: Uint8Array) => new Bun.CryptoHasher("sha256").update(b).digest("hex");

interface Library {
  origin: string;
  cache: string;
  cfg: string;
  mnt: string;
  args: string[];
}

async function library(): Promise<Library> {
  const origin = tempDir();
  await writeSampleLibraryCopy(origin);
  const cache = tempDir();
  const cfg = join(tempDir(), "config.toml");
  writeFileSync(cfg, `[[origins]]\nid = "lib"\npath = "${origin}"\ncache = "full"\n`);
  return { origin, cache, cfg, mnt: join(tempDir(), "mnt"), args: ["--config", cfg, "--cache-dir", cache] };
}

/** Sends raw bytes to the control socket and collects reply lines until `until` says enough or the server closes. */
function exchange(socket: string, send: (c: net.Socket) => void, until: (lines: string[]) => boolean): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const lines: string[] = [];
    let buf = "";
    const c = net.connect(socket, () => send(c));
    c.on("data", (d) => {
      buf += String(d);
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        lines.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
      if (until(lines)) {
        c.destroy();
        resolve(lines);
      }
    });
    c.on("close", () => resolve(lines));
    c.on("error", (e) => (lines.length ? resolve(lines) : reject(e)));
  });
}

const replies = (lines: string[]) => lines.map((l) => JSON.parse(l) as { ok: boolean; error?: string; result?: unknown });

/** The mount still serves: a track reads back byte-exact. */
async function stillServes(lib: Library): Promise<void> {
  const track = join(lib.mnt, (await findTracks(lib.mnt))[0]!);
  const read = await run(["sha256sum", track]);
  expect(read.stderr).toBe("");
  expect(read.code).toBe(0);
}

function manifestsByPath(cache: string): Map<string, Uint8Array> {
  const db = new Sqlite(join(cache, "metadata.db"), { readonly: true });
  const rows = db.query("SELECT real_path, chunk_manifest FROM files WHERE chunk_manifest IS NOT NULL").values() as [string, Uint8Array][];
  db.close();
  return new Map(rows);
}

async function statusJson(lib: Library): Promise<{ cache: { storedBytes: number; capBytes: number; openFiles: number } }> {
  const r = await run(["bun", CLI, "status", "--json", ...lib.args]);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

describe("control socket", () => {
  let lib: Library;
  let server: Running;

  test("is the owner's only: mode 0600, and a stale socket left by a killed daemon is replaced at the next mount", async () => {
    lib = await library();
    const first = await startMount(lib.mnt, lib.args);
    const socket = join(lib.cache, "control.sock");
    expect(statSync(socket).mode & 0o777).toBe(0o600);
    await first.stop("SIGKILL");
    await run(["umount", "-l", lib.mnt]);
    expect(existsSync(socket)).toBe(true); // left behind by kill -9
    // With no daemon, the CLI works on the cache dir directly and never trusts the stale socket.
    const offline = await run(["bun", CLI, "cache", "clear", ...lib.args]);
    expect(offline.code).toBe(0);
    expect(offline.stderr).toContain("Cleared");
    server = await startMount(lib.mnt, lib.args);
    const [pong] = replies(await exchange(socket, (c) => c.write('{"cmd":"ping"}\n'), (l) => l.length >= 1));
    expect(pong).toEqual({ ok: true, result: { pid: server.proc.pid } });
  }, 120_000);

  test("garbage, a half message, a 100 MB message and unknown commands get error replies; the mount keeps serving", async () => {
    const socket = join(lib.cache, "control.sock");
    const garbage = replies(await exchange(socket, (c) => c.write('garbage\n[1]\n{"cmd":"launch-rockets"}\n{"cmd":"ping"}\n'), (l) => l.length >= 4));
    expect(garbage.map((r) => r.ok)).toEqual([false, false, false, true]);
    expect(garbage[0]!.error).toContain("not a JSON message");
    expect(garbage[2]!.error).toContain('unknown command "launch-rockets"');

    const half = replies(await exchange(socket, (c) => c.end('{"cmd":"sta'), (l) => l.length >= 1));
    expect(half[0]).toMatchObject({ ok: false, error: expect.stringContaining("incomplete message") });

    // 100 MB without a newline: answered as soon as it passes the limit; after its newline the connection goes on.
    const big = replies(
      await exchange(
        socket,
        (c) => {
          const mib = Buffer.alloc(1024 * 1024, 0x61);
          for (let i = 0; i < 100; i++) c.write(mib);
          c.write('\n{"cmd":"ping"}\n');
        },
        (l) => l.length >= 2,
      ),
    );
    expect(big[0]).toMatchObject({ ok: false, error: expect.stringContaining("message too long") });
    expect(big[1]).toMatchObject({ ok: true });
    await stillServes(lib);
    expect(server.proc.exitCode).toBeNull();
  }, 120_000);

  test.skipIf(!isRoot)("another user is refused by its credentials, even with the cache dir and socket opened to everyone", async () => {
    const socket = join(lib.cache, "control.sock");
    const user = `mfs${process.pid % 100000}`;
    await addUser(user, ["--no-create-home", "--shell", "/usr/sbin/nologin"]);
    try {
      chmodSync(lib.cache, 0o777);
      chmodSync(socket, 0o777);
      // The refusal is sent as soon as the connection opens, and the socket closed: the request may meet a closed pipe.
      const probe = `import socket,sys\ns=socket.socket(socket.AF_UNIX)\ns.connect(sys.argv[1])\ntry:\n  s.sendall(b'{"cmd":"status"}\\n')\nexcept OSError:\n  pass\nprint(s.makefile().readline(), end="")`;
      const r = await run(["setpriv", `--reuid=${user}`, `--regid=${user}`, "--clear-groups", "/usr/bin/python3", "-c", probe, socket]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const reply = JSON.parse(r.stdout);
      expect(reply.ok).toBe(false);
      expect(reply.error).toContain("refused");
      expect(reply.error).not.toContain("mountPoint");
      await server.waitFor(/refused a connection from uid \d+/);
    } finally {
      chmodSync(lib.cache, 0o700);
      chmodSync(socket, 0o600);
      await removeUser(user);
    }
    await stillServes(lib);
  }, 60_000);

  test("`cache clear` while a player reads: the player's file stays and plays to the end, the rest goes, the cap figures drop", async () => {
    const tracks = (await findTracks(lib.mnt)).map((t) => join(lib.mnt, t)).sort();
    for (const t of tracks) expect((await run(["cat", t])).code).toBe(0); // read through: every file cached whole
    await eventually(() => manifestsByPath(lib.cache).size, (n) => n === tracks.length, 60_000);
    const before = await eventually(() => statusJson(lib), (s) => s.cache.storedBytes > 0);

    const played = tracks[0]!;
    // Handles still open in the mount before the player starts (a RELEASE reaches the mount some time after close).
    const openBefore = (await statusJson(lib)).cache.openFiles;
    const player = Bun.spawn(
      ["bun", "-e", `
        const fs = require("node:fs");
        const fd = fs.openSync(process.argv[1], "r");
        const head = Buffer.alloc(4096);
        fs.readSync(fd, head, 0, head.length, null); // advances the position: the rest follows
        console.log("playing");
        for await (const _ of console) break; // waits for a line on stdin
        const rest = fs.readFileSync(fd);
        const h = new Bun.CryptoHasher("sha256"); h.update(head); h.update(rest);
        console.log(h.digest("hex"));`, played],
      { stdin: "pipe", stdout: "pipe", stderr: "inherit" },
    );
    const out = player.stdout.getReader();
    const first = new TextDecoder().decode((await out.read()).value);
    expect(first).toContain("playing");
    // The mount learns of the open from a worker message: the clear is asked for once the mount counts it.
    await eventually(() => statusJson(lib), (s) => s.cache.openFiles > openBefore);
    const clear = await run(["bun", CLI, "cache", "clear", ...lib.args]);
    expect(clear.code).toBe(0);
    const kept = Number(/kept (\d+) open or pinned file/.exec(clear.stderr)?.[1] ?? -1);
    expect(kept).toBeGreaterThanOrEqual(1);

    const left = manifestsByPath(lib.cache);
    // Which origin file the player has open: its manifest and every chunk it names are still there.
    const mountRel = relative(lib.mnt, played);
    const db = new Sqlite(join(lib.cache, "metadata.db"), { readonly: true });
    const row = db.query("SELECT id, real_path, size, mtime_ms FROM files WHERE virtual_path = ?").get(mountRel) as { id: number; real_path: string; size: number; mtime_ms: number };
    db.close();
    const realPath = row.real_path;
    // The player's file stays; so does any other file still open then (kept), and nothing else.
    expect(left.has(realPath)).toBe(true);
    expect(left.size).toBe(kept);
    expect(kept).toBeLessThanOrEqual(1 + openBefore);
    // Its content is still there: its data file, or (not converted yet) every chunk its manifest names.
    const dataFile = dataFilePath(join(lib.cache, "data"), asContentId(row.id), row.size, row.mtime_ms);
    const chunksThere = [...manifestChunkHexes(decodeManifest(left.get(realPath)!))].every((hex) => existsSync(chunkPath(join(lib.cache, "chunks"), hex)));
    expect(existsSync(dataFile) || chunksThere).toBe(true);
    const after = await statusJson(lib);
    expect(after.cache.storedBytes).toBeLessThan(before.cache.storedBytes);
    // What is left is the kept files' content, no more.
    expect(after.cache.storedBytes).toBeLessThanOrEqual([...left.keys()].reduce((n, real) => n + statSync(join(lib.origin, real)).size, 0));

    player.stdin.write("go\n");
    player.stdin.end();
    let tail = "";
    for (;;) {
      const { value, done } = await out.read();
      if (done) break;
      tail += new TextDecoder().decode(value);
    }
    expect(await player.exited).toBe(0);
    expect(tail.trim()).toBe(sha(readFileSync(join(lib.origin, realPath))));
    // `cache verify` runs inside the running mount too (it used to be refused while mounted).
    const verify = await run(["bun", CLI, "cache", "verify", "--json", ...lib.args]);
    expect(verify.code).toBe(0);
    const report = JSON.parse(verify.stdout) as { dataFilesChecked: number; chunksChecked: number; filesUnrepaired: unknown[] };
    expect(report.dataFilesChecked + report.chunksChecked).toBeGreaterThan(0);
    expect(report.filesUnrepaired).toEqual([]);
    await stillServes(lib);
    expect(await server.stop()).toBe(0);
  }, 180_000);
});
