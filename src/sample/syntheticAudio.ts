/**
 * The pre-encoded audio streams a synthetic library reuses: encoding is done once per variant, and each file is
 * only its own tags glued to one of these. Tiny mode is silence of 0.1–0.5 s (FLAC CONSTANT subframes, 32 kbit/s
 * MP3) so a file with tags fits in one 4 KiB disk block; normal mode has 1.5–3 s melodies (FLAC, and 128 kbit/s MP3).
 */
import { encodeFlacAudio, type FlacAudioStream } from "./flacFrames.ts";
import { encodeMp3Audio, mp3DurationSeconds, type Mp3AudioSpec } from "./mp3Writer.ts";
import type { SyntheticFormat } from "./syntheticPlan.ts";
import { renderMelody, silence } from "./tone.ts";

export interface AudioBank {
  variants: number;
  flac: FlacAudioStream[];
  mp3: Uint8Array[];
  durationOf: (format: SyntheticFormat, variant: number) => number;
}

const TINY_SECONDS = [0.1, 0.2, 0.3, 0.4, 0.5];
const NORMAL_SECONDS = [1.5, 2, 2.5, 3];

export function makeAudioBank(tiny: boolean): AudioBank {
  const seconds = tiny ? TINY_SECONDS : NORMAL_SECONDS;
  const mp3Specs: Mp3AudioSpec[] = seconds.map((s, variant) =>
    tiny ? { seconds: s, bitrateKbps: 32 } : { seconds: s, bitrateKbps: 128, melodySeed: 2000 + variant },
  );
  const flac = seconds.map((s, variant) => encodeFlacAudio(tiny ? silence(s) : renderMelody({ seed: 1000 + variant, seconds: s })));
  return {
    variants: seconds.length,
    flac,
    mp3: mp3Specs.map(encodeMp3Audio),
    durationOf: (format, variant) =>
      format === "flac" ? flac[variant].totalSamples / flac[variant].sampleRate : mp3DurationSeconds(mp3Specs[variant]),
  };
}
