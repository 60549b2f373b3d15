/** Runs the external validators (ffprobe, ffmpeg, flac) the tests check our bytes against. Test-only. */
import { runBytes } from "../support/process.ts";

export interface RunResult {
  exitCode: number;
  stdout: Uint8Array;
  stderr: string;
}

export async function run(cmd: string[]): Promise<RunResult> {
  const { code, stdout, stderr } = await runBytes(cmd, { timeoutMs: 120_000 });
  return { exitCode: code, stdout, stderr };
}

export const hasFlacTool = Bun.which("flac") !== null;
export const hasFfmpeg = Bun.which("ffprobe") !== null && Bun.which("ffmpeg") !== null;

export interface ProbeResult {
  /** ffprobe's complaints at `-v error`; empty for a clean file. */
  errors: string;
  format: { duration?: string; format_name: string; tags?: Record<string, string> };
  streams: { codec_name: string; codec_type: string; sample_rate?: string; channels?: number; disposition?: Record<string, number> }[];
}

export async function ffprobe(path: string): Promise<ProbeResult> {
  const result = await run(["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", path]);
  if (result.exitCode !== 0) throw new Error(`ffprobe failed on ${path}: ${result.stderr}`);
  const json = JSON.parse(new TextDecoder().decode(result.stdout));
  return { errors: result.stderr.trim(), format: json.format, streams: json.streams };
}

/** Case-insensitive tag lookup: ffprobe keeps Vorbis comment names as written (TITLE) but lower-cases ID3 ones. */
export function tag(probe: ProbeResult, name: string): string | undefined {
  const tags = probe.format.tags ?? {};
  const key = Object.keys(tags).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : tags[key];
}

/** Decodes the first audio stream to interleaved signed 16-bit PCM with ffmpeg; also returns ffmpeg's complaints. */
export async function decodeToPcm(path: string): Promise<{ samples: Int16Array; errors: string }> {
  const result = await run(["ffmpeg", "-v", "error", "-i", path, "-map", "0:a:0", "-f", "s16le", "-acodec", "pcm_s16le", "-"]);
  if (result.exitCode !== 0) throw new Error(`ffmpeg failed on ${path}: ${result.stderr}`);
  const bytes = result.stdout;
  return { samples: new Int16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 1), errors: result.stderr.trim() };
}

export function rms(samples: Int16Array): number {
  if (samples.length === 0) return 0;
  let sum = 0;
  for (const sample of samples) sum += sample * sample;
  return Math.sqrt(sum / samples.length);
}

/** `flac -t`: decodes the whole stream, checks every CRC and the STREAMINFO MD5. */
export async function flacTest(path: string): Promise<RunResult> {
  return run(["flac", "-t", "-s", "-w", path]);
}

/** For tests that spawn decoders or write libraries: a loaded 2-core CI machine can be many times slower. */
export const SLOW_TEST_MS = 120_000;

/**
 * `fn` over every item, at most `limit` at a time, results in the items' order: the external tools (ffprobe, ffmpeg,
 * flac) run on both cores instead of one after the other; every result is still checked by the caller.
 */
export async function inParallel<T, R>(items: readonly T[], fn: (item: T) => Promise<R>, limit = 4): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}
