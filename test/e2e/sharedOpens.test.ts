/**
 * Issue 9 item 1: a file opened while another open of it is held. As root the kernel reads local files through
 * FUSE passthrough, and it accepts only ONE backing file per inode: every open of an open file must share it.
 * Before the fix, every second open() failed with EIO — cmus dropped two thirds of a library it added, rsync of an
 * album failed while a track of it played.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { buildFlacFile, encodeFlacAudio } from "../../src/sample/flacWriter.ts";
import { buildMp3File, encodeMp3Audio } from "../../src/sample/mp3Writer.ts";
import { renderMelody } from "../../src/sample/tone.ts";
import { hasFusePassthrough, hasProgram, isRoot } from "../support/system.ts";
import { cleanupAll, findFiles, run, startMount, tempDir } from "./harness.ts";
import { holdOpen } from "../support/holder.ts";
import { eventually } from "../support/eventually.ts";

afterEach(cleanupAll);
afterAll(cleanupAll);

/** Two seconds of melody (~70 KiB of FLAC, ~30 KiB of MP3): encoded once (slow), wrapped with each track's tags (fast). */
let melody: { flac: ReturnType<typeof encodeFlacAudio>; mp3: Uint8Array } | undefined;

/** `albums` albums of `tracks` tracks each (odd tracks FLAC, even ones MP3), in origin folders a/, b/, … */
function library(albums: number, tracks: number): string {
  melody ??= { flac: encodeFlacAudio(renderMelody({ seed: 9, seconds: 2 })), mp3: encodeMp3Audio({ seconds: 2, melodySeed: 9 }) };
  const dir = tempDir();
  for (let a = 0; a < albums; a++) {
    const folder = join(dir, String.fromCharCode(97 + a));
    mkdirSync(folder, { recursive: true });
    for (let t = 1; t <= tracks; t++) {
      const tags = { artists: ["Held Open"], album: `Album ${a + 1}`, year: 2020, title: `Track ${t}`, track: t };
      if (t % 2 === 1) writeFileSync(join(folder, `${t}.flac`), buildFlacFile(tags, melody.flac));
      else writeFileSync(join(folder, `${t}.mp3`), buildMp3File(tags, melody.mp3));
    }
  }
  return dir;
}

/** Mounts `origin`; `passthrough` false runs the normal READ path (as a non-root user gets). */
async function mount(origin: string, passthrough: boolean) {
  const mnt = join(tempDir(), "mnt");
  const server = await startMount(mnt, ["--origin", origin, "--cache-dir", tempDir()], {
    env: { MUSICFS_LOG_LEVEL: "debug", ...(passthrough ? {} : { MUSICFS_NO_PASSTHROUGH: "1" }) },
  });
  if (passthrough && hasFusePassthrough) expect(server.output()).toContain("passthrough on");
  if (!passthrough) expect(server.output()).toContain("passthrough off");
  return { mnt, server };
}

for (const passthrough of [true, false]) {
  describe(passthrough ? "passthrough (root)" : "normal reads", () => {
    test.skipIf(passthrough && !isRoot)("2, 10 and 100 concurrent opens of one file each read it byte-exact", async () => {
      const origin = library(1, 2);
      const { mnt } = await mount(origin, passthrough);
      const [track] = await findFiles(mnt);
      const file = join(mnt, track!);
      const expected = readFileSync(join(origin, "a", "1.flac"));
      for (const n of [2, 10, 100]) {
        const handles = [];
        for (let i = 0; i < n; i++) handles.push(await open(file, "r")); // all n held at once
        try {
          // Read them interleaved, 64 KiB at a time: every open stays in use while the others read.
          const copies = handles.map(() => Buffer.alloc(expected.length + 1));
          const got = handles.map(() => 0);
          for (let progress = true; progress; ) {
            progress = false;
            for (let i = 0; i < n; i++) {
              const { bytesRead } = await handles[i]!.read(copies[i]!, got[i]!, Math.min(65536, copies[i]!.length - got[i]!), got[i]!);
              got[i]! += bytesRead;
              if (bytesRead > 0) progress = true;
            }
          }
          for (let i = 0; i < n; i++) {
            expect({ open: i, of: n, bytes: got[i] }).toEqual({ open: i, of: n, bytes: expected.length });
            expect(copies[i]!.subarray(0, got[i]).equals(expected)).toBe(true);
          }
        } finally {
          await Promise.all(handles.map((h) => h.close()));
        }
      }
      // Once every open was released, the file opens (and reads) again.
      expect((await run(["cmp", file, join(origin, "a", "1.flac")])).code).toBe(0);
    }, 60_000);

    test.skipIf(passthrough && !isRoot)("100 processes read a file a player holds open, all byte-exact", async () => {
      const origin = library(1, 1);
      const { mnt } = await mount(origin, passthrough);
      const [track] = await findFiles(mnt);
      const file = join(mnt, track!);
      const player = await holdOpen(file);
      try {
        const list = join(tempDir(), "list");
        writeFileSync(list, `${file}\n${join(origin, "a", "1.flac")}\n`.repeat(100));
        const r = await run(["sh", "-c", `xargs -d '\\n' -n 2 -P 16 cmp < "${list}"`], { timeoutMs: 60_000 });
        expect(r.stdout + r.stderr).toBe("");
        expect(r.code).toBe(0);
      } finally {
        await player.stop();
      }
    }, 60_000);
  });
}

test.skipIf(!hasProgram("rsync"))("rsync -a copies an album exactly while a player holds one of its tracks open", async () => {
  const origin = library(1, 6);
  const { mnt } = await mount(origin, true);
  const tracks = await findFiles(mnt);
  const albumDir = join(mnt, tracks[0]!, "..");
  const player = await holdOpen(join(mnt, tracks[2]!));
  try {
    const dest = tempDir();
    const r = await run(["rsync", "-a", `${albumDir}/`, `${dest}/`], { timeoutMs: 60_000 });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(readdirSync(dest).sort()).toEqual(readdirSync(albumDir).sort()); // the album's 6 tracks, FLAC and MP3 in one folder
    expect(readdirSync(dest).length).toBe(6);
    expect((await run(["diff", "-r", albumDir, dest])).code).toBe(0);
  } finally {
    await player.stop();
  }
}, 60_000);

describe("cmus", () => {
  const canRun = hasProgram("cmus") && hasProgram("cmus-remote") && hasProgram("tmux");

  test.skipIf(!canRun)("`:add MNT` in cmus puts every track of the origin in its library", async () => {
    const origin = library(4, 8);
    const { mnt } = await mount(origin, true);
    // A private HOME/XDG so the user's cmus configuration is neither read nor touched.
    const home = tempDir("musicfs-cmus-");
    mkdirSync(join(home, "run"), { mode: 0o700 });
    // The ao output fails at once without a sound device (pulse and jack take seconds to give up).
    mkdirSync(join(home, ".config", "cmus"), { recursive: true });
    writeFileSync(join(home, ".config", "cmus", "autosave"), "set output_plugin=ao\n");
    const env = { HOME: home, XDG_CONFIG_HOME: join(home, ".config"), XDG_RUNTIME_DIR: join(home, "run") };
    const socket = join(home, "cmus.sock");
    const tmux = ["tmux", "-L", `musicfs-cmus-${process.pid}`];
    const started = await run([...tmux, "new-session", "-d", "-x", "200", "-y", "50", `cmus --listen ${socket}`], { env });
    expect(started.code).toBe(0);
    try {
      const remote = (command: string, timeoutMs = 10_000) => run(["cmus-remote", "--server", socket, "-C", command], { env, timeoutMs });
      // Without a sound device cmus shows an error and waits for Enter before it listens on its socket.
      const deadline = Date.now() + 45_000;
      for (;;) {
        const pane = (await run([...tmux, "capture-pane", "-p"])).stdout;
        if (pane.includes("Press <enter>")) await run([...tmux, "send-keys", "Enter"]);
        else if (pane.trim() !== "" && (await remote("echo ready", 1000)).code === 0) break;
        if (Date.now() > deadline) throw new Error(`cmus did not start:\n${pane}`);
        await Bun.sleep(100);
      }
      expect((await remote(`add ${mnt}`)).code).toBe(0);
      // cmus adds in the background: save its library until all 32 tracks are in (or the deadline says not).
      const expected = (await findFiles(origin)).length; // 32
      const saved = join(home, "lib.pl");
      const libraryCount = async () => {
        if ((await remote(`save -l ${saved}`)).code !== 0 || !existsSync(saved)) return 0;
        return readFileSync(saved, "utf8").split("\n").filter(Boolean).length;
      };
      const count = await eventually(libraryCount, (n) => n >= expected, 45_000).catch(() => libraryCount());
      expect(count).toBe(expected);
      await remote("quit");
    } finally {
      await run([...tmux, "kill-server"]);
    }
  }, 150_000);
});
