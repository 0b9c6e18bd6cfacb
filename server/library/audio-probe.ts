import type { AudioFile } from '../types/schemas';

export type AudioFormat = AudioFile['format'];

/** What the library learns about an audio file from its bytes. */
export interface AudioProbe {
  format: AudioFormat;
  /** The stored file's extension (same as the format). */
  extension: AudioFormat;
  mimeType: string;
  durationSeconds: number;
  bitrate?: number;
  sampleRate?: number;
  codec?: string;
  tags: NonNullable<AudioFile['tags']>;
  /** The first embedded picture, bytes as stored in the file, when it is a known image type. */
  cover?: { mimeType: string; extension: string; data: Uint8Array };
}

/** The answer when the bytes are not audio the library accepts. */
export class UnsupportedMediaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedMediaError';
  }
}

const MIME_TYPES: Record<AudioFormat, string> = {
  mp3: 'audio/mpeg',
  m4a: 'audio/mp4',
  aac: 'audio/aac',
  ogg: 'audio/ogg',
  opus: 'audio/ogg',
  flac: 'audio/flac',
  wav: 'audio/wav',
};

export function mimeTypeOf(format: AudioFormat): string {
  return MIME_TYPES[format];
}

/** The library format of music-metadata's container + codec, or undefined when the library does not take it. */
function formatOf(container: string | undefined, codec: string | undefined): AudioFormat | undefined {
  const c = (container ?? '').toLowerCase();
  const k = (codec ?? '').toLowerCase();
  if (c === 'mpeg') return /layer 3/.test(k) ? 'mp3' : undefined;
  // music-metadata names raw AAC frames 'ADTS/MPEG-4' or 'ADTS/MPEG-2' (the header's MPEG version bit).
  if (c === 'adts' || c.startsWith('adts/')) return 'aac';
  if (c.startsWith('m4a') || c.startsWith('mp4') || c.startsWith('m4b') || c.startsWith('isom')) return 'm4a';
  if (c === 'ogg') return k.includes('opus') ? 'opus' : k.includes('vorbis') || k.includes('flac') ? 'ogg' : undefined;
  if (c === 'flac') return 'flac';
  if (c === 'wave') return 'wav';
  return undefined;
}

/** The image type of cover bytes by their signature; undefined for anything else (never served). */
export function imageTypeOf(bytes: Uint8Array): { mimeType: string; extension: string } | undefined {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 16));
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return { mimeType: 'image/jpeg', extension: 'jpg' };
  if (b.length >= 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return { mimeType: 'image/png', extension: 'png' };
  if (b.length >= 6 && (b.toString('latin1', 0, 6) === 'GIF87a' || b.toString('latin1', 0, 6) === 'GIF89a')) return { mimeType: 'image/gif', extension: 'gif' };
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') return { mimeType: 'image/webp', extension: 'webp' };
  return undefined;
}

type MusicMetadata = typeof import('music-metadata');
let musicMetadata: Promise<MusicMetadata> | undefined;

function loadMusicMetadata(): Promise<MusicMetadata> {
  // music-metadata is ESM-only: loaded with import() so this CommonJS module runs on every Node.js 20.
  musicMetadata ??= import('music-metadata');
  return musicMetadata;
}

function text(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/**
 * Detects the format of the file at `filePath` from its content (the path's
 * extension is not used: pass a path without an audio extension) and reads
 * duration, bit rate, sample rate, codec, tags and cover. Throws
 * UnsupportedMediaError when the bytes are not audio the library accepts.
 */
export async function probeAudioFile(filePath: string): Promise<AudioProbe> {
  const { parseFile } = await loadMusicMetadata();
  let metadata: Awaited<ReturnType<MusicMetadata['parseFile']>>;
  try {
    metadata = await parseFile(filePath, { duration: true });
  } catch (error) {
    const reason = error instanceof Error ? error.message.replace(`: ${filePath}`, '') : String(error);
    throw new UnsupportedMediaError(`the file is not audio the library can read (${reason})`);
  }
  const { format: info, common } = metadata;
  const format = formatOf(info.container, info.codec);
  if (!format || info.hasVideo === true || info.hasAudio === false) {
    throw new UnsupportedMediaError(
      `unsupported audio format ${[info.container, info.codec].filter(Boolean).join(' / ') || 'unknown'}: upload mp3, m4a/aac, ogg/opus, flac or wav`,
    );
  }
  const duration = info.duration;
  if (duration === undefined || !Number.isFinite(duration) || duration <= 0 || !info.sampleRate) {
    throw new UnsupportedMediaError('the file holds no playable audio');
  }

  const tags: NonNullable<AudioFile['tags']> = {};
  const set = (key: string, value: unknown): void => {
    const v = text(value);
    if (v !== undefined) tags[key] = v;
  };
  set('title', common.title);
  set('artist', common.artist);
  set('album', common.album);
  set('genre', common.genre?.[0]);
  set('year', common.year);
  if (common.track.no !== null) set('track', common.track.of !== null ? `${common.track.no}/${common.track.of}` : common.track.no);

  const probe: AudioProbe = {
    format,
    extension: format,
    mimeType: mimeTypeOf(format),
    durationSeconds: Math.round(duration * 1000) / 1000,
    tags,
  };
  if (info.bitrate !== undefined && Number.isFinite(info.bitrate)) probe.bitrate = Math.round(info.bitrate);
  if (Number.isFinite(info.sampleRate)) probe.sampleRate = Math.round(info.sampleRate);
  const codec = text(info.codec);
  if (codec !== undefined) probe.codec = codec.slice(0, 100);
  const picture = common.picture?.find((p) => imageTypeOf(p.data) !== undefined);
  if (picture) {
    const type = imageTypeOf(picture.data)!;
    probe.cover = { ...type, data: picture.data };
  }
  return probe;
}
