/**
 * PCM for the sample files: a short melody per track (so demo tracks sound different from one another) and
 * silence (for benchmark libraries, where only the container matters and silence encodes to a few bytes).
 * Deterministic: the same seed always renders the same samples.
 */
import { makeRandom } from "./random.ts";

/** Signed integer PCM, one array per channel (FLAC codes channels separately, RFC 9639 §9.2). */
export interface PcmAudio {
  sampleRate: number;
  bitsPerSample: 16;
  channels: Int32Array[];
}

export interface MelodyOptions {
  /** Picks the notes; two tracks with different seeds get different tunes. */
  seed: number;
  seconds: number;
  sampleRate?: number;
  channelCount?: 1 | 2;
  /** Peak level relative to full scale, 0..1. */
  level?: number;
}

export function pcmFrameCount(pcm: PcmAudio): number {
  return pcm.channels[0]?.length ?? 0;
}

export function silence(seconds: number, sampleRate = 44100, channelCount: 1 | 2 = 2): PcmAudio {
  const frames = Math.round(seconds * sampleRate);
  return { sampleRate, bitsPerSample: 16, channels: Array.from({ length: channelCount }, () => new Int32Array(frames)) };
}

/** A major pentatonic scale over two octaves from A3: any note sequence from it sounds consonant. */
const PENTATONIC_SEMITONES = [0, 2, 4, 7, 9, 12, 14, 16, 19, 21];
const A3_HZ = 220;

export function noteFrequency(semitonesAboveA3: number): number {
  return A3_HZ * 2 ** (semitonesAboveA3 / 12);
}

/**
 * Renders a melody of plucked-sounding notes (a sine plus two soft harmonics under an attack/decay envelope, so
 * notes neither click nor drone). Stereo output pans each note a little differently.
 */
export function renderMelody(options: MelodyOptions): PcmAudio {
  const sampleRate = options.sampleRate ?? 44100;
  const channelCount = options.channelCount ?? 2;
  const level = options.level ?? 0.5;
  const random = makeRandom(options.seed * 2654435761 + 1);
  const frames = Math.round(options.seconds * sampleRate);
  const channels = Array.from({ length: channelCount }, () => new Int32Array(frames));
  const noteSeconds = [0.25, 0.375, 0.5][Math.floor(random() * 3)];
  const noteFrames = Math.round(noteSeconds * sampleRate);
  const attackFrames = Math.round(0.01 * sampleRate);
  const fullScale = 32767 * level;

  for (let start = 0; start < frames; start += noteFrames) {
    const frequency = noteFrequency(PENTATONIC_SEMITONES[Math.floor(random() * PENTATONIC_SEMITONES.length)]);
    const pan = 0.3 + random() * 0.4;
    const gains = channelCount === 2 ? [Math.sqrt(1 - pan), Math.sqrt(pan)] : [1];
    const end = Math.min(frames, start + noteFrames);
    for (let i = start; i < end; i++) {
      const t = (i - start) / sampleRate;
      const envelope = Math.min(1, (i - start) / attackFrames) * Math.exp((-3 * (i - start)) / noteFrames);
      const phase = 2 * Math.PI * frequency * t;
      const value = (Math.sin(phase) + 0.3 * Math.sin(2 * phase) + 0.1 * Math.sin(3 * phase)) / 1.4;
      for (let c = 0; c < channelCount; c++) channels[c][i] = Math.round(value * envelope * gains[c] * fullScale);
    }
  }
  return { sampleRate, bitsPerSample: 16, channels };
}
