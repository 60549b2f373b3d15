/**
 * A private MPD for tests: its own config, database and state in a temp dir, null audio output, listening on
 * 127.0.0.1 on a free port. Started with `--no-daemon` via Bun.spawn so the test owns its PID and kills it by PID.
 *
 *   const mpd = await startMpd({ musicDir: mnt });
 *   try { await mpd.update(); expect(await mpd.songCount()).toBe(n); } finally { await mpd.stop(); }
 *
 * Tests that need it: `test.skipIf(!hasMpd)` — "mpd and mpc are not installed (scripts/setup.sh installs them)".
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const hasMpd = Bun.which("mpd") !== null && Bun.which("mpc") !== null;

export interface MpcResult {
  code: number;
  /** stdout as text (binary output such as `albumart` is in `bytes`). */
  stdout: string;
  bytes: Uint8Array;
  stderr: string;
}

export interface RunningMpd {
  port: number;
  pid: number;
  /** Runs `mpc -h 127.0.0.1 -p PORT ARGS…` (async, with a timeout). */
  mpc(args: string[], timeoutMs?: number): Promise<MpcResult>;
  /** `mpc --wait update`: rescans the music directory and resolves when MPD's database is complete. */
  update(timeoutMs?: number): Promise<void>;
  /** Number of songs in MPD's database (`mpc listall`, one line per song). */
  songCount(): Promise<number>;
  /** Everything MPD logged so far (for failure messages). */
  log(): string;
  /** Kills MPD by PID and removes its private dir. Safe to call twice. */
  stop(): Promise<void>;
}

export interface MpdOptions {
  musicDir: string;
  /** Follow symlinks that leave or stay inside the music directory (both "yes" by default, as a user might set). */
  followSymlinks?: boolean;
  /** MPD's stored playlists (default: a private dir); e.g. the mount's /.collections for `mpc load NAME`. */
  playlistDir?: string;
  readyTimeoutMs?: number;
}

/** A TCP port on 127.0.0.1 that nobody listens on right now. */
function freePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

function configText(dir: string, musicDir: string, port: number, follow: boolean, playlistDir?: string): string {
  const yes = follow ? "yes" : "no";
  const q = (s: string) => JSON.stringify(s); // MPD's config quoting is the same as JSON's for paths
  return [
    `music_directory ${q(musicDir)}`,
    `db_file ${q(join(dir, "database"))}`,
    `state_file ${q(join(dir, "state"))}`,
    `sticker_file ${q(join(dir, "sticker.sql"))}`,
    `playlist_directory ${q(playlistDir ?? join(dir, "playlists"))}`,
    `log_file ${q(join(dir, "log"))}`,
    `bind_to_address "127.0.0.1"`,
    `port "${port}"`,
    `auto_update "no"`,
    `zeroconf_enabled "no"`,
    `follow_outside_symlinks "${yes}"`,
    `follow_inside_symlinks "${yes}"`,
    `audio_output {`,
    `  type "null"`,
    `  name "null"`,
    `}`,
    "",
  ].join("\n");
}

async function runMpc(port: number, args: string[], timeoutMs: number): Promise<MpcResult> {
  const proc = Bun.spawn(["mpc", "-h", "127.0.0.1", "-p", String(port), ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const [bytes, stderr, code] = await Promise.all([new Response(proc.stdout).bytes(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, stdout: new TextDecoder().decode(bytes), bytes, stderr };
}

export async function startMpd(opts: MpdOptions): Promise<RunningMpd> {
  const dir = mkdtempSync(join(tmpdir(), "musicfs-mpd-"));
  const port = freePort();
  const confPath = join(dir, "mpd.conf");
  writeFileSync(confPath, configText(dir, opts.musicDir, port, opts.followSymlinks ?? true, opts.playlistDir));
  const proc = Bun.spawn(["mpd", "--no-daemon", confPath], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let out = "";
  const pump = async (s: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const c of s) out += dec.decode(c, { stream: true });
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  const logText = () => {
    let file = "";
    try {
      file = readFileSync(join(dir, "log"), "utf8");
    } catch {}
    return out + file;
  };

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 5_000);
      await proc.exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const mpc = (args: string[], timeoutMs = 120_000) => runMpc(port, args, timeoutMs);
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      const log = logText();
      await stop();
      throw new Error(`mpd exited (${proc.exitCode ?? proc.signalCode}) before it answered:\n${log}`);
    }
    const r = await mpc(["status"], 5_000);
    if (r.code === 0) break;
    if (Date.now() > deadline) {
      const log = logText();
      await stop();
      throw new Error(`mpd did not answer on 127.0.0.1:${port} in time:\n${r.stderr}\n${log}`);
    }
    await Bun.sleep(100);
  }

  return {
    port,
    pid: proc.pid,
    mpc,
    async update(timeoutMs = 300_000) {
      const r = await mpc(["--wait", "update"], timeoutMs);
      if (r.code !== 0) throw new Error(`mpc update failed (${r.code}): ${r.stderr}\n${logText()}`);
    },
    async songCount() {
      const r = await mpc(["listall"]);
      if (r.code !== 0) throw new Error(`mpc listall failed (${r.code}): ${r.stderr}`);
      return r.stdout.split("\n").filter(Boolean).length;
    },
    log: logText,
    stop,
  };
}
