import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ApiError } from '../http/api-error';
import type { Logger } from '../log/logger';
import type { Store } from '../store';
import type { AudioFile } from '../types/schemas';
import { probeAudioFile, UnsupportedMediaError, imageTypeOf } from './audio-probe';
import { createLocalAudioStorage, type AudioStorage } from './audio-storage';
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
  /** `<dataDir>/audio/.incoming`: partial uploads (local with every storage: they are probed there). */
  readonly incomingDir: string;
  /** Where the bytes of the files and covers are: the data directory, or a bucket (YOTO_OBJECT_STORE_URL). */
  readonly storage: AudioStorage;
  /**
   * Resolves once the start-up sweep of bytes no record owns is done (it never rejects: a
   * failure is logged). With the data directory it is done before the library is returned.
   */
  readonly swept: Promise<void>;
  /** A copy of the record with this id. */
  get(id: string): AudioFile | undefined;
  /** The record itself, read-only and not copied: for the hot paths that only read it (a player's stream request). */
  peek(id: string): Readonly<AudioFile> | undefined;
  list(query?: AudioListQuery): AudioListPage;
  /** Absolute path of the audio bytes in the data directory (with a bucket as storage, nothing is there: use `storage`). */
  pathOf(record: Pick<AudioFile, 'fileName'>): string;
  /** Absolute path of the cover thumbnail in the data directory (exists only when `hasCover`, and only with the data directory as storage). */
  coverPathOf(record: Pick<AudioFile, 'id'>): string;
  /** The storage name of a record's audio bytes (`<id>.<ext>`). */
  audioName(record: Pick<AudioFile, 'fileName'>): string;
  /** The storage name of a record's cover (`<id>.cover`). */
  coverName(record: Pick<AudioFile, 'id'>): string;
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
  /**
   * Removes the record, then the audio and cover bytes. Resolves false when there was no such
   * file. Bytes the storage cannot remove now (a bucket that is unavailable) are logged and left
   * to the start-up sweep: the file is gone from the library either way.
   */
  remove(id: string): Promise<boolean>;
}

export interface AudioLibraryServiceOptions {
  store: Store;
  dataDir: string;
  logger: Logger;
  /** Where the bytes go; default the data directory (`<dataDir>/audio`). */
  storage?: AudioStorage;
}

const COVER_SUFFIX = '.cover';

/**
 * Creates `<dataDir>/audio/.incoming` when missing, removes partial uploads a crash left there,
 * and sweeps the storage of bytes no record owns (see AudioStorage.removeUnowned).
 */
export function createAudioLibraryService(options: AudioLibraryServiceOptions): AudioLibrary {
  const audioDir = path.join(options.dataDir, 'audio');
  const incomingDir = path.join(audioDir, '.incoming');
  fs.mkdirSync(incomingDir, { recursive: true });
  const storage = options.storage ?? createLocalAudioStorage(audioDir);
  const repo = options.store.audioFiles;
  const logger = options.logger;

  // fileName is schema-checked (<id>.<ext>, no separators); basename() is a second guard.
  const audioName = (record: Pick<AudioFile, 'fileName'>): string => path.basename(record.fileName);
  const coverName = (record: Pick<AudioFile, 'id'>): string => `${path.basename(record.id)}${COVER_SUFFIX}`;

  const leftovers = fs.readdirSync(incomingDir);
  for (const name of leftovers) fs.rmSync(path.join(incomingDir, name), { force: true, recursive: true });
  if (leftovers.length > 0) logger.info('removed partial uploads', { count: leftovers.length });
  const swept = removeOrphans(storage, () => repo.list(), logger);

  const library: AudioLibrary = {
    audioDir,
    incomingDir,
    storage,
    swept,
    get: (id) => repo.get(id),
    peek: (id) => repo.peek(id),
    list: (query = {}) => listFiles(repo.list(query.userId === undefined ? undefined : (r) => r.userId === query.userId), query),
    pathOf: (record) => path.join(audioDir, audioName(record)),
    coverPathOf: (record) => path.join(audioDir, coverName(record)),
    audioName,
    coverName,

    async addFromIncoming(tempPath, input) {
      const id = randomUUID();
      let storedAudio: string | undefined;
      let storedCover: string | undefined;
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
        storedAudio = fileName;
        await storage.putFile(fileName, tempPath, probe.mimeType);
        if (probe.cover) {
          storedCover = coverName({ id });
          await storage.putBytes(storedCover, probe.cover.data, probe.cover.mimeType);
        }
        // The bytes are durable before their record is: a record never points at missing bytes.
        // A crash from here to the acknowledged insert leaves bytes without a record, which the
        // next start removes (removeOrphans), so file and record appear together or not at all.
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
        await fsp.rm(tempPath, { force: true });
        await Promise.all([storedAudio, storedCover].map((name) => (name ? storage.remove(name).catch((failure: unknown) => {
          logger.warn('could not remove the bytes of a failed upload; the start-up sweep will', { name, err: failure });
        }) : undefined)));
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
      await Promise.all([audioName(record), coverName(record)].map((name) => storage.remove(name).catch((error: unknown) => {
        logger.warn('could not remove the bytes of a deleted audio file; the start-up sweep will', { id, name, err: error });
      })));
      return deleted;
    },
  };
  return library;
}

/**
 * Removes the stored bytes no record owns (its `<id>.<ext>` audio or its `<id>.cover`): what a
 * crash between storing an upload and acknowledging its record, or between deleting a record and
 * its bytes, leaves behind. With the data directory this is done before the library takes its
 * first upload; a bucket is swept in the background, and a failure (the bucket unreachable at
 * start) is logged, never thrown.
 */
function removeOrphans(storage: AudioStorage, records: () => readonly AudioFile[], logger: Logger): Promise<void> {
  // The records are read when the storage first asks (a bucket: after listing it), once per sweep.
  let owned: Set<string> | undefined;
  const isOwned = (name: string): boolean => {
    if (!owned) {
      owned = new Set<string>();
      for (const record of records()) {
        owned.add(path.basename(record.fileName));
        owned.add(`${path.basename(record.id)}${COVER_SUFFIX}`);
      }
    }
    return owned.has(name);
  };
  return storage.removeUnowned(isOwned).then((orphans) => {
    if (orphans.length > 0) logger.info('removed audio files that have no record (an upload or delete was interrupted)', { count: orphans.length, files: orphans.slice(0, 10), storage: storage.location });
  }, (error: unknown) => {
    logger.warn('could not sweep the audio storage of files without a record; the next start tries again', { storage: storage.location, err: error });
  });
}

/** The image type of a stored cover by its signature (covers are stored only when recognised). */
export async function coverTypeOf(storage: AudioStorage, name: string): Promise<string | undefined> {
  return imageTypeOf(await storage.read(name, 0, 16))?.mimeType;
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
