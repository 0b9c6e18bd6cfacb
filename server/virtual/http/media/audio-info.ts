/** What the virtual transcoder learns about an uploaded audio file. */
export interface AudioInfo {
  format: 'mp3' | 'wav' | 'ogg' | 'flac' | 'm4a';
  /** Seconds, rounded as Yoto reports it; 0 when the container is not measured. */
  duration: number;
  channels?: 'mono' | 'stereo';
  sampleRate?: number;
  /** Bits per second. */
  bitrate?: number;
}

/** Reads the format (by content) and the duration of MP3 and WAV files; undefined when it is not audio. */
export function readAudioInfo(bytes: Uint8Array): AudioInfo | undefined {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return readWav(buffer) ?? readMp3(buffer) ?? readOtherContainer(buffer);
}

// MPEG audio frame header tables, by [version][layer] (version: 3 = MPEG-1, 2 = MPEG-2, 0 = MPEG-2.5; layer: 3 = I, 2 = II, 1 = III).
const BITRATES_KBPS: Record<string, number[]> = {
  'v1-l1': [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
  'v1-l2': [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
  'v1-l3': [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  'v2-l1': [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
  'v2-l2': [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
  'v2-l3': [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
};
const SAMPLE_RATES: Record<number, number[]> = { 3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000] };

interface MpegFrame {
  length: number;
  samples: number;
  sampleRate: number;
  bitrate: number;
  mono: boolean;
}

function readMpegFrame(buffer: Buffer, offset: number): MpegFrame | undefined {
  if (offset + 4 > buffer.length) return undefined;
  const header = buffer.readUInt32BE(offset);
  if ((header & 0xffe00000) >>> 0 !== 0xffe00000) return undefined;
  const version = (header >>> 19) & 0b11;
  const layer = (header >>> 17) & 0b11;
  const bitrateIndex = (header >>> 12) & 0b1111;
  const rateIndex = (header >>> 10) & 0b11;
  if (version === 1 || layer === 0 || bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3) return undefined;
  const layerName = layer === 3 ? 'l1' : layer === 2 ? 'l2' : 'l3';
  const bitrate = BITRATES_KBPS[`${version === 3 ? 'v1' : 'v2'}-${layerName}`]![bitrateIndex]! * 1000;
  const sampleRate = SAMPLE_RATES[version]![rateIndex]!;
  const padding = (header >>> 9) & 1;
  const mono = ((header >>> 6) & 0b11) === 3;
  if (layerName === 'l1') return { length: (Math.floor((12 * bitrate) / sampleRate) + padding) * 4, samples: 384, sampleRate, bitrate, mono };
  const samples = layerName === 'l3' && version !== 3 ? 576 : 1152;
  return { length: Math.floor((samples / 8) * bitrate / sampleRate) + padding, samples, sampleRate, bitrate, mono };
}

function id3v2Size(buffer: Buffer): number {
  if (buffer.length < 10 || buffer.toString('latin1', 0, 3) !== 'ID3') return 0;
  const size = ((buffer[6]! & 0x7f) << 21) | ((buffer[7]! & 0x7f) << 14) | ((buffer[8]! & 0x7f) << 7) | (buffer[9]! & 0x7f);
  const hasFooter = (buffer[5]! & 0x10) !== 0;
  return 10 + size + (hasFooter ? 10 : 0);
}

/** Walks the MPEG frames after any ID3v2 tag; needs a run of consecutive frames to call it MP3. */
function readMp3(buffer: Buffer): AudioInfo | undefined {
  let offset = id3v2Size(buffer);
  // Some encoders pad between the tag and the first frame: look a little further for a sync word.
  const searchEnd = Math.min(buffer.length, offset + 4096);
  while (offset < searchEnd && !readMpegFrame(buffer, offset)) offset++;
  let frames = 0;
  let samples = 0;
  let first: MpegFrame | undefined;
  let bits = 0;
  for (let frame = readMpegFrame(buffer, offset); frame && frame.length > 0; frame = readMpegFrame(buffer, offset)) {
    first ??= frame;
    frames++;
    samples += frame.samples;
    bits += frame.bitrate * (frame.samples / frame.sampleRate);
    offset += frame.length;
  }
  if (!first || frames < 3) return undefined;
  const seconds = samples / first.sampleRate;
  return {
    format: 'mp3',
    duration: Math.round(seconds),
    channels: first.mono ? 'mono' : 'stereo',
    sampleRate: first.sampleRate,
    bitrate: Math.round(bits / seconds),
  };
}

function readWav(buffer: Buffer): AudioInfo | undefined {
  if (buffer.length < 12 || buffer.toString('latin1', 0, 4) !== 'RIFF' || buffer.toString('latin1', 8, 12) !== 'WAVE') return undefined;
  let offset = 12;
  let channels = 0;
  let sampleRate = 0;
  let byteRate = 0;
  while (offset + 8 <= buffer.length) {
    const id = buffer.toString('latin1', offset, offset + 4);
    const size = buffer.readUInt32LE(offset + 4);
    if (id === 'fmt ' && offset + 24 <= buffer.length) {
      channels = buffer.readUInt16LE(offset + 10);
      sampleRate = buffer.readUInt32LE(offset + 12);
      byteRate = buffer.readUInt32LE(offset + 16);
    }
    if (id === 'data' && byteRate > 0) {
      const dataBytes = Math.min(size, buffer.length - offset - 8);
      return { format: 'wav', duration: Math.round(dataBytes / byteRate), channels: channels === 1 ? 'mono' : 'stereo', sampleRate, bitrate: byteRate * 8 };
    }
    offset += 8 + size + (size % 2);
  }
  return undefined;
}

/** Containers the virtual transcoder accepts without measuring them (duration 0). */
function readOtherContainer(buffer: Buffer): AudioInfo | undefined {
  if (buffer.toString('latin1', 0, 4) === 'OggS') return { format: 'ogg', duration: 0 };
  if (buffer.toString('latin1', 0, 4) === 'fLaC') return { format: 'flac', duration: 0 };
  if (buffer.length >= 12 && buffer.toString('latin1', 4, 8) === 'ftyp') return { format: 'm4a', duration: 0 };
  return undefined;
}
