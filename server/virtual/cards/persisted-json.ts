import { readFileIfExists, writeFileAtomic } from '../../files/atomic-file';

/**
 * One JSON file of the virtual cloud's state under its data directory.
 * Writes go to a temporary file that is renamed over the old one, and are
 * queued, so the file always holds the last complete state written.
 * Without a file (no data directory) it keeps nothing and costs nothing.
 */
export class PersistedJson<T> {
  private writing: Promise<void> = Promise.resolve();

  constructor(readonly file: string | undefined) {}

  async read(): Promise<T | undefined> {
    if (!this.file) return undefined;
    const text = await readFileIfExists(this.file);
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new Error(`${this.file} is not valid JSON; move it away to start the virtual cloud with empty state`);
    }
  }

  /** Resolves once this state (or a later one) is on disk. */
  write(state: T): Promise<void> {
    const file = this.file;
    if (!file) return Promise.resolve();
    const text = JSON.stringify(state, null, 2);
    const next = this.writing.then(() => writeFileAtomic(file, text));
    this.writing = next.catch(() => undefined);
    return next;
  }

  /** Waits for queued writes (used on stop). */
  async flush(): Promise<void> {
    await this.writing;
  }
}
