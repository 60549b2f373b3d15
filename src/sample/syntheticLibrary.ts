/**
 * Writes a synthetic library for tests and benchmarks: `files` valid, tagged MP3/FLAC files under `dir` plus
 * `manifest.jsonl` (one ManifestEntry per line, in write order) saying what each file's tags are. Deterministic:
 * the same options give byte-identical files at the same paths. Layout and tags come from syntheticPlan.ts.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildFlacFile } from "./flacWriter.ts";
import { buildMp3File } from "./mp3Writer.ts";
import { makeAudioBank, type AudioBank } from "./syntheticAudio.ts";
import { writeAlbumsInParallel } from "./syntheticParallel.ts";
import { planAlbum, planShape, type LibraryShape, type PlannedFile, type SyntheticFormat } from "./syntheticPlan.ts";

export type { FileKind, ManifestEntry, SyntheticFormat } from "./syntheticPlan.ts";

export interface GenerateOptions {
  dir: string;
  files: number;
  seed: number;
  formats?: SyntheticFormat[];
  /** Short silent files (≤ 4 KiB each) for 100k–1M file benchmarks; otherwise 1.5–3 s of audio per file. */
  tiny?: boolean;
  /** Called after each album (or chunk of albums, with workers) with the files written so far. */
  onProgress?: (written: number, total: number) => void;
  /**
   * Worker threads writing in parallel; 0 (the default) writes on the calling thread. The output is the same
   * either way. Workers need src/sample/syntheticWorker.ts to be loadable (see syntheticParallel.ts).
   */
  workers?: number;
}

export interface GenerateResult {
  files: number;
  /** Audio file bytes written (the manifest not included). */
  bytes: number;
  albums: number;
  manifestPath: string;
}

export const MANIFEST_NAME = "manifest.jsonl";

export async function generateLibrary(options: GenerateOptions): Promise<GenerateResult> {
  const formats = options.formats ?? ["mp3", "flac"];
  if (formats.length === 0) throw new Error("generateLibrary: formats must not be empty");
  if (!Number.isInteger(options.files) || options.files < 0) throw new Error("generateLibrary: files must be a whole number");
  const seed = options.seed >>> 0;
  const tiny = options.tiny ?? false;
  const shape = planShape(seed, options.files);
  const albums = shape.albumFileCounts.length;
  mkdirSync(options.dir, { recursive: true });
  const manifestPath = join(options.dir, MANIFEST_NAME);
  writeFileSync(manifestPath, ""); // Bun's FileSink does not truncate: an older, longer manifest would show through
  const manifest = Bun.file(manifestPath).writer();
  let files = 0;
  let bytes = 0;
  const record = (written: { files: number; bytes: number; manifestLines: string }) => {
    files += written.files;
    bytes += written.bytes;
    manifest.write(written.manifestLines);
    options.onProgress?.(files, options.files);
  };

  if ((options.workers ?? 0) > 0) {
    const workerOptions = { dir: options.dir, seed, files: options.files, formats, tiny };
    await writeAlbumsInParallel(workerOptions, albums, options.workers!, async (chunk) => {
      record(chunk);
      await manifest.flush();
    });
  } else {
    const writer = new AlbumWriter(options.dir, shape, formats, tiny);
    for (let album = 0; album < albums; album++) {
      record(writer.writeAlbum(album));
      if (album % 64 === 63) await manifest.flush();
    }
  }
  await manifest.end();
  return { files, bytes, albums, manifestPath };
}

/** Plans and writes one album at a time; holds the shared audio so each file is only tags + a copied stream. */
export class AlbumWriter {
  private readonly audio: AudioBank;

  constructor(
    private readonly root: string,
    private readonly shape: LibraryShape,
    private readonly formats: SyntheticFormat[],
    private readonly tiny: boolean,
  ) {
    this.audio = makeAudioBank(tiny);
  }

  get albums(): number {
    return this.shape.albumFileCounts.length;
  }

  plan(album: number): PlannedFile[] {
    return planAlbum(this.shape, album, {
      formats: this.formats,
      audioVariants: this.audio.variants,
      durationOf: this.audio.durationOf,
      coverShare: this.tiny ? 0.3 : 0.7,
    });
  }

  encode(file: PlannedFile): Uint8Array {
    if (file.format === "flac") return buildFlacFile(file.tags, this.audio.flac[file.audioVariant], { paddingBytes: this.tiny ? 0 : 1024 });
    return buildMp3File(file.tags, this.audio.mp3[file.audioVariant], { version: file.id3Version, paddingBytes: this.tiny ? 0 : 256 });
  }

  writeAlbum(album: number): { files: number; bytes: number; manifestLines: string } {
    const planned = this.plan(album);
    let bytes = 0;
    let lines = "";
    let madeDirectory = "";
    for (const file of planned) {
      const path = join(this.root, file.entry.path);
      const directory = path.slice(0, path.lastIndexOf("/"));
      if (directory !== madeDirectory) {
        mkdirSync(directory, { recursive: true });
        madeDirectory = directory;
      }
      const content = this.encode(file);
      writeFileSync(path, content);
      bytes += content.length;
      lines += JSON.stringify(file.entry) + "\n";
    }
    return { files: planned.length, bytes, manifestLines: lines };
  }
}
