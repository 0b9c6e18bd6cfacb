/**
 * Test media built or measured independently of the code under test (no
 * music-metadata here): an MPEG audio frame walker for the true duration of
 * the fixture MP3s, an ID3v2.3 tag writer for covers and tags, a WAV writer
 * and a raw multipart body builder (so file names reach the server byte for byte).
 */

/** ID3v2 tag length (header + body + footer) at the start of `buffer`, 0 when there is none. */
export function id3v2Length(buffer: Buffer): number {
  if (buffer.length < 10 || buffer.toString('latin1', 0, 3) !== 'ID3') return 0;
  const size = ((buffer[6]! & 0x7f) << 21) | ((buffer[7]! & 0x7f) << 14) | ((buffer[8]! & 0x7f) << 7) | (buffer[9]! & 0x7f);
  return 10 + size + ((buffer[5]! & 0x10) !== 0 ? 10 : 0);
}

const L3_KBPS_V1 = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
const L3_KBPS_V2 = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
const RATES: Record<number, number[]> = { 3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000] };

export interface MpegCount {
  /** Audio frames, not counting a leading Xing/Info frame (which carries no audio). */
  frames: number;
  samplesPerFrame: number;
  sampleRate: number;
  seconds: number;
  /** The frame count the Xing/Info header declares, when there is one. */
  xingFrames?: number;
}

/** Walks every MPEG-1/2/2.5 Layer III frame after the ID3v2 tag. */
export function countMpegFrames(file: Buffer): MpegCount {
  let offset = id3v2Length(file);
  while (offset + 4 <= file.length && !(file[offset] === 0xff && (file[offset + 1]! & 0xe0) === 0xe0)) offset++;
  let frames = 0;
  let sampleRate = 0;
  let samplesPerFrame = 0;
  let xingFrames: number | undefined;
  while (offset + 4 <= file.length) {
    const h = file.readUInt32BE(offset);
    if ((h & 0xffe00000) >>> 0 !== 0xffe00000) break;
    const version = (h >>> 19) & 3;
    const layer = (h >>> 17) & 3;
    const bitrateIndex = (h >>> 12) & 15;
    const rateIndex = (h >>> 10) & 3;
    if (version === 1 || layer !== 1 || bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3) break;
    const bitrate = (version === 3 ? L3_KBPS_V1 : L3_KBPS_V2)[bitrateIndex]! * 1000;
    sampleRate = RATES[version]![rateIndex]!;
    samplesPerFrame = version === 3 ? 1152 : 576;
    const length = Math.floor(((samplesPerFrame / 8) * bitrate) / sampleRate) + ((h >>> 9) & 1);
    const body = file.subarray(offset, offset + Math.min(length, 64));
    const tagAt = Math.max(body.indexOf('Xing'), body.indexOf('Info'));
    if (frames === 0 && xingFrames === undefined && tagAt > 0) {
      const flags = file.readUInt32BE(offset + tagAt + 4);
      if (flags & 1) xingFrames = file.readUInt32BE(offset + tagAt + 8);
    } else {
      frames++;
    }
    offset += length;
  }
  return { frames, samplesPerFrame, sampleRate, seconds: (frames * samplesPerFrame) / sampleRate, ...(xingFrames !== undefined ? { xingFrames } : {}) };
}

function syncsafe(n: number): Buffer {
  return Buffer.from([(n >>> 21) & 0x7f, (n >>> 14) & 0x7f, (n >>> 7) & 0x7f, n & 0x7f]);
}

function id3Frame(id: string, body: Buffer): Buffer {
  const header = Buffer.alloc(10);
  header.write(id, 0, 'latin1');
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

/** An ID3v2.3 tag with title, artist, album and an attached picture. */
export function id3v23Tag(tags: { title?: string; artist?: string; album?: string }, picture?: { mime: string; data: Buffer }): Buffer {
  const frames: Buffer[] = [];
  const text = (id: string, value: string | undefined): void => {
    if (value !== undefined) frames.push(id3Frame(id, Buffer.concat([Buffer.from([0]), Buffer.from(value, 'latin1')])));
  };
  text('TIT2', tags.title);
  text('TPE1', tags.artist);
  text('TALB', tags.album);
  if (picture) {
    frames.push(id3Frame('APIC', Buffer.concat([Buffer.from([0]), Buffer.from(`${picture.mime}\0`, 'latin1'), Buffer.from([3]), Buffer.from([0]), picture.data])));
  }
  const body = Buffer.concat(frames);
  return Buffer.concat([Buffer.from('ID3', 'latin1'), Buffer.from([3, 0, 0]), syncsafe(body.length), body]);
}

/** The fixture's MPEG frames under a new ID3v2.3 tag. */
export function retagMp3(mp3: Buffer, tag: Buffer): Buffer {
  return Buffer.concat([tag, mp3.subarray(id3v2Length(mp3))]);
}

/** A 1x1 PNG: real image bytes, so the stored cover can be compared byte for byte. */
export const TINY_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

/** A quiet square wave, the default content of `wavFile`. */
const squareWave = (i: number): number => (i % 40 < 20 ? 1000 : -1000);

/** A mono 16-bit PCM WAV of `seconds`, sample i being `sample(i)` (a quiet square wave unless told). */
export function wavFile(seconds: number, sampleRate = 8000, sample: (i: number) => number = squareWave): Buffer {
  const samples = Math.round(seconds * sampleRate);
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) data.writeInt16LE(sample(i), i * 2);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

export interface MultipartPart {
  name: string;
  /** Written raw (latin1 bytes) into `filename="..."`, so control characters arrive as sent. */
  fileName?: string;
  /** Written as `filename*=UTF-8''<this>` (RFC 5987, already percent-encoded): how control characters can reach the server. */
  fileNameStar?: string;
  contentType?: string;
  data: Buffer | string;
}

/** A multipart/form-data body built by hand. */
export function multipart(parts: MultipartPart[]): { body: Uint8Array<ArrayBuffer>; contentType: string } {
  const boundary = `----yoto-test-${Math.random().toString(16).slice(2)}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"`;
    if (part.fileName !== undefined) head += `; filename="${part.fileName}"`;
    if (part.fileNameStar !== undefined) head += `; filename*=UTF-8''${part.fileNameStar}`;
    head += '\r\n';
    if (part.contentType) head += `Content-Type: ${part.contentType}\r\n`;
    head += '\r\n';
    chunks.push(Buffer.from(head, 'latin1'), Buffer.isBuffer(part.data) ? part.data : Buffer.from(part.data, 'utf8'), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: new Uint8Array(Buffer.concat(chunks)), contentType: `multipart/form-data; boundary=${boundary}` };
}
