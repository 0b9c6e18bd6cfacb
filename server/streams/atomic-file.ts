import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';

/** Writes `content` to a temporary file beside `file`, then renames it over `file`: a crash never leaves half a file. */
export async function writeFileAtomic(file: string, content: string, mode = 0o600): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await fsp.writeFile(temporary, content, { mode, flag: 'wx' });
    await fsp.chmod(temporary, mode);
    await fsp.rename(temporary, file);
  } catch (error) {
    await fsp.rm(temporary, { force: true });
    throw error;
  }
}

/** The synchronous twin, for start-up (the secret must exist before the first URL is signed). */
export function writeFileAtomicSync(file: string, content: string, mode = 0o600): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    fs.writeFileSync(temporary, content, { mode, flag: 'wx' });
    fs.chmodSync(temporary, mode);
    fs.renameSync(temporary, file);
  } catch (error) {
    fs.rmSync(temporary, { force: true });
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
