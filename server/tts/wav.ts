/** 16-bit PCM read out of a WAV file, interleaved when stereo. */
export interface WavPcm {
  pcm: Int16Array;
  sampleRate: number;
  channels: 1 | 2;
}

const PCM = 1;
const FLOAT = 3;
const EXTENSIBLE = 0xfffe;
/** The sample rates the MP3 encoder takes (MPEG 1, 2 and 2.5). */
export const MP3_SAMPLE_RATES = [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000];

/**
 * Reads a RIFF/WAVE file as TTS servers send it: PCM 8, 16, 24 or 32 bit
 * or 32-bit float, mono or stereo (more channels keep the first two). A
 * data chunk whose size is 0 or past the end (servers that stream the WAV)
 * runs to the end of the file. Throws an Error saying what is wrong.
 */
export function readWav(bytes: Uint8Array): WavPcm {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (at: number): string => String.fromCharCode(bytes[at] ?? 0, bytes[at + 1] ?? 0, bytes[at + 2] ?? 0, bytes[at + 3] ?? 0);
  if (bytes.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw new Error('the answer is not a WAV file');
  let format: { code: number; channels: number; sampleRate: number; bits: number } | undefined;
  let offset = 12;
  while (offset + 8 <= bytes.length) {
    const id = tag(offset);
    const declared = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === 'fmt ' && body + 16 <= bytes.length) {
      let code = view.getUint16(body, true);
      if (code === EXTENSIBLE && declared >= 40 && body + 26 <= bytes.length) code = view.getUint16(body + 24, true);
      format = { code, channels: view.getUint16(body + 2, true), sampleRate: view.getUint32(body + 4, true), bits: view.getUint16(body + 14, true) };
    } else if (id === 'data') {
      if (!format) throw new Error('the WAV file has no format before its data');
      const size = declared === 0 || body + declared > bytes.length ? bytes.length - body : declared;
      return { ...convert(bytes.subarray(body, body + size), format), sampleRate: format.sampleRate };
    }
    offset = body + declared + (declared % 2);
  }
  throw new Error('the WAV file has no audio data');
}

function convert(data: Uint8Array, format: { code: number; channels: number; bits: number }): { pcm: Int16Array; channels: 1 | 2 } {
  const { code, channels, bits } = format;
  const width = bits / 8;
  if (channels < 1 || !Number.isInteger(width) || width < 1) throw new Error(`the WAV file's format is not usable (${channels} channels, ${bits} bits)`);
  const readers: Record<string, (view: DataView, at: number) => number> = {
    [`${PCM}:8`]: (view, at) => (view.getUint8(at) - 128) << 8,
    [`${PCM}:16`]: (view, at) => view.getInt16(at, true),
    [`${PCM}:24`]: (view, at) => view.getInt16(at + 1, true),
    [`${PCM}:32`]: (view, at) => view.getInt32(at, true) >> 16,
    [`${FLOAT}:32`]: (view, at) => Math.max(-32768, Math.min(32767, Math.round(view.getFloat32(at, true) * 32767))),
  };
  const read = readers[`${code}:${bits}`];
  if (!read) throw new Error(`the WAV file's encoding is not supported (format ${code}, ${bits} bits); send 16-bit PCM`);
  const kept = Math.min(channels, 2) as 1 | 2;
  const frames = Math.floor(data.length / (width * channels));
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const pcm = new Int16Array(frames * kept);
  for (let frame = 0; frame < frames; frame++) {
    for (let channel = 0; channel < kept; channel++) pcm[frame * kept + channel] = read(view, (frame * channels + channel) * width);
  }
  return { pcm, channels: kept };
}

/** Linear resampling to `to` Hz, for WAVs at a rate the MP3 encoder does not take. */
export function resample(input: WavPcm, to: number): WavPcm {
  const { pcm, channels, sampleRate } = input;
  const frames = pcm.length / channels;
  const outFrames = Math.max(1, Math.round((frames * to) / sampleRate));
  const out = new Int16Array(outFrames * channels);
  const step = sampleRate / to;
  for (let frame = 0; frame < outFrames; frame++) {
    const at = frame * step;
    const before = Math.min(frames - 1, Math.floor(at));
    const after = Math.min(frames - 1, before + 1);
    const weight = at - before;
    for (let channel = 0; channel < channels; channel++) {
      const a = pcm[before * channels + channel] ?? 0;
      const b = pcm[after * channels + channel] ?? 0;
      out[frame * channels + channel] = Math.round(a + (b - a) * weight);
    }
  }
  return { pcm: out, channels, sampleRate: to };
}
