import * as fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as fsp from 'node:fs/promises';

/** Reads on the spot are for ranges up to this size (a seek's read, not a stream's). */
const READ_NOW_MAX_BYTES = 64 * 1024;
/**
 * A read on the spot slower than this means the bytes came from a slow disk (a network share), not
 * the page cache or a local disk (a cold read from an SD card or a hard disk takes a few
 * milliseconds; a busy machine can stall a read that long too, so a lower bound would trip on load)...
 */
const SLOW_READ_NOW_NS = 20_000_000n;
/** ...and reads go through the thread pool again for this long. */
const READ_NOW_PAUSE_MS = 60_000;

export interface FileHandlesOptions {
  /** Handles kept open with no request using them, most recently used first; 0: closed as soon as the last request is done. */
  keepIdle: number;
  /**
   * A handle older than this is not given to new requests (a fresh open is): bounds how long a
   * file changed behind the hub's back (by hand in the data directory) is still read from the old
   * one. Changes made through the storage take effect at once (`forget`). Idle handles are closed
   * once this old (checked every `maxAgeMs`), so a file nobody reads is not held open.
   */
  maxAgeMs: number;
  /**
   * Short reads of a file already open are done on the spot, as nginx does (a copy from the page
   * cache, a few microseconds), rather than through the thread pool, whose hand-over costs more
   * than the copy. A read slower than 20 ms (a network share) turns this off for a minute.
   */
  readNow?: boolean;
  /** Milliseconds clock (Date.now when omitted). */
  now?: () => number;
}

interface Entry {
  handle: Promise<FileHandle>;
  /** The handle once open. */
  opened?: FileHandle;
  users: number;
  openedAt: number;
  /** No longer given out (replaced, deleted, too old, or the open failed): closed when its last user is done. */
  retired: boolean;
}

/**
 * Open files, shared by the requests that read them: a player seeking sends many short range
 * requests for the same file, and opening and closing it for each costs more than the read.
 * Requests that overlap share one handle; up to `keepIdle` handles stay open between requests.
 * A handle is closed only once no read uses it, so `forget` (the file was replaced or deleted)
 * never cuts a read under way: that one finishes on the bytes it started on, the next one opens
 * the file anew.
 */
export class FileHandles {
  /** By path; map order is least recently used first. */
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;
  private idle = 0;
  /** Closes idle handles past their age; set while there are idle handles. */
  private sweep: NodeJS.Timeout | undefined;
  /** Until when reads go through the thread pool (after a slow read on the spot). */
  private readLaterUntil = 0;

  constructor(private readonly options: FileHandlesOptions) {
    this.now = options.now ?? Date.now;
  }

  /**
   * `length` bytes of `filePath` from `start` at once, when the file is open already and a read on
   * the spot is allowed (see `readNow`); undefined otherwise (use `use`). Throws what the read
   * throws (ESHORTFILE when the file ends first).
   */
  readIfOpen(filePath: string, start: number, length: number): Buffer | undefined {
    if (!this.options.readNow || length > READ_NOW_MAX_BYTES) return undefined;
    const now = this.now();
    const entry = this.entries.get(filePath);
    if (!entry?.opened || now < this.readLaterUntil || now - entry.openedAt > this.options.maxAgeMs) return undefined;
    // Most recently used last. No user is counted: nothing else runs (or closes it) until the read returns.
    this.entries.delete(filePath);
    this.entries.set(filePath, entry);
    return this.readNow(entry.opened, start, length);
  }

  /** Runs `work` with an open handle on `filePath`; rejects (ENOENT...) when the file cannot be opened. */
  async use<T>(filePath: string, work: (handle: FileHandle) => Promise<T>): Promise<T> {
    let entry = this.entries.get(filePath);
    if (entry && this.now() - entry.openedAt > this.options.maxAgeMs) {
      void this.retire(filePath, entry);
      entry = undefined;
    }
    if (entry) {
      // Most recently used last.
      this.entries.delete(filePath);
      this.entries.set(filePath, entry);
      if (entry.users === 0) this.idle--;
    } else {
      const opening: Entry = { handle: fsp.open(filePath, 'r'), users: 0, openedAt: this.now(), retired: false };
      opening.handle.then((handle) => {
        opening.opened = handle;
      }, () => undefined);
      entry = opening;
      this.entries.set(filePath, entry);
    }
    const current = entry;
    current.users++;
    try {
      return await work(await current.handle.catch((error: unknown) => {
        // A failed open is never given out again: the next request tries anew.
        void this.retire(filePath, current);
        throw error;
      }));
    } finally {
      current.users--;
      if (current.users === 0) this.release(current);
    }
  }

  /** The file at `filePath` was replaced or deleted: requests from now on open it anew. */
  forget(filePath: string): void {
    const entry = this.entries.get(filePath);
    if (entry) void this.retire(filePath, entry);
  }

  /** Reads on the spot; a slow one sends the reads of the next minute through the thread pool. */
  private readNow(handle: FileHandle, start: number, length: number): Buffer {
    const began = process.hrtime.bigint();
    const buffer = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const bytesRead = fs.readSync(handle.fd, buffer, filled, length - filled, start + filled);
      if (bytesRead === 0) throw endedEarly(length - filled);
      filled += bytesRead;
    }
    if (process.hrtime.bigint() - began > SLOW_READ_NOW_NS) this.readLaterUntil = this.now() + READ_NOW_PAUSE_MS;
    return buffer;
  }

  /** Any file may have changed: every request from now on opens its file anew (resolved once the idle handles are closed). */
  forgetAll(): Promise<void> {
    return Promise.all([...this.entries].map(([filePath, entry]) => this.retire(filePath, entry))).then(() => undefined);
  }

  /** Closes every idle handle; handles in use are closed when their reads are done. */
  async close(): Promise<void> {
    clearTimeout(this.sweep);
    this.sweep = undefined;
    await this.forgetAll();
  }

  /** Gives the handle out no more; closes it now when no read uses it (resolved once closed). */
  private retire(filePath: string, entry: Entry): Promise<void> {
    if (entry.retired) return Promise.resolve();
    entry.retired = true;
    if (this.entries.get(filePath) === entry) this.entries.delete(filePath);
    if (entry.users > 0) return Promise.resolve();
    this.idle--;
    return closeQuietly(entry);
  }

  /** The last user is done: close a retired handle, else keep it idle (closing the least recently used idle ones beyond the bound). */
  private release(entry: Entry): void {
    if (entry.retired) {
      void closeQuietly(entry);
      return;
    }
    this.idle++;
    for (const [filePath, other] of this.entries) {
      if (this.idle <= this.options.keepIdle) break;
      if (other.users === 0) void this.retire(filePath, other);
    }
    if (this.idle > 0 && !this.sweep) {
      // unref: an idle handle never keeps the process alive; close() clears it.
      this.sweep = setTimeout(() => this.closeOldIdle(), this.options.maxAgeMs).unref();
    }
  }

  private closeOldIdle(): void {
    this.sweep = undefined;
    const now = this.now();
    for (const [filePath, entry] of this.entries) {
      if (entry.users === 0 && now - entry.openedAt >= this.options.maxAgeMs) void this.retire(filePath, entry);
    }
    if (this.idle > 0) this.sweep = setTimeout(() => this.closeOldIdle(), this.options.maxAgeMs).unref();
  }
}

/** `length` bytes from `start` through the thread pool; rejects with ESHORTFILE when the file ends first. */
export async function readExactly(handle: FileHandle, start: number, length: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, start + filled);
    if (bytesRead === 0) throw endedEarly(length - filled);
    filled += bytesRead;
  }
  return buffer;
}

function endedEarly(missing: number): NodeJS.ErrnoException {
  return Object.assign(new Error(`the file ended ${missing} bytes early`), { code: 'ESHORTFILE' });
}

function closeQuietly(entry: Entry): Promise<void> {
  return entry.handle.then((handle) => handle.close(), () => undefined).catch(() => undefined);
}
