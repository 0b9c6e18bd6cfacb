import type { Router } from 'express';
import type { Logger } from '../log/logger';
import type { Store } from '../store';
import { createAudioLibraryService, type AudioLibrary } from './audio-library';
import { audioRoutes } from './routes';

export { sendFileRange, parseRange, type RangeFile, type RangeResponseOptions, type ByteRange } from './range-response';
export { sanitizeFileName, contentDisposition } from './file-name';
export type { AudioLibrary, AudioListQuery, AudioListPage, AudioSortKey, AddAudioInput, AudioUpdate } from './audio-library';

export const DEFAULT_MAX_UPLOAD_BYTES = 500 * 1024 * 1024;

export interface AudioLibraryOptions {
  store: Store;
  /** Audio goes to `<dataDir>/audio/<id>.<ext>`, partial uploads to `<dataDir>/audio/.incoming/`. */
  dataDir: string;
  logger: Logger;
  /** Largest accepted upload in bytes (500 MB by default); larger answers 413 file_too_large. */
  maxUploadBytes?: number;
  /** The name of a script that uses the file, when one does: DELETE answers 409 file_in_use. */
  isInUse?: (fileId: string) => string | undefined;
}

export interface AudioLibraryHandle {
  /** Mount at /api/audio: `server.mountApi('/audio', library.router)`, after the auth middleware. */
  router: Router;
  files: AudioLibrary;
  /** Refuses new uploads and waits for requests under way (their partial files are removed). */
  close(): Promise<void>;
}

/** The audio library: files under the data directory, records in the store, its REST routes. */
export function createAudioLibrary(options: AudioLibraryOptions): AudioLibraryHandle {
  const logger = options.logger.child({ part: 'audio-library' });
  const files = createAudioLibraryService({ store: options.store, dataDir: options.dataDir, logger });
  const pending = new Set<Promise<unknown>>();
  let closed = false;
  const router = audioRoutes({
    library: files,
    logger,
    maxUploadBytes: options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES,
    ...(options.isInUse ? { isInUse: options.isInUse } : {}),
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
