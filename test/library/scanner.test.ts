import { afterAll, beforeAll, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createConsola } from "consola";
import type { FileMeta } from "../../src/core/types.ts";
import { isAudioPath } from "../../src/library/audioFormats.ts";
import { groupReasons, scanOrigins, type ScanOptions } from "../../src/library/scanner.ts";
import { LocalOrigin } from "../../src/origins/localOrigin.ts";
import type { Origin, WalkReport } from "../../src/origins/origin.ts";
import { CORPUS, corpusDescribe, corpusTest, GENERATED, loadManifest, SYNTHETIC, walkFiles } from "./corpus.ts";
import { asOriginId } from "../../src/core/ids.ts";

/** A logger that records instead of printing. */
function quietLog() {
  const lines: { type: string; message: string }[] = [];
  const logger = createConsola({ level: 5, reporters: [{ log: (o) => lines.push({ type: o.type, message: o.args.join(" ") }) }] });
  return { logger, lines };
}

function scan(options: Partial<ScanOptions> & Pick<ScanOptions, "origins">) {
  const files: FileMeta[] = [];
  const calls: number[] = [];
  const { logger, lines } = quietLog();
  const run = scanOrigins({ progress: null, log: logger, onBatch: (b) => { calls.push(b.length); files.push(...b); }, ...options });
  return { run, files, calls, lines };
}

const MISBEHAVING = new URL("./fixtures/misbehavingScanWorker.ts", import.meta.url).href;

corpusDescribe("scanning the whole corpus", () => {
  test("no crash, no hang; every audio file reported exactly once; non-audio counted", async () => {
    const { run, files, lines } = scan({ origins: [new LocalOrigin(asOriginId("corpus"), CORPUS)], filesPerBatch: 250 });
    const summary = await run;
    const all = walkFiles(CORPUS).map((p) => p.slice(CORPUS.length + 1));
    const audio = all.filter(isAudioPath);
    const reported = [...files.map((f) => f.realPath), ...summary.unreadable.map((u) => u.realPath)].sort();
    expect(reported).toEqual(audio.sort()); // each exactly once (sorted arrays, duplicates would show)
    expect(summary.audioFiles).toBe(audio.length);
    expect(summary.skippedNonAudio).toBe(all.length - audio.length);
    expect(summary.parsed + summary.failed).toBe(files.length);
    expect(summary.failed).toBe(files.filter((f) => f.parseError).length);
    expect(summary.failures.length).toBe(summary.failed);
    expect(summary.interrupted).toBe(false);
    expect(summary.unreadable).toEqual([]);
    expect(summary.failed).toBeGreaterThan(50); // the corpus is full of broken files…
    // …each logged once: 20 one-line warnings, then one grouped line, never one per file.
    const warnings = lines.filter((l) => l.type === "warn");
    expect(warnings.length).toBe(21);
    expect(warnings[20].message).toContain(`${summary.failed - 20} more files`);
    for (const f of files) {
      expect(f.originId).toBe(asOriginId("corpus"));
      expect(f.format).toBe(f.realPath.slice(f.realPath.lastIndexOf(".") + 1).toLowerCase());
    }
  }, 300_000);
});

corpusDescribe("walk edge cases", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "musicfs-scan-"));
    mkdirSync(join(dir, "A/B"), { recursive: true });
    copyFileSync(join(GENERATED, "flac-vorbiscomment.flac"), join(dir, "A/B/01.flac"));
    copyFileSync(join(GENERATED, "mp3-id3v24-ffmpeg.mp3"), join(dir, "A/B/02.MP3"));
    copyFileSync(join(GENERATED, "mp3-id3v24-ffmpeg.mp3"), join(dir, "A/gone.mp3"));
    writeFileSync(join(dir, "A/B/cover.jpg"), "jpeg");
    writeFileSync(join(dir, "A/B/album.cue"), "cue");
    writeFileSync(join(dir, "A/B/rip.log"), "log");
    writeFileSync(join(dir, "A/B/notes.txt"), "txt");
    writeFileSync(join(dir, "A/B/garbage.ogg"), "this is not an ogg file");
    symlinkSync("..", join(dir, "A/B/loop")); // back to A: a loop
    symlinkSync(join(dir, "nowhere"), join(dir, "A/dangling.flac"));
    symlinkSync("self.lnk", join(dir, "A/self.lnk")); // a link to itself (ELOOP)
    symlinkSync("ping.txt", join(dir, "A/pong.txt")); // two links to each other
    symlinkSync("pong.txt", join(dir, "A/ping.txt"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("symlink loops, dangling links, vanished files, non-audio and garbage audio are all counted", async () => {
    const { run, files } = scan({
      origins: [new LocalOrigin(asOriginId("t"), dir)],
      // Delete a file between the walk and the parse: the worker cannot open it.
      isUnchanged: (_o, realPath) => {
        if (realPath === "A/gone.mp3") unlinkSync(join(dir, realPath));
        return false;
      },
    });
    const s = await run;
    expect(s.symlinkLoops).toBe(4); // loop → .., self.lnk, ping.txt, pong.txt: counted, never "unreadable"
    expect(s.skippedNonAudio).toBe(4);
    expect(s.audioFiles).toBe(4); // 01.flac, 02.MP3, gone.mp3, garbage.ogg (the dangling link is no file)
    expect(s.unreadable.map((u) => u.realPath).sort()).toEqual(["A/dangling.flac", "A/gone.mp3"]);
    expect(s.unreadable.find((u) => u.realPath === "A/gone.mp3")!.reason).toBe("ENOENT");
    expect(s.parsed).toBe(2);
    expect(s.failed).toBe(1);
    const garbage = files.find((f) => f.realPath === "A/B/garbage.ogg")!;
    expect(garbage.parseError).toBeTruthy();
    expect(garbage.title).toBeNull();
    expect(files.find((f) => f.realPath === "A/B/02.MP3")!.format).toBe("mp3");
  });

  test("a missing origin root is reported, not thrown", async () => {
    const s = await scan({ origins: [new LocalOrigin(asOriginId("gone"), join(dir, "does-not-exist"))] }).run;
    expect(s.unreadable.length).toBe(1);
    expect(s.audioFiles).toBe(0);
  });
});

corpusDescribe("interrupt and resume", () => {
  test("abort mid-scan stops cleanly; the next scan parses only the rest", async () => {
    const origin = new LocalOrigin(asOriginId("syn"), SYNTHETIC);
    const total = loadManifest().length + 11; // + the _templates files, which are audio too
    const stored = new Map<string, FileMeta>();
    const controller = new AbortController();
    const first = scan({
      origins: [origin],
      signal: controller.signal,
      filesPerBatch: 100,
      jobsPerMessage: 16,
      onBatch: (batch) => {
        for (const f of batch) {
          expect(stored.has(f.realPath)).toBe(false);
          stored.set(f.realPath, f);
        }
        if (stored.size >= 300) controller.abort();
      },
    });
    const s1 = await first.run;
    expect(s1.interrupted).toBe(true);
    expect(stored.size).toBeGreaterThanOrEqual(300);
    expect(stored.size).toBeLessThan(total);
    expect(s1.parsed + s1.failed).toBe(stored.size); // everything parsed was handed over
    expect(first.lines.some((l) => l.message.includes("interrupted"))).toBe(true);

    const parsedAgain: string[] = [];
    const second = scan({
      origins: [origin],
      isUnchanged: (_o, realPath, size, mtimeMs) => {
        const f = stored.get(realPath);
        return f !== undefined && f.size === size && f.mtimeMs === mtimeMs;
      },
      onBatch: (batch) => {
        for (const f of batch) {
          parsedAgain.push(f.realPath);
          stored.set(f.realPath, f);
        }
      },
    });
    const s2 = await second.run;
    expect(s2.interrupted).toBe(false);
    expect(s2.unchanged).toBe(s1.parsed + s1.failed);
    expect(parsedAgain.length).toBe(total - s2.unchanged);
    expect(new Set(parsedAgain).size).toBe(parsedAgain.length);
    expect(stored.size).toBe(total);
  }, 120_000);

  test("an already aborted signal parses nothing and still resolves", async () => {
    const controller = new AbortController();
    controller.abort();
    const s = await scan({ origins: [new LocalOrigin(asOriginId("syn"), SYNTHETIC)], signal: controller.signal }).run;
    expect(s.interrupted).toBe(true);
    expect(s.parsed).toBe(0);
  });
});

corpusDescribe("misbehaving parsers", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "musicfs-scan-bad-"));
    for (let i = 0; i < 40; i++) copyFileSync(join(GENERATED, "flac-vorbiscomment.flac"), join(dir, `ok${String(i).padStart(2, "0")}.flac`));
    copyFileSync(join(GENERATED, "flac-vorbiscomment.flac"), join(dir, "hang-forever.flac"));
    copyFileSync(join(GENERATED, "flac-vorbiscomment.flac"), join(dir, "crash-now.flac"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("a stuck worker is replaced, a crashing one too; the culprits fail, the rest parse", async () => {
    const { run, files } = scan({ origins: [new LocalOrigin(asOriginId("bad"), dir)], workerUrl: MISBEHAVING, batchTimeoutMs: 1500, jobsPerMessage: 8 });
    const s = await run; // a scan that never ended would fail by the test's timeout
    expect(files.length).toBe(42);
    expect(s.parsed).toBe(40);
    expect(s.failed).toBe(2);
    expect(files.find((f) => f.realPath === "hang-forever.flac")!.parseError).toContain("did not finish");
    expect(files.find((f) => f.realPath === "crash-now.flac")!.parseError).toContain("crashed");
    expect(files.filter((f) => f.realPath.startsWith("ok")).every((f) => f.title === "Title é ✓ 東京")).toBe(true);
  }, 60_000);

  test("a worker that cannot start fails the scan instead of failing every file", async () => {
    const { logger } = quietLog();
    const stored: FileMeta[] = [];
    const run = scanOrigins({
      origins: [new LocalOrigin(asOriginId("bad"), dir)],
      progress: null,
      log: logger,
      workerUrl: new URL("./fixtures/noSuchWorker.ts", import.meta.url).href,
      onBatch: (b) => {
        stored.push(...b);
      },
    });
    await expect(run).rejects.toThrow("scan worker could not start");
    expect(stored).toEqual([]);
  }, 60_000);

  test("an onBatch that throws stops the scan and rejects", async () => {
    const { logger } = quietLog();
    const run = scanOrigins({
      origins: [new LocalOrigin(asOriginId("bad"), dir)],
      progress: null,
      log: logger,
      filesPerBatch: 5,
      workerUrl: MISBEHAVING,
      batchTimeoutMs: 1500,
      onBatch: () => {
        throw new Error("disk full");
      },
    });
    await expect(run).rejects.toThrow("disk full");
  }, 60_000);
});

test("groupReasons groups by reason, numbers ignored", () => {
  const f = (reason: string) => ({ originId: asOriginId("o"), realPath: "x", reason });
  expect(groupReasons([f("a 1"), f("a 2"), f("b")])).toBe("a N ×2, b ×1");
});

/** An origin that only offers async reads (like S3 will): no localPath, so the scanner reads through it. */
class ReadOnlyOrigin implements Origin {
  readonly kind = "faulty" as const;
  readonly displayName: string;
  reads = 0;
  constructor(private readonly inner: LocalOrigin) {
    this.displayName = `remote:${inner.displayName}`;
  }
  get id() {
    return this.inner.id;
  }
  walk(report?: WalkReport) {
    return this.inner.walk(report);
  }
  stat(realPath: string) {
    return this.inner.stat(realPath);
  }
  read(realPath: string, offset: number, length: number) {
    this.reads++;
    return this.inner.read(realPath, offset, length);
  }
  stream(realPath: string, offset: number, chunkSize?: number) {
    return this.inner.stream(realPath, offset, chunkSize);
  }
  isAvailable() {
    return this.inner.isAvailable();
  }
}

corpusDescribe("origins without a local path", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "musicfs-scan-remote-"));
    for (const name of ["flac-vorbiscomment.flac", "m4a-aac-ffmpeg.m4a", "ogg-vorbis.ogg", "ape-apev2.ape", "mp3-id3v1-only.mp3"]) {
      copyFileSync(join(GENERATED, name), join(dir, name));
    }
    // An MP4 with its moov after 1 MB of media data: the parser needs bytes beyond the head.
    const m4a = new Uint8Array(readFileSync(join(GENERATED, "m4a-aac-ffmpeg.m4a")));
    const mdatAt = 36;
    const mdatSize = new DataView(m4a.buffer, m4a.byteOffset).getUint32(mdatAt);
    const grown = new Uint8Array(m4a.length + 1024 * 1024);
    grown.set(m4a.subarray(0, mdatAt + mdatSize), 0);
    grown.set(m4a.subarray(mdatAt + mdatSize), mdatAt + mdatSize + 1024 * 1024);
    new DataView(grown.buffer).setUint32(mdatAt, mdatSize + 1024 * 1024);
    writeFileSync(join(dir, "moov-at-end.m4a"), grown);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("are scanned through Origin.read, with the same result as a local scan", async () => {
    const local = scan({ origins: [new LocalOrigin(asOriginId("o"), dir)] });
    await local.run;
    const remoteOrigin = new ReadOnlyOrigin(new LocalOrigin(asOriginId("o"), dir));
    const remote = scan({ origins: [remoteOrigin] });
    const summary = await remote.run;
    expect(summary.parsed).toBe(6);
    const byPath = (files: FileMeta[]) => Object.fromEntries(files.map((f) => [f.realPath, f]));
    expect(byPath(remote.files)).toEqual(byPath(local.files));
    expect(byPath(remote.files)["moov-at-end.m4a"].title).toBe("Title é ✓ 東京");
    // Head for each file, plus at least one on-demand read for the moov; far from reading whole files.
    expect(remoteOrigin.reads).toBeGreaterThan(6);
    expect(remoteOrigin.reads).toBeLessThan(20);
  });
});

corpusTest("an isUnchanged that throws rejects the scan (not mistaken for an unreadable origin)", async () => {
  const { logger } = quietLog();
  const run = scanOrigins({
    origins: [new LocalOrigin(asOriginId("g"), GENERATED)],
    progress: null,
    log: logger,
    onBatch: () => {},
    isUnchanged: () => {
      throw new Error("database is locked");
    },
  });
  await expect(run).rejects.toThrow("database is locked");
});
