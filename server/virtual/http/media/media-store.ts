import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { realClock, type TimeSource } from '../../../time/clock';
import type { YotoTranscode } from '../../../yoto/rest/types';
import { writeFileAtomic } from '../../../files/atomic-file';
import { PersistedJson } from '../../cards/persisted-json';
import { VirtualHttpError } from '../errors';
import { readAudioInfo, type AudioInfo } from './audio-info';
import { IMAGE_CONTENT_TYPES, readImageInfo, strictIconProblem } from './image-info';
import { encodePng } from './png';

export interface StoredIcon {
  displayIconId: string;
  mediaId: string;
  userId: string;
  createdAt: string;
  title?: string;
  public: boolean;
  publicTags?: string[];
  contentType: string;
}

interface StoredAudio {
  sha256: string;
  transcodedSha256: string;
  transcodedAt: string;
  info: AudioInfo;
  fileSize: number;
}

interface AudioUpload {
  uploadId: string;
  sha256: string;
  filename?: string;
  /** Stands in for the presigned URL's signature. */
  signature: string;
  receivedAt?: number;
  /** The Content-Type the bytes came with. */
  contentType?: string;
  readyAt?: number;
  failed?: boolean;
}

/** The presigned upload URL is signed for this Content-Type: another one fails its signature, as on S3. */
export const PRESIGNED_AUDIO_CONTENT_TYPE = 'audio/mpeg';

interface MediaFile {
  version: 1;
  icons: StoredIcon[];
  audio: StoredAudio[];
}

export interface MediaStoreOptions {
  dataDir?: string;
  clock?: TimeSource;
  userId?: string;
  /** How long the virtual transcoder takes after the bytes arrive. Default 1000 ms. */
  transcodeDelayMs?: number;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Display icons and uploaded audio of the virtual cloud. Icons are checked
 * like Yoto checks them (16x16 PNG/GIF unless autoConvert) and deduplicated
 * by content. Audio follows Yoto's flow: an upload URL per sha256 (none when
 * the audio is already there), the bytes PUT to it, then a "transcode" that
 * reads the real duration of MP3 and WAV files. The virtual transcoder keeps
 * the bytes as they are; the transcoded sha256 is derived from the upload's.
 */
export class VirtualMediaStore {
  private readonly icons = new Map<string, StoredIcon>();
  private readonly publicIconList: StoredIcon[];
  private readonly publicIconBytes = new Map<string, Buffer>();
  private readonly audioBySha = new Map<string, StoredAudio>();
  private readonly uploads = new Map<string, AudioUpload>();
  private readonly memoryBytes = new Map<string, Buffer>();
  private readonly file: PersistedJson<MediaFile>;
  private readonly bytesDir: string | undefined;
  private readonly clock: TimeSource;
  private readonly userId: string;
  private readonly transcodeDelayMs: number;

  constructor(options: MediaStoreOptions = {}) {
    this.clock = options.clock ?? realClock;
    this.userId = options.userId ?? 'virtual-user';
    this.transcodeDelayMs = options.transcodeDelayMs ?? 1000;
    this.file = new PersistedJson(options.dataDir ? path.join(options.dataDir, 'media.json') : undefined);
    this.bytesDir = options.dataDir ? path.join(options.dataDir, 'media') : undefined;
    this.publicIconList = this.createPublicIcons();
  }

  async load(): Promise<void> {
    const stored = await this.file.read();
    for (const icon of stored?.icons ?? []) this.icons.set(icon.mediaId, icon);
    for (const audio of stored?.audio ?? []) this.audioBySha.set(audio.sha256, audio);
  }

  async flush(): Promise<void> {
    await this.file.flush();
  }

  publicIcons(): StoredIcon[] {
    return [...this.publicIconList];
  }

  myIcons(): StoredIcon[] {
    return [...this.icons.values()];
  }

  /** Stores an icon, or returns the one with the same bytes (created: false). */
  async uploadIcon(bytes: Buffer, options: { autoConvert: boolean; filename?: string }): Promise<{ icon: StoredIcon; created: boolean }> {
    if (bytes.length === 0) throw VirtualHttpError.badRequest('the upload is empty: send the image bytes as the request body');
    const info = readImageInfo(bytes);
    if (!info) throw VirtualHttpError.badRequest(strictIconProblem(info)!, 'invalid_icon');
    const problem = options.autoConvert ? undefined : strictIconProblem(info);
    if (problem) throw VirtualHttpError.badRequest(problem, 'invalid_icon');
    const mediaId = createHash('sha256').update(bytes).digest('base64url');
    const existing = this.icons.get(mediaId);
    if (existing) return { icon: existing, created: false };
    const icon: StoredIcon = {
      displayIconId: randomBytes(12).toString('hex'),
      mediaId,
      userId: this.userId,
      createdAt: new Date(this.clock.now()).toISOString(),
      ...(options.filename ? { title: options.filename } : {}),
      public: false,
      contentType: IMAGE_CONTENT_TYPES[info.format],
    };
    await this.writeBytes(`icons/${mediaId}`, bytes);
    this.icons.set(mediaId, icon);
    await this.persist();
    return { icon, created: true };
  }

  async iconBytes(mediaId: string): Promise<{ bytes: Buffer; contentType: string } | undefined> {
    const publicBytes = this.publicIconBytes.get(mediaId);
    if (publicBytes) return { bytes: publicBytes, contentType: 'image/png' };
    const icon = this.icons.get(mediaId);
    if (!icon) return undefined;
    const bytes = await this.readBytes(`icons/${mediaId}`);
    return bytes ? { bytes, contentType: icon.contentType } : undefined;
  }

  /** `GET /media/transcode/audio/uploadUrl`: a signature for the upload URL, or null when the audio is already here. */
  requestAudioUpload(sha256: string | undefined, filename: string | undefined): { uploadId: string; signature: string | null } {
    if (!sha256 || !SHA256_HEX.test(sha256)) {
      throw VirtualHttpError.badRequest('sha256 must be the 64 hex digits of the file\'s SHA-256', 'invalid_sha256');
    }
    const uploadId = randomBytes(12).toString('hex');
    const known = this.audioBySha.get(sha256);
    const upload: AudioUpload = { uploadId, sha256, signature: randomBytes(16).toString('base64url'), ...(filename ? { filename } : {}) };
    if (known) {
      upload.receivedAt = this.clock.now();
      upload.readyAt = this.clock.now();
    }
    this.uploads.set(uploadId, upload);
    return { uploadId, signature: known ? null : upload.signature };
  }

  /** The PUT to the upload URL: checks signature and checksum, then starts the transcode. */
  async receiveAudio(uploadId: string, signature: string | undefined, bytes: Buffer, contentType?: string): Promise<void> {
    const upload = this.uploads.get(uploadId);
    if (!upload || signature !== upload.signature) throw new VirtualHttpError(403, 'signature_does_not_match', 'the upload URL is not valid');
    const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
    upload.contentType = type;
    if (type !== PRESIGNED_AUDIO_CONTENT_TYPE) {
      throw new VirtualHttpError(403, 'signature_does_not_match', `the upload URL is signed for Content-Type ${PRESIGNED_AUDIO_CONTENT_TYPE}, got ${type || 'none'}`);
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (sha256 !== upload.sha256) {
      throw VirtualHttpError.badRequest(`the bytes do not match the sha256 given for this upload (got ${sha256})`, 'bad_digest');
    }
    upload.receivedAt = this.clock.now();
    upload.readyAt = upload.receivedAt + this.transcodeDelayMs;
    const info = readAudioInfo(bytes);
    if (!info) {
      upload.failed = true;
      return;
    }
    const audio: StoredAudio = {
      sha256,
      transcodedSha256: createHash('sha256').update(`virtual-transcode:${sha256}`).digest('hex'),
      transcodedAt: new Date(upload.readyAt).toISOString(),
      info,
      fileSize: bytes.length,
    };
    await this.writeBytes(`audio/${audio.transcodedSha256}`, bytes);
    this.audioBySha.set(sha256, audio);
    await this.persist();
  }

  /** The Content-Type the upload's bytes were PUT with (undefined before the PUT). */
  uploadContentType(uploadId: string): string | undefined {
    return this.uploads.get(uploadId)?.contentType;
  }

  /** `GET /media/upload/{uploadId}/transcoded`, or undefined for an unknown upload. */
  transcodeStatus(uploadId: string): YotoTranscode | undefined {
    const upload = this.uploads.get(uploadId);
    if (!upload) return undefined;
    const base = { uploadId, uploadSha256: upload.sha256 };
    if (upload.failed) return { ...base, transcodedSha256: null, failedUploadSha256: upload.sha256, progress: { phase: 'failed' } };
    if (upload.readyAt === undefined) return { ...base, transcodedSha256: null, progress: { phase: 'awaiting_upload' } };
    if (this.clock.now() < upload.readyAt) return { ...base, transcodedSha256: null, progress: { phase: 'transcoding' } };
    const audio = this.audioBySha.get(upload.sha256)!;
    return {
      ...base,
      transcodedSha256: audio.transcodedSha256,
      transcodedInfo: {
        duration: audio.info.duration,
        fileSize: audio.fileSize,
        format: audio.info.format,
        codec: audio.info.format,
        ...(audio.info.channels ? { channels: audio.info.channels } : {}),
        ...(audio.info.sampleRate ? { sampleRate: audio.info.sampleRate } : {}),
        ...(audio.info.bitrate ? { bitrate: audio.info.bitrate } : {}),
      },
      progress: { phase: 'complete', percent: 100 },
    };
  }

  /** The audio a `yoto:#<transcodedSha256>` track plays. */
  async audioBytes(transcodedSha256: string): Promise<{ bytes: Buffer; format: string } | undefined> {
    const audio = [...this.audioBySha.values()].find((entry) => entry.transcodedSha256 === transcodedSha256);
    if (!audio) return undefined;
    const bytes = await this.readBytes(`audio/${transcodedSha256}`);
    return bytes ? { bytes, format: audio.info.format } : undefined;
  }

  private async writeBytes(key: string, bytes: Buffer): Promise<void> {
    if (!this.bytesDir) {
      this.memoryBytes.set(key, Buffer.from(bytes));
      return;
    }
    await writeFileAtomic(path.join(this.bytesDir, key), bytes);
  }

  private async readBytes(key: string): Promise<Buffer | undefined> {
    if (!this.bytesDir) return this.memoryBytes.get(key);
    try {
      return await fs.readFile(path.join(this.bytesDir, key));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  private persist(): Promise<void> {
    return this.file.write({ version: 1, icons: [...this.icons.values()], audio: [...this.audioBySha.values()] });
  }

  /** A few built-in public icons, drawn here so the virtual cloud needs no image files. */
  private createPublicIcons(): StoredIcon[] {
    const shapes: Array<{ title: string; tags: string[]; colour: [number, number, number]; inside: (x: number, y: number) => boolean }> = [
      { title: 'Sun', tags: ['weather', 'day'], colour: [250, 200, 40], inside: (x, y) => (x - 7.5) ** 2 + (y - 7.5) ** 2 <= 36 },
      { title: 'Moon', tags: ['night', 'sleep'], colour: [230, 230, 255], inside: (x, y) => (x - 7.5) ** 2 + (y - 7.5) ** 2 <= 42 && (x - 10.5) ** 2 + (y - 5.5) ** 2 > 30 },
      { title: 'Left arrow', tags: ['choice', 'left'], colour: [80, 200, 120], inside: (x, y) => x >= 2 && Math.abs(y - 7.5) <= (x - 2) / 1.5 && x <= 13 },
      { title: 'Right arrow', tags: ['choice', 'right'], colour: [80, 160, 240], inside: (x, y) => x <= 13 && Math.abs(y - 7.5) <= (13 - x) / 1.5 && x >= 2 },
    ];
    return shapes.map((shape, index) => {
      const bytes = encodePng(16, 16, (x, y) => (shape.inside(x, y) ? [...shape.colour, 255] : [0, 0, 0, 0]));
      const mediaId = createHash('sha256').update(bytes).digest('base64url');
      this.publicIconBytes.set(mediaId, bytes);
      return {
        displayIconId: `public${String(index + 1).padStart(4, '0')}`,
        mediaId,
        userId: 'yoto',
        createdAt: new Date(Date.UTC(2024, 0, 1)).toISOString(),
        title: shape.title,
        public: true,
        publicTags: shape.tags,
        contentType: 'image/png',
      };
    });
  }
}
