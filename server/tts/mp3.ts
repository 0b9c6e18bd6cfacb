import type { Mp3Encoder } from '@breezystack/lamejs';

/**
 * PCM to MP3 with the pure-JS LAME port (synchronous: the speech service calls
 * it in its worker thread; scripts/make-chime.mjs calls it to make the chime).
 * The package is an ES module, loaded on first use.
 */

type EncoderClass = new (channels: number, sampleRate: number, kbps: number) => Mp3Encoder;

let encoderClass: Promise<EncoderClass> | undefined;

function loadEncoder(): Promise<EncoderClass> {
  encoderClass ??= import('@breezystack/lamejs').then((lame) => lame.Mp3Encoder);
  return encoderClass;
}

/** Frames per encodeBuffer call: a multiple of the MP3 frame size (1152 samples). */
const BLOCK = 1152 * 16;

/** 16-bit PCM (interleaved when stereo) at `sampleRate` to a constant-bit-rate MP3 of `kbps`. */
export async function encodeMp3(pcm: Int16Array, sampleRate: number, channels: 1 | 2, kbps: number): Promise<Uint8Array> {
  const Encoder = await loadEncoder();
  const encoder = new Encoder(channels, sampleRate, kbps);
  const parts: Uint8Array[] = [];
  const frames = pcm.length / channels;
  let left = pcm;
  let right: Int16Array | undefined;
  if (channels === 2) {
    left = new Int16Array(frames);
    right = new Int16Array(frames);
    for (let i = 0; i < frames; i++) {
      left[i] = pcm[2 * i] ?? 0;
      right[i] = pcm[2 * i + 1] ?? 0;
    }
  }
  for (let start = 0; start < frames; start += BLOCK) {
    const end = Math.min(frames, start + BLOCK);
    parts.push(encoder.encodeBuffer(left.subarray(start, end), right?.subarray(start, end)));
  }
  parts.push(encoder.flush());
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const mp3 = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    mp3.set(part, offset);
    offset += part.length;
  }
  return mp3;
}
