/**
 * An audible melody in MPEG-1 Layer III without an encoder. Each granule (576 samples) carries exactly one
 * non-zero spectral line of value ±1 (ISO/IEC 11172-3 §2.4.3.4: Huffman table 1 codes it in a few bits). The
 * decoder's hybrid filter bank turns spectral line k into a tone near (k + 0.5) · rate / 1152 Hz; flipping the
 * line's sign in the pattern + + − − over consecutive granules follows the phase of a steady sine (its phase
 * advances by (k + 0.5)·π per granule), so ~80% of the energy lands in that one tone instead of a buzz.
 * global_gain (1.5 dB steps in the requantisation, §2.4.3.4) shapes each note's decay. Pure: seed in, granule list out.
 */
import { Dice } from "./random.ts";

export interface ToneGranule {
  /** Spectral line 0..575 holding the ±1 value. */
  line: number;
  sign: 1 | -1;
  /** global_gain, 8 bits; 210 would be a spectral value of 1.0. */
  globalGain: number;
}

/** Loudest note start: spectral value 2^((204−210)/4) ≈ 0.35, about −12 dBFS RMS after decoding. */
const PEAK_GAIN = 204;
const SIGN_PATTERN: (1 | -1)[] = [1, 1, -1, -1];
/** Major pentatonic over two octaves from A4: below 440 Hz the line spacing (~38 Hz) is too coarse to sound in tune. */
const PENTATONIC_SEMITONES = [0, 2, 4, 7, 9, 12, 14, 16, 19, 21, 24];

export const SAMPLES_PER_GRANULE = 576;
const MELODY_STREAM = 0x6d7033;

/** The spectral line whose tone is closest to `hz`. */
export function lineForFrequency(hz: number, sampleRate: number): number {
  return Math.max(0, Math.min(575, Math.round((hz * 2 * SAMPLES_PER_GRANULE) / sampleRate - 0.5)));
}

/** The tone a line decodes to. */
export function lineFrequency(line: number, sampleRate: number): number {
  return ((line + 0.5) * sampleRate) / (2 * SAMPLES_PER_GRANULE);
}

/** `count` granules of melody: notes of 0.25–0.5 s, each starting loud and decaying ~1.5 dB every 2 granules. */
export function melodyGranules(seed: number, count: number, sampleRate: number): ToneGranule[] {
  const dice = new Dice(seed, MELODY_STREAM);
  const noteGranules = noteLength(dice, sampleRate);
  const granules: ToneGranule[] = [];
  let line = 0;
  for (let g = 0; g < count; g++) {
    const inNote = g % noteGranules;
    if (inNote === 0) line = lineForFrequency(440 * 2 ** (dice.pick(PENTATONIC_SEMITONES) / 12), sampleRate);
    granules.push({ line, sign: SIGN_PATTERN[g % SIGN_PATTERN.length], globalGain: PEAK_GAIN - (inNote >> 1) });
  }
  return granules;
}

/** How many granules each note of melodyGranules(seed, …) lasts (for tests that look at one note). */
export function granulesPerNote(seed: number, sampleRate: number): number {
  return noteLength(new Dice(seed, MELODY_STREAM), sampleRate);
}

function noteLength(dice: Dice, sampleRate: number): number {
  return Math.round((dice.pick([0.25, 0.375, 0.5]) * sampleRate) / SAMPLES_PER_GRANULE);
}
