/**
 * What a player can tell from the first bytes of a stream: whether it is
 * audio at all, and for MP3 how long it lasts.
 */

const MPEG1_LAYER3_KBPS = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
const MPEG2_LAYER3_KBPS = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
const SAMPLE_RATES: Record<number, number[]> = { 3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000] };

function startsWith(bytes: Buffer, text: string, offset = 0): boolean {
  return bytes.length >= offset + text.length && bytes.toString('latin1', offset, offset + text.length) === text;
}

/** Size of a leading ID3v2 tag (0 when there is none). */
function id3Size(bytes: Buffer): number {
  if (!startsWith(bytes, 'ID3') || bytes.length < 10) return 0;
  const size = ((bytes[6]! & 0x7f) << 21) | ((bytes[7]! & 0x7f) << 14) | ((bytes[8]! & 0x7f) << 7) | (bytes[9]! & 0x7f);
  const footer = (bytes[5]! & 0x10) !== 0 ? 10 : 0;
  return 10 + size + footer;
}

function isFrameSync(bytes: Buffer, offset: number): boolean {
  return bytes.length >= offset + 4 && bytes[offset] === 0xff && (bytes[offset + 1]! & 0xe0) === 0xe0;
}

/** Whether the bytes look like an audio container or codec a player could decode. */
export function looksLikeAudio(contentType: string, head: Buffer): boolean {
  const text = head.toString('latin1', 0, Math.min(head.length, 64)).trimStart();
  if (text.startsWith('<') || text.startsWith('{') || text.startsWith('[')) return false;
  const sniffed =
    startsWith(head, 'ID3') ||
    isFrameSync(head, 0) ||
    startsWith(head, 'OggS') ||
    startsWith(head, 'fLaC') ||
    (startsWith(head, 'RIFF') && startsWith(head, 'WAVE', 8)) ||
    startsWith(head, 'ftyp', 4);
  return sniffed || contentType.toLowerCase().startsWith('audio/');
}

/**
 * Seconds of MP3 audio, from the Xing/Info frame count when the encoder wrote
 * one, else from the bitrate of the first frame and the byte count.
 */
export function estimateMp3Seconds(head: Buffer, totalBytes: number | undefined): number | undefined {
  const start = id3Size(head);
  if (!isFrameSync(head, start)) return undefined;
  const b1 = head[start + 1]!;
  const b2 = head[start + 2]!;
  const b3 = head[start + 3]!;
  const version = (b1 >> 3) & 3;
  const layer = (b1 >> 1) & 3;
  if (layer !== 1 || version === 1) return undefined;
  const sampleRate = SAMPLE_RATES[version]?.[(b2 >> 2) & 3];
  const kbps = (version === 3 ? MPEG1_LAYER3_KBPS : MPEG2_LAYER3_KBPS)[b2 >> 4];
  if (!sampleRate || !kbps) return undefined;
  const mono = b3 >> 6 === 3;
  const samplesPerFrame = version === 3 ? 1152 : 576;
  const sideInfo = version === 3 ? (mono ? 17 : 32) : mono ? 9 : 17;
  const xing = start + 4 + sideInfo;
  if ((startsWith(head, 'Xing', xing) || startsWith(head, 'Info', xing)) && head.length >= xing + 12) {
    const flags = head.readUInt32BE(xing + 4);
    if (flags & 1) return (head.readUInt32BE(xing + 8) * samplesPerFrame) / sampleRate;
  }
  if (totalBytes === undefined || totalBytes <= start) return undefined;
  return ((totalBytes - start) * 8) / (kbps * 1000);
}
