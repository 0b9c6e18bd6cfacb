import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

const created: string[] = [];

/** A fresh directory under the OS temp folder; removeTempDirs() deletes it. */
export async function makeTempDir(prefix: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `yoto-${prefix}-`));
  created.push(dir);
  return dir;
}

/** Deletes every directory makeTempDir made so far: register it with `after(removeTempDirs)`. */
export async function removeTempDirs(): Promise<void> {
  const dirs = created.splice(0);
  await Promise.all(dirs.map((dir) => fs.rm(dir, { recursive: true, force: true })));
}
