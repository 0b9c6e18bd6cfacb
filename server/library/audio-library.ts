import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fsyncDir, writeFileAtomic } from '../files/atomic-file';
import { ApiError } from '../http/api-error';
import type { Logger } from '../log/logger';
import type { Store } from '../store';
import type { AudioFile } from '../types/schemas';
import { probeAudioFile, UnsupportedMediaError, imageTypeOf } from './audio-probe';
import { MAX_ORIGINAL_NAME, sanitizeFileName, stripExtension } from './file-name';

export type AudioSortKey = 'title' | 'createdAt' | 'duration' | 'size';
export const AUDIO_SORT_KEYS: readonly AudioSortKey[] = ['title', 'createdAt', 'duration', 'size'];
export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;

export interface AudioListQuery {
  /** Only this user's files; all files when omitted (admins). */
  userId?: string;
  /** Case-insensitive search in title, originalName and the artist tag. */
  q?: string;
  sort?: AudioSortKey;
  descending?: boolean;
  /** 1-based. */
  page?: number;
  /** 1 to 100. */
  pageSize?: number;
}

export interface AudioListPage {
  items: AudioFile[];
  total: number;
  page: number;
  pageSize: number;
}

export interface AddAudioInput {
  userId: string;
  /** The uploader's file name, unsanitized: only kept (sanitized) as originalName. */
  originalName?: string;
  /** Title; defaults to the title tag, then the file name. */
  title?: string;
  /** SHA-256 when already known (computed while receiving). */
  sha256?: string;
}

export interface AudioUpdate {
  title?: string;
  tags?: NonNullable<AudioFile['tags']>;
}

/** The library's files and records. HTTP-free so scripts, stories and the player stream can use it. */
export interface AudioLibrary {
  /** `<dataDir>/audio`. */
  readonly audioDir: string;
  /** `<dataDir>/audio/.incoming`: partial uploads. */
  readonly incomingDir: string;
  get(id: string): AudioFile | undefined;
  list(query?: AudioListQuery): AudioListPage;
  /** Absolute path of the stored audio bytes. */
  pathOf(record: Pick<AudioFile, 'fileName'>): string;
  /** Absolute path of the cover thumbnail (exists only when `hasCover`). */
  coverPathOf(record: Pick<AudioFile, 'id'>): string;
  /**
   * Adds the file at `tempPath` (inside incomingDir; moved, not copied) after
   * detecting its format from the content. Throws ApiError 415
   * `unsupported_media` for anything but mp3, m4a/aac, ogg/opus, flac, wav.
   * The temp file is gone afterwards in every case.
   */
  addFromIncoming(tempPath: string, input: AddAudioInput): Promise<AudioFile>;
  /** Copies a file from anywhere (e.g. an imported story's audio) into the library. */
  importFile(sourcePath: string, input: AddAudioInput): Promise<AudioFile>;
  update(id: string, patch: AudioUpdate): Promise<AudioFile>;
  /** Removes the record, then the audio and cover files. Resolves false when there was no such file. */
  remove(id: string): Promise<boolean>;
}

export interface AudioLibraryServiceOptions {
  store: Store;
  dataDir: string;
  logger: Logger;
}

const COVER_SUFFIX = '.cover';

/** Creates `<dataDir>/audio/.incoming` when missing and removes partial uploads a crash left there. */
export function createAudioLibraryService(options: AudioLibraryServiceOptions): AudioLibrary {
  const audioDir = path.join(options.dataDir, 'audio');
  const incomingDir = path.join(audioDir, '.incoming');
  fs.mkdirSync(incomingDir, { recursive: true });
  const repo = options.store.audioFiles;
  const logger = options.logger;

  const pathOf = (record: Pick<AudioFile, 'fileName'>): string => {
    // fileName is schema-checked (<id>.<ext>, no separators); basename() is a second guard.
    return path.join(audioDir, path.basename(record.fileName));
  };
  const coverPathOf = (record: Pick<AudioFile, 'id'>): string => path.join(audioDir, `${path.basename(record.id)}${COVER_SUFFIX}`);

  const library: AudioLibrary = {
    audioDir,
    incomingDir,
    get: (id) => repo.get(id),
    list: (query = {}) => listFiles(repo.list(query.userId === undefined ? undefined : (r) => r.userId === query.userId), query),
    pathOf,
    coverPathOf,

    async addFromIncoming(tempPath, input) {
      const id = randomUUID();
      let finalPath: string | undefined;
      let coverPath: string | undefined;
      try {
        let probe;
        try {
          probe = await probeAudioFile(tempPath);
        } catch (error) {
          if (error instanceof UnsupportedMediaError) throw new ApiError(415, 'unsupported_media', error.message);
          throw error;
        }
        const stat = await fsp.stat(tempPath);
        const sha256 = input.sha256 ?? (await sha256Of(tempPath));
        const fileName = `${id}.${probe.extension}`;
        const originalName = sanitizeFileName(input.originalName, `audio.${probe.extension}`);
        const title = cleanTitle(input.title) ?? cleanTitle(probe.tags.title) ?? cleanTitle(stripExtension(originalName)) ?? 'Untitled';
        finalPath = path.join(audioDir, fileName);
        await fsyncFile(tempPath);
        await fsp.rename(tempPath, finalPath);
        if (probe.cover) {
          coverPath = coverPathOf({ id });
          await writeFileAtomic(coverPath, probe.cover.data, { mode: 0o644 });
        }
        // The bytes are durable before their record is: a record never points at a missing file.
        // A crash from here to the acknowledged insert leaves a file without a record, which the
        // next start removes (removeOrphans), so file and record appear together or not at all.
        await fsyncDir(audioDir);
        const now = new Date().toISOString();
        const record: AudioFile = {
          id,
          userId: input.userId,
          title,
          fileName,
          originalName,
          mimeType: probe.mimeType,
          fileSize: stat.size,
          durationSeconds: probe.durationSeconds,
          format: probe.format,
          ...(probe.bitrate !== undefined ? { bitrate: probe.bitrate } : {}),
          ...(probe.sampleRate !== undefined ? { sampleRate: probe.sampleRate } : {}),
          ...(probe.codec !== undefined ? { codec: probe.codec } : {}),
          tags: probe.tags,
          hasCover: probe.cover !== undefined,
          sha256,
          createdAt: now,
          updatedAt: now,
        };
        const stored = await repo.insert(record);
        logger.info('audio file added', { id, userId: input.userId, format: probe.format, bytes: stat.size });
        return stored;
      } catch (error) {
        await Promise.all([tempPath, finalPath, coverPath].map((p) => (p ? fsp.rm(p, { force: true }) : undefined)));
        throw error;
      }
    },

    async importFile(sourcePath, input) {
      const tempPath = path.join(incomingDir, `${randomUUID()}.part`);
      const hash = createHash('sha256');
      try {
        await pipeline(fs.createReadStream(sourcePath), async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            hash.update(chunk);
            yield chunk;
          }
        }, fs.createWriteStream(tempPath, { flags: 'wx' }));
      } catch (error) {
        await fsp.rm(tempPath, { force: true });
        throw error;
      }
      return library.addFromIncoming(tempPath, { originalName: path.basename(sourcePath), ...input, sha256: hash.digest('hex') });
    },

    async update(id, patch) {
      const changes: Partial<AudioFile> = {};
      if (patch.title !== undefined) changes.title = patch.title;
      if (patch.tags !== undefined) changes.tags = patch.tags;
      return repo.update(id, changes);
    },

    async remove(id) {
      const record = repo.get(id);
      if (!record) return false;
      const deleted = await repo.delete(id);
      await Promise.all([fsp.rm(pathOf(record), { force: true }), fsp.rm(coverPathOf(record), { force: true })]);
      return deleted;
    },

  };
  const leftovers = fs.readdirSync(incomingDir);
  for (const name of leftovers) fs.rmSync(path.join(incomingDir, name), { force: true, recursive: true });
  if (leftovers.length > 0) logger.info('removed partial uploads', { count: leftovers.length });
  const orphans = removeOrphans(audioDir, repo.list());
  if (orphans.length > 0) logger.info('removed audio files that have no record (an upload or delete was interrupted)', { count: orphans.length, files: orphans.slice(0, 10) });
  return library;
}

/**
 * Removes every file directly in `audioDir` that no record owns (its `<id>.<ext>` audio or its
 * `<id>.cover`): what a crash between moving an upload in and acknowledging its record, or between
 * deleting a record and its files, leaves behind. Runs at start, before any upload can begin.
 */
function removeOrphans(audioDir: string, records: readonly AudioFile[]): string[] {
  const owned = new Set<string>();
  for (const record of records) {
    owned.add(path.basename(record.fileName));
    owned.add(`${path.basename(record.id)}${COVER_SUFFIX}`);
  }
  const removed: string[] = [];
  for (const entry of fs.readdirSync(audioDir, { withFileTypes: true })) {
    if (!entry.isFile() || owned.has(entry.name)) continue;
    fs.rmSync(path.join(audioDir, entry.name), { force: true });
    removed.push(entry.name);
  }
  return removed;
}

async function fsyncFile(file: string): Promise<void> {
  const handle = await fsp.open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The image type of a stored cover by its signature (covers are stored only when recognised). */
export async function coverTypeOf(coverPath: string): Promise<string | undefined> {
  const handle = await fsp.open(coverPath, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(16), 0, 16, 0);
    return imageTypeOf(buffer.subarray(0, bytesRead))?.mimeType;
  } finally {
    await handle.close();
  }
}

function cleanTitle(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  // eslint-disable-next-line no-control-regex
  const clean = value.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ').trim();
  return clean === '' ? undefined : clean.slice(0, MAX_ORIGINAL_NAME);
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function listFiles(records: AudioFile[], query: AudioListQuery): AudioListPage {
  const q = query.q?.trim().toLowerCase();
  const matching = q
    ? records.filter((r) => [r.title, r.originalName, r.tags?.['artist'] ?? ''].some((field) => field.toLowerCase().includes(q)))
    : records;
  const sort = query.sort ?? 'createdAt';
  const direction = query.descending ? -1 : 1;
  const collator = new Intl.Collator(undefined, { sensitivity: 'base', numeric: true });
  const compare = (a: AudioFile, b: AudioFile): number => {
    switch (sort) {
      case 'title': return collator.compare(a.title, b.title);
      case 'duration': return a.durationSeconds - b.durationSeconds;
      case 'size': return a.fileSize - b.fileSize;
      case 'createdAt': return a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0;
    }
  };
  // Ties are broken by id so pages never overlap or skip.
  matching.sort((a, b) => direction * compare(a, b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const pageSize = Math.min(MAX_PAGE_SIZE, Math.max(1, query.pageSize ?? DEFAULT_PAGE_SIZE));
  const page = Math.max(1, query.page ?? 1);
  const start = (page - 1) * pageSize;
  return { items: matching.slice(start, start + pageSize), total: matching.length, page, pageSize };
}
