/**
 * Password hashing with scrypt, stored as a PHC string:
 * `$scrypt$ln=15,r=8,p=1$<salt, base64>$<hash, base64>` (unpadded base64, as PHC asks).
 * The parameters travel with each hash, so a later cost change keeps old hashes verifiable.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { trimEndChar } from '../text/trim';

export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 1024;

/** log2 of scrypt's cost N: 15 is N = 32768, 32 MiB of memory and roughly 0.1 s of CPU per hash with r = 8. */
export const DEFAULT_COST = 15;
const BLOCK_SIZE = 8;
const PARALLELISM = 1;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Accepted on verification: anything outside is a corrupt or hostile hash, not a cost choice. */
const MIN_COST = 10;
const MAX_COST = 20;

export interface HashOptions {
  /** log2 of N; defaults to 15. */
  cost?: number;
}

export async function hashPassword(password: string, options: HashOptions = {}): Promise<string> {
  const cost = options.cost ?? DEFAULT_COST;
  if (!Number.isInteger(cost) || cost < MIN_COST || cost > MAX_COST) throw new Error(`scrypt cost must be an integer from ${MIN_COST} to ${MAX_COST}`);
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, KEY_BYTES, { N: 2 ** cost, r: BLOCK_SIZE, p: PARALLELISM });
  return `$scrypt$ln=${cost},r=${BLOCK_SIZE},p=${PARALLELISM}$${b64(salt)}$${b64(hash)}`;
}

/** True when `password` matches `phc`; false for a wrong password and for a hash this code cannot read. */
export async function verifyPassword(password: string, phc: string): Promise<boolean> {
  const parsed = parsePhc(phc);
  if (!parsed) return false;
  const actual = await derive(password, parsed.salt, parsed.hash.length, { N: 2 ** parsed.cost, r: parsed.r, p: parsed.p });
  return actual.length === parsed.hash.length && timingSafeEqual(actual, parsed.hash);
}

interface ParsedHash {
  cost: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

const PHC = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

function parsePhc(phc: string): ParsedHash | undefined {
  const match = PHC.exec(phc);
  if (!match) return undefined;
  const [, ln, r, p, salt, hash] = match;
  const parsed = { cost: Number(ln), r: Number(r), p: Number(p), salt: Buffer.from(salt!, 'base64'), hash: Buffer.from(hash!, 'base64') };
  if (parsed.cost < MIN_COST || parsed.cost > MAX_COST || parsed.r < 1 || parsed.r > 32 || parsed.p < 1 || parsed.p > 16) return undefined;
  if (parsed.salt.length < 8 || parsed.hash.length < 16 || parsed.hash.length > 128) return undefined;
  return parsed;
}

function derive(password: string, salt: Buffer, length: number, params: { N: number; r: number; p: number }): Promise<Buffer> {
  // scrypt needs 128 * N * r bytes; Node refuses anything above maxmem (32 MiB by default).
  const options: ScryptOptions = { ...params, maxmem: 256 * params.N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, length, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

function b64(buffer: Buffer): string {
  return trimEndChar(buffer.toString('base64'), '=');
}
