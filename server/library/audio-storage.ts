import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { fsyncDir, writeFileAtomic } from '../files/atomic-file';
import { ApiError } from '../http/api-error';
import { FileHandles } from './file-handles';
import type { ByteSource } from './range-response';

/** One stored object: its name (`<id>.<ext>` or `<id>.cover`) and when it was written. */
export interface StoredObject {
  name: string;
  size: number;
  modified: Date;
}

/**
 * Where `sendFileRange` reads stored bytes from: a file in the data directory (with the storage's
 * open handles, kept between requests), or a source such as a bucket.
 */
export type RangeBytes = { path: string; handles?: FileHandles } | { source: ByteSource };

/**
 * Where the audio library keeps the bytes of its files and covers, by name
 * (`<id>.<ext>`, `<id>.cover`). Two kinds: the data directory (`<dataDir>/audio`,
 * the default) and an S3-compatible bucket (YOTO_OBJECT_STORE_URL). The records
 * stay in the store either way, and partial uploads are received into the local
 * `<dataDir>/audio/.incoming` folder in both cases.
 *
 * A name that is not there rejects with an error whose `code` is `ENOENT`; a
 * store that cannot be reached rejects with {@link StorageUnavailableError}
 * (503 `storage_unavailable`).
 */
export interface AudioStorage {
  readonly kind: 'local' | 's3';
  /** Where the bytes are, for log lines and the README: a folder or `s3://bucket/prefix/`. */
  readonly location: string;
  /**
   * Stores the finished local file at `sourcePath` under `name`: moved in (data
   * directory) or uploaded (bucket). Durable when it resolves; `sourcePath` is
   * gone afterwards when it resolves, and left to the caller when it rejects.
   */
  putFile(name: string, sourcePath: string, contentType: string): Promise<void>;
  /** Stores small bytes (a cover) under `name`, durably. */
  putBytes(name: string, data: Uint8Array, contentType: string): Promise<void>;
  /** Size and modification time of a stored name. */
  stat(name: string): Promise<{ size: number; modified: Date }>;
  /** `length` bytes from `start` in one buffer (for short reads, e.g. a cover's signature). */
  read(name: string, start: number, length: number): Promise<Buffer>;
  /** What `sendFileRange` reads for this name (nothing is opened until it does). */
  rangeBytes(name: string): RangeBytes;
  /** Removes a stored name; a name that is not there is no error. */
  remove(name: string): Promise<void>;
  /**
   * The start-up sweep: removes every stored name `isOwned` refuses (what a
   * crash between storing an upload and acknowledging its record, or between
   * deleting a record and its bytes, left behind) and resolves with the names
   * removed. The data directory does it at once, synchronously, before the call
   * returns; a bucket (which several hub instances may share) leaves alone
   * what was written in the last `OBJECT_SWEEP_GRACE_MS`, as an upload of
   * another instance may not have its record yet.
   */
  removeUnowned(isOwned: (name: string) => boolean): Promise<string[]>;
  /** Releases connections and ends a start-up sweep still under way (it resolves with what it removed so far). */
  close(): Promise<void>;
}

/** The object store could not be reached or refused the hub: answered 503, never a crash. */
export class StorageUnavailableError extends ApiError {
  constructor(message: string) {
    super(503, 'storage_unavailable', message);
  }
}

/** An error with code ENOENT: the name is not in the storage (the routes answer 404). */
export function notStored(name: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${name} is not in the audio storage`), { code: 'ENOENT' });
}

async function fsyncFile(file: string): Promise<void> {
  const handle = await fsp.open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Files kept open between range requests (a player seeking asks for the same file many times a
 * second): the most recently used ones, each given out for at most a second.
 */
const OPEN_FILES_KEPT = 32;
const OPEN_FILE_MAX_AGE_MS = 1000;

/**
 * The data directory's open files, kept between requests while a watch on the folder says at
 * once when a file in it is changed, replaced or removed behind the storage's back (by hand, or a
 * restored backup): that file is opened anew by the next request, so a file deleted from disk
 * answers 404 at once. Where the folder cannot be watched, nothing is kept open between requests.
 * Files stored or removed through the storage are forgotten directly, watch or not.
 */
class WatchedFiles {
  private handles: FileHandles | undefined;
  private watcher: fs.FSWatcher | undefined;
  /** Closed, or the folder cannot be watched: no handle is kept. */
  private off = false;

  constructor(private readonly dir: string) {}

  /** The handles to read with (the watch starts with the first read); undefined: open per request. */
  current(): FileHandles | undefined {
    if (this.handles || this.off) return this.handles;
    try {
      // Not persistent: the watch never keeps the process alive; close() ends it.
      this.watcher = fs.watch(this.dir, { persistent: false }, (_event, name) => {
        if (name) this.handles?.forget(path.join(this.dir, name));
        else void this.handles?.forgetAll();
      });
    } catch {
      this.off = true;
      return undefined;
    }
    this.watcher.on('error', () => {
      void this.stop();
    });
    this.handles = new FileHandles({ keepIdle: OPEN_FILES_KEPT, maxAgeMs: OPEN_FILE_MAX_AGE_MS, readNow: true });
    return this.handles;
  }

  forget(filePath: string): void {
    this.handles?.forget(filePath);
  }

  /** Ends the watch and closes the idle handles; no handle is kept from now on. */
  async stop(): Promise<void> {
    this.off = true;
    this.watcher?.close();
    this.watcher = undefined;
    const handles = this.handles;
    this.handles = undefined;
    await handles?.close();
  }
}

/** The data directory: `<dataDir>/audio/<name>` (today's layout; files are moved in with fsync, never copied). */
export function createLocalAudioStorage(audioDir: string): AudioStorage {
  const pathOf = (name: string): string => path.join(audioDir, path.basename(name));
  const handles = new WatchedFiles(audioDir);
  return {
    kind: 'local',
    location: audioDir,
    async putFile(name, sourcePath) {
      await fsyncFile(sourcePath);
      await fsp.rename(sourcePath, pathOf(name));
      handles.forget(pathOf(name));
      await fsyncDir(audioDir);
    },
    async putBytes(name, data) {
      await writeFileAtomic(pathOf(name), data, { mode: 0o644 });
      handles.forget(pathOf(name));
    },
    async stat(name) {
      const stat = await fsp.stat(pathOf(name));
      return { size: stat.size, modified: stat.mtime };
    },
    async read(name, start, length) {
      const handle = await fsp.open(pathOf(name), 'r');
      try {
        const { buffer, bytesRead } = await handle.read(Buffer.alloc(length), 0, length, start);
        return buffer.subarray(0, bytesRead);
      } finally {
        await handle.close();
      }
    },
    rangeBytes: (name) => {
      const open = handles.current();
      return open ? { path: pathOf(name), handles: open } : { path: pathOf(name) };
    },
    async remove(name) {
      await fsp.rm(pathOf(name), { force: true });
      // Also a request that opened the file while it was being removed is not kept open.
      handles.forget(pathOf(name));
    },
    removeUnowned(isOwned) {
      // Synchronous on purpose: done before the library takes its first upload.
      const removed: string[] = [];
      for (const entry of fs.readdirSync(audioDir, { withFileTypes: true })) {
        if (!entry.isFile() || isOwned(entry.name)) continue;
        fs.rmSync(path.join(audioDir, entry.name), { force: true });
        handles.forget(path.join(audioDir, entry.name));
        removed.push(entry.name);
      }
      return Promise.resolve(removed);
    },
    close: () => handles.stop(),
  };
}
