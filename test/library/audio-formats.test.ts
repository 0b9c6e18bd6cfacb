import { expect } from 'chai';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { packageRoot } from '../../server/paths';
import type { AudioFile } from '../../server/types/schemas';
import { TINY_PNG, wavFile } from './media';
import { useLibraryRig } from './rig';

/** Committed fixtures made by scripts/make-audio-fixtures.sh: 2 s of a 440 Hz sine, mono. */
const audioFixtures = path.join(packageRoot, 'test', 'fixtures', 'audio');

/** The seconds and sample rate read from the file's own headers, independently of music-metadata. */
interface Truth {
  seconds: number;
  sampleRate: number;
}

/** The boxes inside `[start, end)` of an ISO BMFF (MP4) file: type and content range. */
function* mp4Boxes(file: Buffer, start: number, end: number): Generator<{ type: string; start: number; end: number }> {
  let offset = start;
  while (offset + 8 <= end) {
    let size = file.readUInt32BE(offset);
    let header = 8;
    if (size === 1) {
      size = Number(file.readBigUInt64BE(offset + 8));
      header = 16;
    } else if (size === 0) {
      size = end - offset;
    }
    if (size < header || offset + size > end) throw new Error(`bad MP4 box at ${offset}`);
    yield { type: file.toString('latin1', offset + 4, offset + 8), start: offset + header, end: offset + size };
    offset += size;
  }
}

/** The content range of the box at `boxPath` (e.g. moov/trak/mdia), the first one of each type. */
function mp4Box(file: Buffer, boxPath: string[]): { start: number; end: number } {
  let range = { start: 0, end: file.length };
  for (const type of boxPath) {
    const found = [...mp4Boxes(file, range.start, range.end)].find((b) => b.type === type);
    if (!found) throw new Error(`no ${boxPath.join('/')} box`);
    range = found;
  }
  return range;
}

/**
 * M4A: the presentation length from the movie header (mvhd duration / timescale, which
 * ffmpeg's edit list makes exclude the AAC encoder delay) and the sample rate from the
 * mp4a sample entry in stsd.
 */
function m4aTruth(file: Buffer): Truth {
  const mvhd = mp4Box(file, ['moov', 'mvhd']);
  const v1 = file[mvhd.start] === 1;
  const timescale = file.readUInt32BE(mvhd.start + (v1 ? 20 : 12));
  const duration = v1 ? Number(file.readBigUInt64BE(mvhd.start + 24)) : file.readUInt32BE(mvhd.start + 16);
  const stsd = mp4Box(file, ['moov', 'trak', 'mdia', 'minf', 'stbl', 'stsd']);
  const entry = [...mp4Boxes(file, stsd.start + 8, stsd.end)][0]!;
  expect(entry.type).to.equal('mp4a');
  // SampleEntry (8 bytes), reserved (8), channelcount, samplesize, pre_defined, reserved (2 each), samplerate 16.16.
  return { seconds: duration / timescale, sampleRate: file.readUInt16BE(entry.start + 24) };
}

const ADTS_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/** ADTS: every frame walked, 1024 samples per raw data block. */
function adtsTruth(file: Buffer): Truth {
  let offset = 0;
  let samples = 0;
  let sampleRate = 0;
  while (offset + 7 <= file.length) {
    if (file[offset] !== 0xff || (file[offset + 1]! & 0xf6) !== 0xf0) throw new Error(`no ADTS sync at ${offset}`);
    sampleRate = ADTS_RATES[(file[offset + 2]! >> 2) & 0x0f]!;
    const length = ((file[offset + 3]! & 0x03) << 11) | (file[offset + 4]! << 3) | (file[offset + 5]! >> 5);
    samples += 1024 * ((file[offset + 6]! & 0x03) + 1);
    offset += length;
  }
  expect(offset, 'the frames fill the file exactly').to.equal(file.length);
  return { seconds: samples / sampleRate, sampleRate };
}

/** The first packet of each Ogg page and the last page's granule position, pages walked to the end. */
function oggPages(file: Buffer): { firstPacket: Buffer; lastGranule: bigint } {
  let offset = 0;
  let firstPacket: Buffer | undefined;
  let lastGranule = 0n;
  while (offset + 27 <= file.length) {
    if (file.toString('latin1', offset, offset + 4) !== 'OggS') throw new Error(`no Ogg page at ${offset}`);
    const segments = file[offset + 26]!;
    const table = file.subarray(offset + 27, offset + 27 + segments);
    const bodyLength = table.reduce((sum, n) => sum + n, 0);
    const body = offset + 27 + segments;
    if (!firstPacket) {
      let packetLength = 0;
      for (const n of table) {
        packetLength += n;
        if (n < 255) break;
      }
      firstPacket = file.subarray(body, body + packetLength);
    }
    lastGranule = file.readBigInt64LE(offset + 6);
    offset = body + bodyLength;
  }
  expect(offset, 'the pages fill the file exactly').to.equal(file.length);
  return { firstPacket: firstPacket!, lastGranule };
}

/** Ogg Vorbis: the last granule position (PCM samples) over the identification header's rate. */
function vorbisTruth(file: Buffer): Truth {
  const { firstPacket, lastGranule } = oggPages(file);
  expect(firstPacket.toString('latin1', 0, 7)).to.equal('\x01vorbis');
  const sampleRate = firstPacket.readUInt32LE(12);
  return { seconds: Number(lastGranule) / sampleRate, sampleRate };
}

/** Ogg Opus (RFC 7845): granule positions count 48 kHz samples, the first pre-skip of them not played. */
function opusTruth(file: Buffer): Truth {
  const { firstPacket, lastGranule } = oggPages(file);
  expect(firstPacket.toString('latin1', 0, 8)).to.equal('OpusHead');
  const preSkip = firstPacket.readUInt16LE(10);
  return { seconds: (Number(lastGranule) - preSkip) / 48000, sampleRate: 48000 };
}

/** FLAC: sample rate and total samples from STREAMINFO, the first metadata block. */
function flacTruth(file: Buffer): Truth {
  expect(file.toString('latin1', 0, 4)).to.equal('fLaC');
  expect(file[4]! & 0x7f, 'STREAMINFO comes first').to.equal(0);
  const info = 8;
  const sampleRate = (file[info + 10]! << 12) | (file[info + 11]! << 4) | (file[info + 12]! >> 4);
  const totalSamples = (file[info + 13]! & 0x0f) * 2 ** 32 + file.readUInt32BE(info + 14);
  return { seconds: totalSamples / sampleRate, sampleRate };
}

interface FormatCase {
  /** What the case is called in the test title. */
  label: string;
  bytes: () => Promise<Buffer>;
  truth: (file: Buffer) => Truth;
  /** A name and part content type that point at another format. */
  sentAs: { fileName: string; contentType: string };
  format: AudioFile['format'];
  mimeType: string;
  codec: RegExp;
}

const fixture = (name: string) => (): Promise<Buffer> => fs.readFile(path.join(audioFixtures, name));

const CASES: FormatCase[] = [
  {
    label: 'AAC in MP4 (tone.m4a)',
    bytes: fixture('tone.m4a'),
    truth: m4aTruth,
    sentAs: { fileName: 'tone.mp3', contentType: 'audio/mpeg' },
    format: 'm4a',
    mimeType: 'audio/mp4',
    codec: /AAC/,
  },
  {
    label: 'AAC in ADTS frames (tone.aac)',
    bytes: fixture('tone.aac'),
    truth: adtsTruth,
    sentAs: { fileName: 'notes.txt', contentType: 'text/plain' },
    format: 'aac',
    mimeType: 'audio/aac',
    codec: /AAC/,
  },
  {
    label: 'Vorbis in Ogg (tone.ogg)',
    bytes: fixture('tone.ogg'),
    truth: vorbisTruth,
    sentAs: { fileName: 'tone.opus', contentType: 'audio/ogg; codecs=opus' },
    format: 'ogg',
    mimeType: 'audio/ogg',
    codec: /Vorbis/,
  },
  {
    label: 'Opus in Ogg (tone.opus)',
    bytes: fixture('tone.opus'),
    truth: opusTruth,
    sentAs: { fileName: 'tone.ogg', contentType: 'audio/vorbis' },
    format: 'opus',
    mimeType: 'audio/ogg',
    codec: /Opus/,
  },
  {
    label: 'FLAC (tone.flac)',
    bytes: fixture('tone.flac'),
    truth: flacTruth,
    sentAs: { fileName: 'tone.wav', contentType: 'audio/wav' },
    format: 'flac',
    mimeType: 'audio/flac',
    codec: /FLAC/,
  },
  {
    // Built by media.ts rather than ffmpeg: 2 s of 16-bit PCM at 8000 Hz, so the truth is what was asked for.
    label: 'PCM in WAV (built by wavFile)',
    bytes: () => Promise.resolve(wavFile(2, 8000)),
    truth: () => ({ seconds: 2, sampleRate: 8000 }),
    sentAs: { fileName: 'notes.txt', contentType: 'text/plain' },
    format: 'wav',
    mimeType: 'audio/wav',
    codec: /PCM/,
  },
];

describe('audio library: formats detected from content', function () {
  const rig = useLibraryRig();

  async function upload(bytes: Buffer, sentAs: { fileName: string; contentType: string }): Promise<AudioFile> {
    const res = await rig.upload('alice', [{ name: 'file', ...sentAs, data: bytes }]);
    expect(res.status, await res.clone().text()).to.equal(201);
    return (await res.json()) as AudioFile;
  }

  for (const c of CASES) {
    it(`detects ${c.label} uploaded as ${c.sentAs.fileName}, with its true duration and sample rate, and streams it back`, async () => {
      const bytes = await c.bytes();
      const truth = c.truth(bytes);
      // The fixtures hold the 2 s tone they were asked for: a check on the header readers above.
      expect(truth.seconds, 'header duration').to.be.closeTo(2, 0.1);

      const record = await upload(bytes, c.sentAs);
      expect(record.format).to.equal(c.format);
      expect(record.mimeType).to.equal(c.mimeType);
      expect(record.codec).to.match(c.codec);
      expect(record.sampleRate).to.equal(truth.sampleRate);
      expect(record.durationSeconds).to.be.closeTo(truth.seconds, truth.seconds * 0.05);
      expect(record.bitrate).to.be.a('number').greaterThan(0);
      expect(record.hasCover).to.equal(false);
      expect(record.fileSize).to.equal(bytes.length);
      expect(record.originalName).to.equal(c.sentAs.fileName);
      expect(record.fileName).to.equal(`${record.id}.${c.format}`);
      expect(await fs.readFile(path.join(rig.dataDir, 'audio', record.fileName))).to.deep.equal(bytes);

      const whole = await rig.fetchAs('alice', `/${record.id}/stream`);
      expect(whole.status).to.equal(200);
      expect(whole.headers.get('content-type')).to.equal(c.mimeType);
      expect(whole.headers.get('accept-ranges')).to.equal('bytes');
      expect(Buffer.from(await whole.arrayBuffer())).to.deep.equal(bytes);

      const part = await rig.fetchAs('alice', `/${record.id}/stream`, { headers: { range: 'bytes=100-1099' } });
      expect(part.status).to.equal(206);
      expect(part.headers.get('content-type')).to.equal(c.mimeType);
      expect(part.headers.get('content-range')).to.equal(`bytes 100-1099/${bytes.length}`);
      expect(Buffer.from(await part.arrayBuffer())).to.deep.equal(bytes.subarray(100, 1100));
    });
  }

  it('keeps the cover picture of a FLAC file (tone-cover.flac) and serves it byte for byte', async () => {
    const bytes = await fs.readFile(path.join(audioFixtures, 'tone-cover.flac'));
    const record = await upload(bytes, { fileName: 'cover.mp3', contentType: 'audio/mpeg' });
    expect(record.format).to.equal('flac');
    expect(record.fileName).to.equal(`${record.id}.flac`);
    const truth = flacTruth(bytes);
    expect(record.durationSeconds).to.be.closeTo(truth.seconds, truth.seconds * 0.05);
    expect(record.sampleRate).to.equal(truth.sampleRate);
    expect(record.hasCover).to.equal(true);
    const cover = await rig.fetchAs('alice', `/${record.id}/cover`);
    expect(cover.status).to.equal(200);
    expect(cover.headers.get('content-type')).to.equal('image/png');
    expect(Buffer.from(await cover.arrayBuffer())).to.deep.equal(TINY_PNG);
  });
});
