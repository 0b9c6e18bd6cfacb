/**
 * A bounded read-through copy of bucket objects on local disk (`<dataDir>/cache/objects`):
 * audio is written once and read many times by players, so once an object has been
 * downloaded whole, its ranges are read from a local file at local-file speed instead
 * of one GetObject each.
 *
 * - A copy is named `<name>~<etag>`: a copy of another version of the object never
 *   answers for this one, and a copy is only used while the bucket still has the
 *   same ETag and size (checked with HeadObject at most every `checkMs`).
 * - Copies are written to a temporary file, checked against the object's size, then
 *   renamed into place: a half-written copy is never read, and one left by a crash
 *   is removed at the next start.
 * - The total size of the copies (and of the downloads under way) stays under
 *   `limitBytes`; the least recently used copies go first.
 * - Nothing in it is state: losing the folder loses nothing but the time to download
 *   the objects again. A folder that cannot be written disables the cache (a
 *   warning); the bucket is then read directly, as without a cache.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { finished, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '../log/logger';

/** YOTO_OBJECT_CACHE_MB when not set: megabytes of local copies of bucket objects. */
export const DEFAULT_OBJECT_CACHE_MB = 1024;
/** YOTO_OBJECT_CACHE_CHECK_S when not set: how often a copy in use is checked against the bucket. */
export const DEFAULT_OBJECT_CACHE_CHECK_S = 5;
/** One object takes at most this share of the cache: a single long audiobook does not push out everything else. */
const MAX_OBJECT_SHARE = 4;
/** At most this many objects are downloaded into the cache at once (more wait for a later request). */
const MAX_FILLS = 4;
/** Reads of a copy: chunks of this size for long ranges (as the data directory's files). */
const CHUNK_BYTES = 256 * 1024;
const READ_AHEAD_BYTES = 4 * CHUNK_BYTES;
const DEFAULT_STALL_MS = 15_000;

export class ObjectCacheConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ObjectCacheConfigError';
  }
}

/** The cache's size and check interval from YOTO_OBJECT_CACHE_MB and YOTO_OBJECT_CACHE_CHECK_S; throws ObjectCacheConfigError on a value that is not a whole number >= 0. */
export function objectCacheSettings(env: NodeJS.ProcessEnv): { limitBytes: number; checkMs: number } {
  const whole = (name: string, fallback: number): number => {
    const value = env[name]?.trim();
    if (value === undefined || value === '') return fallback;
    if (!/^\d{1,9}$/.test(value)) throw new ObjectCacheConfigError(`${name} must be a whole number >= 0, got "${value}"`);
    return Number(value);
  };
  return {
    limitBytes: whole('YOTO_OBJECT_CACHE_MB', DEFAULT_OBJECT_CACHE_MB) * 1024 * 1024,
    checkMs: whole('YOTO_OBJECT_CACHE_CHECK_S', DEFAULT_OBJECT_CACHE_CHECK_S) * 1000,
  };
}

/** What the bucket says an object is: its ETag (quoted or not) and its size. */
export interface ObjectVersion {
  etag: string;
  size: number;
}

/** A whole object coming from the bucket. */
export interface ObjectDownload extends ObjectVersion {
  body: Readable;
}

/** A copy of one object on disk. */
export interface CachedCopy {
  readonly name: string;
  readonly size: number;
  /** Absolute path of the copy. */
  readonly file: string;
}

interface Entry extends CachedCopy {
  /** The ETag as it appears in the file name. */
  readonly tag: string;
  /** When the bucket last said it has this version (milliseconds, the cache's clock); -Infinity: not since the start. */
  checkedAt: number;
  /** The open file while requests read it (opened by the first, closed by the last). */
  open?: { handle: Promise<FileHandle>; users: number };
}

export interface ObjectCacheOptions {
  /** The folder of the copies (created if missing). */
  dir: string;
  /** Bytes the copies may take together. */
  limitBytes: number;
  /** Milliseconds a copy is used without asking the bucket again (0: ask on every request). */
  checkMs: number;
  logger: Logger;
  /** Milliseconds (the check interval's clock); default Date.now. */
  now?: () => number;
  /** A download into the cache that receives nothing for this many milliseconds is abandoned (default 15 s). */
  stallMs?: number;
  /** Called when a check finds the bucket's object replaced or gone: what else the hub keeps of it is stale too. */
  onStale?: (name: string) => void;
}

/** The ETag as a file name part: its letters, digits and hyphens (S3's `"<md5>"` and `"<md5>-<parts>"`), else a hash of it. */
function tagOf(etag: string): string {
  const bare = etag.replace(/^W\//, '').replace(/"/g, '');
  return /^[A-Za-z0-9-]{1,100}$/.test(bare) ? bare : createHash('sha256').update(etag).digest('hex').slice(0, 40);
}

const COPY_NAME = /^([^~]+)~([A-Za-z0-9-]+)$/;

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

export class ObjectCache {
  /** Resolves once the folder is ready (true) or found unusable (false: the cache stays off). */
  readonly ready: Promise<boolean>;
  private usable = false;
  private closed = false;
  /** Copies by object name, least recently used first (a Map keeps insertion order). */
  private readonly entries = new Map<string, Entry>();
  /** Bytes of the copies in `entries`. */
  private bytes = 0;
  /** Bytes set aside for downloads under way. */
  private reserved = 0;
  private readonly fills = new Map<string, Promise<void>>();
  private readonly checks = new Map<string, Promise<Entry | undefined>>();
  /** Bumped when an object is deleted or replaced through this hub: a download started before does not become a copy. */
  private readonly generations = new Map<string, number>();
  /** Objects found larger than `maxObjectBytes`: not downloaded again (until replaced through this hub). */
  private readonly tooBig = new Set<string>();
  private readonly aborting = new AbortController();
  private readonly now: () => number;
  readonly maxObjectBytes: number;

  constructor(private readonly options: ObjectCacheOptions) {
    this.now = options.now ?? Date.now;
    this.maxObjectBytes = Math.floor(options.limitBytes / MAX_OBJECT_SHARE);
    this.ready = this.prepare();
  }

  /** Bytes the copies take now (what is on disk, downloads under way excluded). */
  get size(): number {
    return this.bytes;
  }

  /**
   * The copy of `name` to read from, or undefined when there is none (or it is no longer the
   * bucket's version: it is removed). A copy is only used within `checkMs` of the bucket last
   * saying it has that version: one not checked since is checked first with `head`, once however
   * many requests wait for it; `head` rejects when the object is gone (code ENOENT: the copy is
   * removed and the rejection passed on) or the bucket cannot answer.
   */
  async current(name: string, head: () => Promise<ObjectVersion>): Promise<CachedCopy | undefined> {
    if (!this.usable) return undefined;
    const entry = this.entries.get(name);
    if (!entry) return undefined;
    const age = this.now() - entry.checkedAt;
    if (age < this.options.checkMs) {
      this.entries.delete(name);
      this.entries.set(name, entry);
      // Past half its time, a copy in use is checked in the background: requests seldom wait for a check.
      if (age >= this.options.checkMs / 2) this.checked(entry, head).catch(() => undefined);
      return entry;
    }
    return this.checked(entry, head);
  }

  /** The check of a copy, one at a time per object however many requests wait for it. */
  private checked(entry: Entry, head: () => Promise<ObjectVersion>): Promise<Entry | undefined> {
    let check = this.checks.get(entry.name);
    if (!check) {
      check = this.check(entry, head).finally(() => this.checks.delete(entry.name));
      this.checks.set(entry.name, check);
    }
    return check;
  }

  private async check(entry: Entry, head: () => Promise<ObjectVersion>): Promise<Entry | undefined> {
    const asked = this.now();
    let version: ObjectVersion;
    try {
      version = await head();
    } catch (error) {
      if (isMissing(error)) {
        this.options.onStale?.(entry.name);
        await this.forget(entry);
      }
      throw error;
    }
    if (this.entries.get(entry.name) !== entry) return undefined;
    if (tagOf(version.etag) !== entry.tag || version.size !== entry.size) {
      this.options.logger.info('the bucket has another version of an object than its local copy: copy dropped', { name: entry.name });
      this.options.onStale?.(entry.name);
      await this.forget(entry);
      return undefined;
    }
    entry.checkedAt = Math.max(entry.checkedAt, asked);
    return entry;
  }

  /**
   * Downloads `name` whole into the cache in the background unless it is there, under way, too
   * big, or the cache is full of downloads. Never rejects: a failure is logged and the next
   * request tries again.
   */
  fill(name: string, download: (signal: AbortSignal) => Promise<ObjectDownload>): void {
    if (!this.usable || this.closed || this.entries.has(name) || this.fills.has(name) || this.tooBig.has(name) || this.fills.size >= MAX_FILLS) return;
    const work = this.download(name, download).finally(() => this.fills.delete(name));
    this.fills.set(name, work);
  }

  /** Resolves once no download into the cache is under way. */
  async settled(): Promise<void> {
    while (this.fills.size > 0) await Promise.all(this.fills.values());
  }

  private async download(name: string, download: (signal: AbortSignal) => Promise<ObjectDownload>): Promise<void> {
    const generation = this.generations.get(name) ?? 0;
    const asked = this.now();
    const temp = path.join(this.options.dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
    let reserved = 0;
    let object: ObjectDownload | undefined;
    try {
      object = await download(this.aborting.signal);
      if (object.size > this.maxObjectBytes) this.tooBig.add(name);
      if (object.size > this.maxObjectBytes || !(await this.reserve(object.size))) {
        object.body.destroy();
        return;
      }
      reserved = object.size;
      await this.receive(object.body, temp);
      const written = (await fsp.stat(temp)).size;
      if (written !== object.size) throw new Error(`got ${written} bytes of ${object.size}`);
      // Deleted or replaced through this hub while it downloaded: the copy may be of the old object.
      if (this.closed || (this.generations.get(name) ?? 0) !== generation) return;
      const entry: Entry = { name, tag: tagOf(object.etag), size: object.size, file: path.join(this.options.dir, `${name}~${tagOf(object.etag)}`), checkedAt: asked };
      const previous = this.entries.get(name);
      if (previous) await this.forget(previous);
      await fsp.rename(temp, entry.file);
      this.entries.set(name, entry);
      this.bytes += entry.size;
      if ((this.generations.get(name) ?? 0) !== generation) await this.forget(entry);
    } catch (error) {
      object?.body.destroy();
      if (!this.closed) this.options.logger.warn('could not keep a local copy of a bucket object; it is read from the bucket', { name, dir: this.options.dir, err: error });
    } finally {
      this.reserved -= reserved;
      await fsp.rm(temp, { force: true }).catch(() => undefined);
    }
  }

  /** Writes `body` to `temp`; rejects when the cache closes or the bucket sends nothing for `stallMs`. */
  private async receive(body: Readable, temp: string): Promise<void> {
    const stopped = new AbortController();
    const stallMs = this.options.stallMs ?? DEFAULT_STALL_MS;
    const stall = setTimeout(() => stopped.abort(new Error(`the bucket sent nothing for ${stallMs / 1000} s`)), stallMs);
    const onData = (): void => {
      stall.refresh();
    };
    body.on('data', onData);
    try {
      await pipeline(body, fs.createWriteStream(temp, { flags: 'wx' }), { signal: AbortSignal.any([this.aborting.signal, stopped.signal]) });
    } finally {
      clearTimeout(stall);
      body.off('data', onData);
    }
  }

  /** Makes room for `size` more bytes by removing the least recently used copies; false when downloads under way leave no room. */
  private async reserve(size: number): Promise<boolean> {
    const removing: Array<Promise<void>> = [];
    for (const entry of this.entries.values()) {
      if (this.bytes + this.reserved + size <= this.options.limitBytes) break;
      removing.push(this.forget(entry));
    }
    if (this.bytes + this.reserved + size > this.options.limitBytes) {
      await Promise.all(removing);
      return false;
    }
    this.reserved += size;
    await Promise.all(removing);
    return true;
  }

  /** Removes the copy of `name` (deleted or replaced through this hub); a download under way does not become one. */
  async drop(name: string): Promise<void> {
    this.generations.set(name, (this.generations.get(name) ?? 0) + 1);
    this.tooBig.delete(name);
    const entry = this.entries.get(name);
    if (entry) await this.forget(entry);
  }

  /** Removes the copies of the objects `keep` refuses (once the folder is ready). */
  async prune(keep: (name: string) => boolean): Promise<void> {
    if (!(await this.ready)) return;
    for (const entry of [...this.entries.values()]) {
      if (!keep(entry.name)) await this.forget(entry);
    }
  }

  /** Takes a copy out of the cache and off the disk; requests reading it already keep their open file. */
  private async forget(entry: Entry): Promise<void> {
    if (this.entries.get(entry.name) !== entry) return;
    this.entries.delete(entry.name);
    this.bytes -= entry.size;
    await fsp.rm(entry.file, { force: true }).catch((error: unknown) => {
      this.options.logger.warn('could not remove a local copy of a bucket object', { file: entry.file, err: error });
    });
  }

  /**
   * `length` bytes from `start` of a copy, or undefined when the copy is no longer on disk or
   * shorter than it should be (it is dropped; the caller reads the bucket instead).
   */
  async read(copy: CachedCopy, start: number, length: number): Promise<Buffer | undefined> {
    const entry = copy as Entry;
    const handle = await this.acquire(entry);
    if (!handle) return undefined;
    let bytesRead: number;
    let buffer: Buffer;
    try {
      // One read: a regular file gives all the bytes asked for that it has.
      ({ bytesRead, buffer } = await handle.read(Buffer.allocUnsafe(length), 0, length, start));
    } finally {
      this.release(entry);
    }
    if (bytesRead === length) return buffer;
    this.options.logger.warn('a local copy of a bucket object is shorter than the object; it is read from the bucket', { file: entry.file });
    await this.forget(entry);
    return undefined;
  }

  /** The bytes from `start` to `end` inclusive of a copy as a stream, or undefined when the copy is no longer on disk. */
  async stream(copy: CachedCopy, start: number, end: number): Promise<Readable | undefined> {
    const entry = copy as Entry;
    const handle = await this.acquire(entry);
    if (!handle) return undefined;
    const body = new CopyReader(handle, start, end);
    // Ended, failed or destroyed (the client went away): this request is done with the file.
    finished(body, () => this.release(entry));
    return body;
  }

  /** The open file of a copy, shared by the requests that overlap in time; undefined when it is gone from the disk. */
  private async acquire(entry: Entry): Promise<FileHandle | undefined> {
    if (!entry.open) entry.open = { handle: fsp.open(entry.file, 'r'), users: 0 };
    entry.open.users++;
    try {
      return await entry.open.handle;
    } catch (error) {
      this.release(entry);
      if (!isMissing(error)) throw error;
      // Removed by the cache itself since the request found it (evicted, replaced) is no news; removed by someone else is.
      if (this.entries.get(entry.name) === entry) {
        this.options.logger.warn('a local copy of a bucket object is gone from the disk; it is read from the bucket', { file: entry.file });
        await this.forget(entry);
      }
      return undefined;
    }
  }

  private release(entry: Entry): void {
    const open = entry.open;
    if (!open) return;
    open.users--;
    if (open.users > 0) return;
    entry.open = undefined;
    open.handle.then((handle) => handle.close(), () => undefined).catch(() => undefined);
  }

  /** Stops downloads under way (their temporary files are removed) and waits for them. */
  async close(): Promise<void> {
    this.closed = true;
    this.aborting.abort(new Error('the audio storage is closing'));
    await this.ready;
    await this.settled();
  }

  /** Creates the folder, removes what a crash left half-written, and takes in the copies of an earlier run (checked before their first use). */
  private async prepare(): Promise<boolean> {
    const { dir, logger } = this.options;
    try {
      await fsp.mkdir(dir, { recursive: true });
      const probe = path.join(dir, `.probe-${randomBytes(6).toString('hex')}.tmp`);
      await fsp.writeFile(probe, '');
      await fsp.rm(probe);
      const found: Array<{ entry: Entry; mtime: number }> = [];
      for (const item of await fsp.readdir(dir, { withFileTypes: true })) {
        const file = path.join(dir, item.name);
        const match = COPY_NAME.exec(item.name);
        if (!item.isFile() || !match) {
          if (item.isFile()) await fsp.rm(file, { force: true });
          continue;
        }
        const stat = await fsp.stat(file);
        found.push({ entry: { name: match[1]!, tag: match[2]!, size: stat.size, file, checkedAt: Number.NEGATIVE_INFINITY }, mtime: stat.mtimeMs });
      }
      // Oldest first (least recently used); of two copies of one object the newer stays.
      found.sort((a, b) => a.mtime - b.mtime);
      for (const { entry } of found) {
        const previous = this.entries.get(entry.name);
        if (previous) await this.forget(previous);
        this.entries.set(entry.name, entry);
        this.bytes += entry.size;
      }
      for (const entry of this.entries.values()) {
        if (this.bytes <= this.options.limitBytes) break;
        await this.forget(entry);
      }
      this.usable = !this.closed;
      logger.debug('object cache ready', { dir, copies: this.entries.size, bytes: this.bytes, limitBytes: this.options.limitBytes });
      return this.usable;
    } catch (error) {
      logger.warn('the object cache folder cannot be used: audio is read from the bucket directly', { dir, err: error });
      return false;
    }
  }
}

/**
 * The bytes from `start` to `end` inclusive of an open copy, read in chunks as the consumer
 * asks for them. It never closes the handle (other requests share it).
 */
class CopyReader extends Readable {
  private position: number;

  constructor(private readonly handle: FileHandle, start: number, private readonly end: number) {
    // Up to a megabyte read ahead of the socket: the disk is not waited for chunk by chunk.
    super({ highWaterMark: READ_AHEAD_BYTES });
    this.position = start;
  }

  override _read(): void {
    const length = Math.min(CHUNK_BYTES, this.end - this.position + 1);
    if (length <= 0) {
      this.push(null);
      return;
    }
    this.handle.read(Buffer.allocUnsafe(length), 0, length, this.position).then(({ bytesRead, buffer }) => {
      if (bytesRead === 0) {
        this.destroy(Object.assign(new Error(`the copy ended ${this.end - this.position + 1} bytes early`), { code: 'ESHORTFILE' }));
        return;
      }
      this.position += bytesRead;
      this.push(bytesRead === length ? buffer : buffer.subarray(0, bytesRead));
    }, (error: unknown) => this.destroy(error as Error));
  }
}
