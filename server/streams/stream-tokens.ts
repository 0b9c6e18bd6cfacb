import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readJsonSync, writeFileAtomic, writeFileAtomicSync, WriteQueue } from '../files/atomic-file';

/** What a stream URL gives access to. */
export type StreamTarget = { kind: 'audio'; fileId: string } | { kind: 'smart'; streamId: string } | { kind: 'speech'; key: string };

/** Who the URL was made for; each part can be revoked on its own. */
export interface StreamScope {
  /** The player the URL was deployed to: `revokeDevice(deviceId)` ends it. */
  deviceId?: string;
  /** The script whose card carries the URL: `revokeScript(scriptId)` ends it. */
  scriptId?: string;
  /**
   * Lifetime in seconds; none means until revoked. The stream service gives every URL it makes a
   * lifetime (STREAM_URL_LIFETIME_SECONDS unless told otherwise), and the hub renews the ones on the
   * cards it deployed before they expire.
   */
  expiresInSeconds?: number;
}

/** What a valid token says. */
export interface StreamGrant {
  target: StreamTarget;
  deviceId?: string;
  scriptId?: string;
  /** Unix seconds. */
  expiresAt?: number;
}

/**
 * A refused token says why. When the signature was good (wrong target, expired,
 * revoked), the device and script it was signed for are known and trustworthy:
 * `signedFor` carries them, so the refusal can be reported against that player.
 */
export type TokenCheck =
  | { ok: true; grant: StreamGrant }
  | { ok: false; reason: 'malformed' | 'bad_signature' | 'wrong_target' | 'expired' | 'revoked'; signedFor?: { deviceId?: string; scriptId?: string } };

/** The signed fields, short names to keep player URLs short. */
interface TokenPayload {
  /** target: `a:<fileId>`, `s:<streamId>` or `t:<speech cache key>` */
  g: string;
  d?: string;
  s?: string;
  /** expiry, unix seconds */
  e?: number;
  /** device version when signed */
  dv?: number;
  /** script version when signed */
  sv?: number;
}

interface RevocationFile {
  devices: Record<string, number>;
  scripts: Record<string, number>;
}

const SECRET_BYTES = 32;
const TOKEN_VERSION = 'v1';
/**
 * Tokens whose signature was checked, remembered by their exact text (a player sends the same URL
 * for every range of a file). Only the signature check and the decoding are skipped: expiry and
 * revocation are checked against the current state on every request.
 */
const VERIFIED_TOKENS_KEPT = 1024;

export function targetKey(target: StreamTarget): string {
  switch (target.kind) {
    case 'audio':
      return `a:${target.fileId}`;
    case 'smart':
      return `s:${target.streamId}`;
    case 'speech':
      return `t:${target.key}`;
  }
}

/**
 * Signs and checks the capability tokens in player URLs: HMAC-SHA256 with a
 * per-hub secret (`<dataDir>/secrets/stream-secret`, 0600) over the target,
 * the scope, the expiry and the scope's revocation version. Revoking a
 * device or a script bumps its version (kept in
 * `<dataDir>/streams/revocations.json`), so every URL signed before stops working.
 */
export class StreamTokens {
  private readonly secret: Buffer;
  private readonly revocationsFile: string;
  private readonly revocations: RevocationFile;
  private readonly writes = new WriteQueue();
  /** Payloads of well-formed tokens with a good signature, by token text, least recently used first. */
  private readonly verified = new Map<string, TokenPayload>();

  constructor(dataDir: string, private readonly now: () => Date) {
    this.secret = loadOrCreateSecret(path.join(dataDir, 'secrets', 'stream-secret'));
    this.revocationsFile = path.join(dataDir, 'streams', 'revocations.json');
    this.revocations = readRevocations(this.revocationsFile);
  }

  sign(target: StreamTarget, scope: StreamScope = {}): string {
    const payload: TokenPayload = { g: targetKey(target) };
    if (scope.deviceId !== undefined) {
      payload.d = scope.deviceId;
      payload.dv = this.revocations.devices[scope.deviceId] ?? 0;
    }
    if (scope.scriptId !== undefined) {
      payload.s = scope.scriptId;
      payload.sv = this.revocations.scripts[scope.scriptId] ?? 0;
    }
    if (scope.expiresInSeconds !== undefined) payload.e = Math.floor(this.now().getTime() / 1000) + Math.max(0, Math.floor(scope.expiresInSeconds));
    const body = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
    return `${body}.${this.mac(body).toString('base64url')}`;
  }

  /** Checks `token` for `target`; never throws. */
  verify(token: string | undefined, target: StreamTarget): TokenCheck {
    return this.check(token, target, true);
  }

  /**
   * What a token this hub signed for `target` grants, expired or not (`expiresAt` says when it
   * expires): for renewing the URLs on cards. Refused when it is malformed, forged, for another
   * target or revoked.
   */
  inspect(token: string | undefined, target: StreamTarget): TokenCheck {
    return this.check(token, target, false);
  }

  /** A fresh token for the same target and scope with a new lifetime, when `inspect` accepts `token`. */
  renew(token: string, target: StreamTarget, expiresInSeconds: number): string | undefined {
    const check = this.inspect(token, target);
    if (!check.ok) return undefined;
    const { deviceId, scriptId } = check.grant;
    return this.sign(target, { ...(deviceId !== undefined ? { deviceId } : {}), ...(scriptId !== undefined ? { scriptId } : {}), expiresInSeconds });
  }

  private check(token: string | undefined, target: StreamTarget, refuseExpired: boolean): TokenCheck {
    if (typeof token !== 'string' || token.length > 4096) return { ok: false, reason: 'malformed' };
    const payload = this.verified.get(token) ?? this.decode(token);
    if (typeof payload === 'string') return { ok: false, reason: payload };
    this.remember(token, payload);
    const signedFor = {
      ...(typeof payload.d === 'string' ? { deviceId: payload.d } : {}),
      ...(typeof payload.s === 'string' ? { scriptId: payload.s } : {}),
    };
    if (payload.g !== targetKey(target)) return { ok: false, reason: 'wrong_target', signedFor };
    if (refuseExpired && payload.e !== undefined && Math.floor(this.now().getTime() / 1000) >= payload.e) return { ok: false, reason: 'expired', signedFor };
    if (payload.d !== undefined && (this.revocations.devices[payload.d] ?? 0) !== payload.dv) return { ok: false, reason: 'revoked', signedFor };
    if (payload.s !== undefined && (this.revocations.scripts[payload.s] ?? 0) !== payload.sv) return { ok: false, reason: 'revoked', signedFor };
    return {
      ok: true,
      grant: {
        target,
        ...(payload.d !== undefined ? { deviceId: payload.d } : {}),
        ...(payload.s !== undefined ? { scriptId: payload.s } : {}),
        ...(payload.e !== undefined ? { expiresAt: payload.e } : {}),
      },
    };
  }

  /** The payload of a token with a good signature, or why it is refused. */
  private decode(token: string): TokenPayload | 'malformed' | 'bad_signature' {
    const dot = token.indexOf('.');
    if (dot <= 0 || dot !== token.lastIndexOf('.')) return 'malformed';
    const body = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1), 'base64url');
    const expected = this.mac(body);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'bad_signature';
    let payload: TokenPayload;
    try {
      payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as TokenPayload;
    } catch {
      return 'malformed';
    }
    if (typeof payload !== 'object' || payload === null || typeof payload.g !== 'string') return 'malformed';
    if (payload.e !== undefined && typeof payload.e !== 'number') return 'malformed';
    return payload;
  }

  /** Keeps a verified payload as the most recently used, dropping the least recently used beyond the bound. */
  private remember(token: string, payload: TokenPayload): void {
    this.verified.delete(token);
    this.verified.set(token, payload);
    if (this.verified.size > VERIFIED_TOKENS_KEPT) this.verified.delete(this.verified.keys().next().value as string);
  }

  /** Every URL signed for this device so far stops working; resolves once that is on disk. */
  revokeDevice(deviceId: string): Promise<void> {
    this.revocations.devices[deviceId] = (this.revocations.devices[deviceId] ?? 0) + 1;
    return this.persist();
  }

  /** Every URL signed for this script so far stops working; resolves once that is on disk. */
  revokeScript(scriptId: string): Promise<void> {
    this.revocations.scripts[scriptId] = (this.revocations.scripts[scriptId] ?? 0) + 1;
    return this.persist();
  }

  idle(): Promise<void> {
    return this.writes.idle();
  }

  private persist(): Promise<void> {
    return this.writes.run(() => writeFileAtomic(this.revocationsFile, `${JSON.stringify(this.revocations, null, 2)}\n`));
  }

  private mac(body: string): Buffer {
    return createHmac('sha256', this.secret).update(`${TOKEN_VERSION}.${body}`).digest();
  }
}

function loadOrCreateSecret(file: string): Buffer {
  let text: string | undefined;
  try {
    text = fs.readFileSync(file, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (text !== undefined) {
    const secret = Buffer.from(text, 'base64url');
    if (secret.length < SECRET_BYTES) throw new Error(`${file} holds no usable secret; delete it to generate a new one (every stream URL then stops working)`);
    return secret;
  }
  const secret = randomBytes(SECRET_BYTES * 2);
  writeFileAtomicSync(file, `${secret.toString('base64url')}\n`);
  return secret;
}

function readRevocations(file: string): RevocationFile {
  const raw = readJsonSync(file);
  const result: RevocationFile = { devices: {}, scripts: {} };
  if (raw === undefined) return result;
  if (typeof raw !== 'object' || raw === null) throw new Error(`${file} is not a revocation file; fix or delete it`);
  const record = raw as Record<string, unknown>;
  for (const key of ['devices', 'scripts'] as const) {
    const map = record[key];
    if (typeof map !== 'object' || map === null) continue;
    for (const [id, version] of Object.entries(map as Record<string, unknown>)) {
      if (Number.isSafeInteger(version)) result[key][id] = version as number;
    }
  }
  return result;
}
