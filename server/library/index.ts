import type { Router } from 'express';
import type { Logger } from '../log/logger';
import type { AudioLibrary } from './audio-library';
import { audioRoutes } from './routes';

export { sendFileRange, parseRange, type RangeFile, type RangeResponseOptions, type ByteRange, type ByteSource } from './range-response';
export { createLocalAudioStorage, StorageUnavailableError, type AudioStorage, type StoredObject, type RangeBytes } from './audio-storage';
// The S3 storage itself (createS3AudioStorage, objectCacheOf) is imported from './s3-audio-storage': it loads the
// AWS SDK (about 20 MB and 70 ms here), which only a hub with YOTO_OBJECT_STORE_URL needs.
export type { S3AudioStorageOptions } from './s3-audio-storage';
export { DEFAULT_OBJECT_CACHE_CHECK_S, DEFAULT_OBJECT_CACHE_MB, ObjectCache } from './object-cache';
export { parseObjectStoreUrl, ObjectStoreUrlError, type ObjectStoreConfig } from './object-store-url';
export { sanitizeFileName, contentDisposition } from './file-name';
export { createAudioLibraryService, type AudioLibraryServiceOptions } from './audio-library';
export type { AudioLibrary, AudioListQuery, AudioListPage, AudioSortKey, AddAudioInput, AudioUpdate } from './audio-library';

export const DEFAULT_MAX_UPLOAD_BYTES = 500 * 1024 * 1024;

export interface AudioLibraryOptions {
  /** The files and their records (`createAudioLibraryService`): made first, since streams and scripts use them too. */
  files: AudioLibrary;
  logger: Logger;
  /** Largest accepted upload in bytes (500 MB by default); larger answers 413 file_too_large. */
  maxUploadBytes?: number;
  /** The name of a script (or smart stream) that uses the file, when one does: DELETE answers 409 file_in_use (`scripts.isFileInUse`). */
  isInUse: (fileId: string) => string | undefined;
}

export interface AudioLibraryHandle {
  /** Mount at /api/audio: `server.mountApi('/audio', library.router)`, after the auth middleware. */
  router: Router;
  files: AudioLibrary;
  /** Refuses new uploads and waits for requests under way (their partial files are removed). */
  close(): Promise<void>;
}

/** The audio library's REST routes over its files (under the data directory, records in the store). */
export function createAudioLibrary(options: AudioLibraryOptions): AudioLibraryHandle {
  const logger = options.logger.child({ part: 'audio-library' });
  const { files } = options;
  const pending = new Set<Promise<unknown>>();
  let closed = false;
  const router = audioRoutes({
    library: files,
    logger,
    maxUploadBytes: options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES,
    isInUse: options.isInUse,
    track: (work) => {
      pending.add(work);
      void work.finally(() => pending.delete(work)).catch(() => undefined);
    },
    isClosed: () => closed,
  });
  return {
    router,
    files,
    async close() {
      closed = true;
      await Promise.allSettled([...pending]);
    },
  };
}
