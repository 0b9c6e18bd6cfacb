import * as fs from 'node:fs/promises';
import { readFileIfExists, writeFileAtomic } from '../../files/atomic-file';

/** The tokens of one signed-in Yoto account, as kept between restarts. */
export interface StoredTokens {
  clientId: string;
  accessToken: string;
  /** Rotates on every refresh: the stored one must always be the newest. */
  refreshToken?: string;
  tokenType: string;
  scope?: string;
  /** Epoch milliseconds when the access token stops working. */
  expiresAt: number;
  /** Epoch milliseconds when the access token was issued (to refresh well before expiresAt). */
  obtainedAt: number;
}

export interface TokenStore {
  load(): Promise<StoredTokens | undefined>;
  save(tokens: StoredTokens): Promise<void>;
  clear(): Promise<void>;
}

const FILE_VERSION = 1;

/**
 * Keeps the tokens in one JSON file readable only by the hub's user (0600).
 * Every save writes a temporary file, flushes it and renames it over the old
 * one, so a crash mid-write leaves either the old or the new tokens, never a
 * torn file that would force a new sign-in.
 */
export class FileTokenStore implements TokenStore {
  private writing: Promise<void> = Promise.resolve();

  constructor(readonly file: string) {}

  async load(): Promise<StoredTokens | undefined> {
    const text = await readFileIfExists(this.file);
    return text === undefined ? undefined : parseStoredTokens(this.file, text);
  }

  /** Saves are queued, so the last one asked for is the one left on disk. */
  save(tokens: StoredTokens): Promise<void> {
    const next = this.writing.then(() => writeFileAtomic(this.file, JSON.stringify({ version: FILE_VERSION, ...tokens }, null, 2)));
    this.writing = next.catch(() => undefined);
    return next;
  }

  async clear(): Promise<void> {
    await this.writing;
    await fs.rm(this.file, { force: true });
  }
}

function parseStoredTokens(file: string, text: string): StoredTokens {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`the Yoto token file ${file} is not valid JSON; delete it and sign in again`);
  }
  const value = parsed as Partial<StoredTokens> & { version?: unknown };
  if (
    typeof value !== 'object' || value === null ||
    typeof value.clientId !== 'string' || typeof value.accessToken !== 'string' ||
    typeof value.expiresAt !== 'number' || (value.refreshToken !== undefined && typeof value.refreshToken !== 'string')
  ) {
    throw new Error(`the Yoto token file ${file} does not hold tokens; delete it and sign in again`);
  }
  return {
    clientId: value.clientId,
    accessToken: value.accessToken,
    ...(value.refreshToken ? { refreshToken: value.refreshToken } : {}),
    tokenType: typeof value.tokenType === 'string' ? value.tokenType : 'Bearer',
    ...(typeof value.scope === 'string' ? { scope: value.scope } : {}),
    expiresAt: value.expiresAt,
    obtainedAt: typeof value.obtainedAt === 'number' ? value.obtainedAt : value.expiresAt,
  };
}
