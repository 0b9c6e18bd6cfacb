import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { writeFileAtomic } from '../files/atomic-file';

/** Bytes of a generated secret; HS256 wants at least 32. */
const SECRET_BYTES = 64;
const MIN_SECRET_CHARS = 32;

/**
 * The HMAC secret of access and invitation tokens: `<dataDir>/secrets/jwt-secret`, generated on
 * first start (mode 0600 in a 0700 folder, written to a temporary file then renamed, so a crash
 * never leaves half a secret). Deleting the file signs everybody out of the API on next start.
 */
export async function loadOrCreateJwtSecret(dataDir: string): Promise<string> {
  const dir = path.join(dataDir, 'secrets');
  const file = path.join(dir, 'jwt-secret');
  const existing = await readSecret(file);
  if (existing !== undefined) return existing;

  const secret = randomBytes(SECRET_BYTES).toString('base64url');
  await writeFileAtomic(file, `${secret}\n`);
  return secret;
}

async function readSecret(file: string): Promise<string | undefined> {
  let content: string;
  try {
    content = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const secret = content.trim();
  if (secret.length < MIN_SECRET_CHARS) {
    throw new Error(`${file} holds no usable secret (fewer than ${MIN_SECRET_CHARS} characters); delete it to generate a new one`);
  }
  return secret;
}
