import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../files/atomic-file';
import type { RangeFile } from '../library';
import type { Logger } from '../log/logger';

/** What the cache knows of one rendered (or fetched) audio file; `<key>.json` beside `<key>.mp3` (or `.audio`). */
export interface SpeechCacheEntry {
  key: string;
  /** File name in the cache folder. */
  file: string;
  size: number;
  contentType: string;
  durationMs: number;
  /** When it was written, in milliseconds on the hub's clock. */
  createdAt: number;
  /** What made it: an engine name (`espeak`, `marytts`) or `url`. */
  source: string;
}

const KEY = /^[0-9a-f]{40}$/;

/**
 * Rendered speech on disk under `<dataDir>/tts-cache/`: each entry is an
 * audio file and a small JSON record, written atomically, found by a key
 * (a hash of what was rendered). The index lives in memory, read back at
 * start; records without their audio (or audio without its record) are
 * removed then. Entries are removed once unused for longer than the max age.
 */
export class SpeechCache {
  private readonly entries = new Map<string, SpeechCacheEntry>();
  /** Last time each entry was rendered or served from the cache (hub clock, not persisted: a restart counts from createdAt). */
  private readonly lastUsed = new Map<string, number>();

  constructor(
    readonly dir: string,
    private readonly logger: Logger,
  ) {}

  static isKey(key: string): boolean {
    return KEY.test(key);
  }

  /** Reads the index back from disk. */
  async open(): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const names = new Set(await fsp.readdir(this.dir));
    for (const name of names) {
      if (!name.endsWith('.json')) continue;
      const key = name.slice(0, -'.json'.length);
      const entry = await this.readRecord(key);
      if (entry && names.has(entry.file)) {
        this.entries.set(key, entry);
        this.lastUsed.set(key, entry.createdAt);
      } else {
        await fsp.rm(path.join(this.dir, name), { force: true });
      }
    }
    // Audio whose record never got written (the hub stopped in between).
    for (const name of names) {
      const key = name.replace(/\.(mp3|audio)$/, '');
      if (name !== key && !this.entries.has(key)) await fsp.rm(path.join(this.dir, name), { force: true });
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** The entry under `key`, marked as used at `now`. */
  use(key: string, now: number): SpeechCacheEntry | undefined {
    const entry = this.entries.get(key);
    if (entry) this.lastUsed.set(key, Math.max(now, this.lastUsed.get(key) ?? 0));
    return entry;
  }

  /** What the stream route sends for `key`. */
  rangeFile(key: string): RangeFile | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    return { path: this.pathOf(entry), size: entry.size, mtime: new Date(entry.createdAt), contentType: entry.contentType, etag: `"${entry.key}"` };
  }

  pathOf(entry: Pick<SpeechCacheEntry, 'file'>): string {
    return path.join(this.dir, entry.file);
  }

  async put(entry: Omit<SpeechCacheEntry, 'file' | 'size'>, audio: Uint8Array): Promise<SpeechCacheEntry> {
    const file = `${entry.key}${entry.contentType === 'audio/mpeg' ? '.mp3' : '.audio'}`;
    const full: SpeechCacheEntry = { ...entry, file, size: audio.length };
    await writeFileAtomic(path.join(this.dir, file), audio);
    await writeJsonAtomic(path.join(this.dir, `${entry.key}.json`), full);
    this.entries.set(entry.key, full);
    this.lastUsed.set(entry.key, entry.createdAt);
    return full;
  }

  /** Removes the entries not used since `before` (hub clock ms); resolves to how many. */
  async removeUnusedSince(before: number): Promise<number> {
    let removed = 0;
    for (const [key, entry] of [...this.entries]) {
      if ((this.lastUsed.get(key) ?? entry.createdAt) >= before) continue;
      this.entries.delete(key);
      this.lastUsed.delete(key);
      await fsp.rm(path.join(this.dir, `${key}.json`), { force: true });
      await fsp.rm(this.pathOf(entry), { force: true });
      removed += 1;
    }
    if (removed > 0) this.logger.info('removed old speech from the cache', { removed, left: this.entries.size });
    return removed;
  }

  private async readRecord(key: string): Promise<SpeechCacheEntry | undefined> {
    if (!KEY.test(key)) return undefined;
    try {
      const record = JSON.parse(await fsp.readFile(path.join(this.dir, `${key}.json`), 'utf8')) as Partial<SpeechCacheEntry>;
      if (
        record.key !== key ||
        typeof record.file !== 'string' ||
        path.basename(record.file) !== record.file ||
        typeof record.size !== 'number' ||
        typeof record.contentType !== 'string' ||
        typeof record.durationMs !== 'number' ||
        typeof record.createdAt !== 'number' ||
        typeof record.source !== 'string'
      ) {
        return undefined;
      }
      return record as SpeechCacheEntry;
    } catch {
      return undefined;
    }
  }
}
