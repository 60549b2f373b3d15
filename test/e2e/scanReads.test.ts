/**
 * Issue 17 item 4 on a real mount: a scanner reading files that are not cached yet fetches about what it reads.
 * Such files are opened with direct I/O (no kernel readahead: it fetched 4.2× what ffprobe read before), and
 * mmap of them still works (FUSE_DIRECT_IO_ALLOW_MMAP). Bytes, not timings: ffprobe's own reads are counted with
 * strace on the origin copies, the mount's origin bytes from its status.json at shutdown.
 */
import { afterAll, afterEach, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { Database as Sqlite } from "bun:sqlite";
import { hasProgram, kernelAtLeast } from "../support/system.ts";
import { runBytes } from "../support/process.ts";
import { cleanupAll, run, startMount, tempDir } from "./harness.ts";

afterEach(cleanupAll);
afterAll(cleanupAll);

const canRun = hasProgram("ffmpeg") && hasProgram("ffprobe") && hasProgram("strace") && hasProgram("python3") && kernelAtLeast(6, 6);

/**
 * A small library of real Ogg Vorbis and MP3 files (tone + noise, so the encoders produce real-sized frames). The
 * 90 s of audio are encoded once per format (~1.3 CPU-s of ffmpeg each) and remuxed (`-c copy`) into the 4 files of
 * that format with their own tags: the frames are real, the files differ in their tags.
 */
async function generateLibrary(root: string): Promise<string[]> {
  const files: string[] = [];
  const encoded = tempDir();
  for (const [ext, codec] of [["ogg", ["-c:a", "libvorbis", "-q:a", "5"]], ["mp3", ["-c:a", "libmp3lame", "-b:a", "192k"]]] as const) {
    const audio = join(encoded, `audio.${ext}`);
    const r = await run(
      [
        "ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=250:duration=90", "-f", "lavfi",
        "-i", "anoisesrc=d=90:a=0.1", "-filter_complex", "amix=inputs=2", "-ac", "2", ...codec, audio,
      ],
      { timeoutMs: 120_000 },
    );
    expect(r.code).toBe(0);
    const dir = join(root, `Album ${ext}`);
    mkdirSync(dir, { recursive: true });
    for (let i = 1; i <= 4; i++) {
      const path = join(dir, `${i}.${ext}`);
      const tagged = await run(
        [
          "ffmpeg", "-v", "error", "-i", audio, "-map", "0", "-c", "copy",
          "-metadata", `title=Track ${i}`, "-metadata", "artist=Artist", "-metadata", `album=Album ${ext}`,
          "-metadata", `track=${i}`, path,
        ],
        { timeoutMs: 120_000 },
      );
      expect(tagged.code).toBe(0);
      files.push(path);
    }
  }
  return files;
}

/** Bytes ffprobe -show_format reads of `path` itself (read and pread64 on that path only). */
async function ffprobeReadBytes(path: string): Promise<number> {
  const r = await run(["strace", "-f", "-e", "trace=read,pread64", "-P", path, "ffprobe", "-v", "error", "-show_format", path]);
  expect(r.code).toBe(0);
  let total = 0;
  for (const m of r.stderr.matchAll(/= (\d+)\s*$/gm)) total += Number(m[1]);
  return total;
}

function virtualPath(cache: string, real: string): string {
  const db = new Sqlite(join(cache, "metadata.db"), { readonly: true });
  const row = db.query("SELECT virtual_path FROM files WHERE real_path = ?").get(real) as { virtual_path: string } | null;
  db.close();
  if (!row) throw new Error(`${real} is not in the library`);
  return row.virtual_path;
}

function originBytes(cache: string): number {
  const status = JSON.parse(readFileSync(join(cache, "status.json"), "utf8"));
  expect(status.state).toBe("stopped");
  return status.cache.originBytes as number;
}

test.skipIf(!canRun)(
  "ffprobe -show_format over files not cached yet fetches at most 1.5× what ffprobe reads, and mmap of such a file reads right (needs ffmpeg, strace, python3, Linux ≥ 6.6)",
  async () => {
    const origin = tempDir();
    const files = await generateLibrary(origin);
    let probed = 0;
    for (const f of files) probed += await ffprobeReadBytes(f);
    expect(probed).toBeGreaterThan(0);

    const cache = tempDir();
    const mnt = join(tempDir(), "mnt");
    const config = join(tempDir(), "config.toml");
    writeFileSync(config, `[[origins]]\nid = "lib"\npath = "${origin}"\ncache = "full"\n`);
    const server = await startMount(mnt, ["--config", config, "--cache-dir", cache]);
    const showFormat = async (path: string) => {
      const r = await run(["ffprobe", "-v", "error", "-show_format", path]);
      expect(r.code).toBe(0);
      return r.stdout.replace(/^filename=.*$/m, "");
    };
    for (const f of files) {
      const viaMount = join(mnt, virtualPath(cache, relative(origin, f)));
      expect(await showFormat(viaMount)).toBe(await showFormat(f));
    }
    expect(await server.stop()).toBe(0);
    const fetched = originBytes(cache);
    console.log(`ffprobe -show_format read ${probed} bytes of ${files.length} files; the mount fetched ${fetched} (${(fetched / probed).toFixed(2)}×)`);
    expect(fetched).toBeLessThanOrEqual(1.5 * probed);

    // mmap (MAP_SHARED) of a file not cached yet (only its probed ranges are): the bytes of the origin file.
    const again = await startMount(mnt, ["--config", config, "--cache-dir", cache]);
    const mapped = files.find((f) => f.endsWith(".mp3"))!;
    const viaMmap = await runBytes([
      "python3", "-c",
      "import mmap,sys\nf=open(sys.argv[1],'rb')\nm=mmap.mmap(f.fileno(),0,flags=mmap.MAP_SHARED,prot=mmap.PROT_READ)\nsys.stdout.buffer.write(m[:])",
      join(mnt, virtualPath(cache, relative(origin, mapped))),
    ]);
    expect(viaMmap.stderr).toBe("");
    expect(Buffer.compare(Buffer.from(viaMmap.stdout), readFileSync(mapped))).toBe(0);
    expect(await again.stop()).toBe(0);
  },
  300_000,
);
