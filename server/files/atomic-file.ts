import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';

/**
 * The one way the hub writes a file it must not lose or tear (db.json, hub-config.json, tokens,
 * secrets, the virtual cloud's files, smart streams, revocations): write a temporary file beside
 * the target, fsync it, rename it over the target, fsync the directory. When the promise resolves
 * the new content survives a crash or power cut; before that, the old content is intact.
 *
 * Temporary files are named `.<name>.<pid>.<random>.tmp`; `removeTempLeftovers()` sweeps the ones a
 * killed process left behind (the hub does so at start).
 */

export interface AtomicWriteOptions {
  /** File mode of the result (default 0600: every file the hub writes is private to its user). */
  mode?: number;
}

const DIR_MODE = 0o700;

export const TEMP_SUFFIX = '.tmp';

function temporaryPathFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
}

export async function writeFileAtomic(file: string, content: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const mode = options.mode ?? 0o600;
  const dir = path.dirname(file);
  await fsp.mkdir(dir, { recursive: true, mode: DIR_MODE });
  const temporary = temporaryPathFor(file);
  try {
    const handle = await fsp.open(temporary, 'wx', mode);
    try {
      await handle.writeFile(content);
      // open()'s mode is filtered by the umask; the result must be exactly `mode`.
      await handle.chmod(mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fsp.rename(temporary, file);
  } catch (error) {
    await fsp.rm(temporary, { force: true });
    throw error;
  }
  await fsyncDir(dir);
}

/** The synchronous twin, for start-up (e.g. a secret that must exist before the first URL is signed). */
export function writeFileAtomicSync(file: string, content: string | Uint8Array, options: AtomicWriteOptions = {}): void {
  const mode = options.mode ?? 0o600;
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  const temporary = temporaryPathFor(file);
  try {
    const fd = fs.openSync(temporary, 'wx', mode);
    try {
      fs.writeFileSync(fd, content);
      fs.fchmodSync(fd, mode);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temporary, file);
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    throw error;
  }
  fsyncDirSync(dir);
}

/** `value` as indented JSON with a final newline, written atomically. */
export function writeJsonAtomic(file: string, value: unknown, options: AtomicWriteOptions = {}): Promise<void> {
  return writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`, options);
}

/** Makes a rename (or a create, or an unlink) in `dir` durable. */
export async function fsyncDir(dir: string): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(dir, 'r');
    await handle.sync();
  } catch (error) {
    // Some file systems (and Windows) cannot open or fsync a directory; the rename itself stands.
    if (!isUnsupportedDirSync(error)) throw error;
  } finally {
    await handle?.close();
  }
}

export function fsyncDirSync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch (error) {
    if (!isUnsupportedDirSync(error)) throw error;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function isUnsupportedDirSync(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'EISDIR' || code === 'EINVAL' || code === 'EPERM' || code === 'ENOTSUP';
}

/** Content of `file`, or undefined when it does not exist. */
export async function readFileIfExists(file: string): Promise<string | undefined> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Parsed JSON of `file`, or undefined when the file does not exist. A corrupt file throws (never silently reset). */
export function readJsonSync(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Error(`${file} is not valid JSON; fix or delete it`);
  }
}

/**
 * Removes the `*.tmp` files under `root` (any depth, symbolic links not followed) that a process
 * killed mid-write left behind. Call it before anything under `root` starts writing. Resolves to the
 * removed paths.
 */
export async function removeTempLeftovers(root: string): Promise<string[]> {
  const removed: string[] = [];
  const visit = async (dir: string): Promise<void> => {
    let entries: fs.Dirent[];
    try {
      entries = await fsp.readdir(dir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await visit(full);
      else if (entry.isFile() && entry.name.endsWith(TEMP_SUFFIX)) {
        await fsp.rm(full, { force: true });
        removed.push(full);
      }
    }
  };
  await visit(root);
  return removed;
}

/** Runs writes one after the other, so the last state always lands last. */
export class WriteQueue {
  private tail: Promise<void> = Promise.resolve();

  run(work: () => Promise<void>): Promise<void> {
    const next = this.tail.then(work, work);
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** Resolves once every queued write is done. */
  idle(): Promise<void> {
    return this.tail;
  }
}
