import { createHash, randomBytes, randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { silentLogger, type Logger } from '../../log/logger';
import { realClock, type TimeSource } from '../../time/clock';
import type { TokenResponse } from '../../yoto/auth/oauth-client';
import { codeChallengeS256, isValidCodeVerifier } from '../../yoto/auth/pkce';
import { REAL_CLOUD } from '../../yoto/protocol';
import { expandScopes, missingScopes, parseScopes, SCOPE_USES } from '../../yoto/auth/scopes';
import { PersistedJson } from '../cards/persisted-json';
import { HUB_VIRTUAL_CLIENT_ID } from '../contracts';

/** Every public scope of the Yoto API (yoto.dev), with the OpenID ones Auth0 always allows. */
export const ALL_VIRTUAL_SCOPES: readonly string[] = ['openid', 'profile', ...Object.keys(SCOPE_USES), 'family:library:manage'];

/** The apps registered with the virtual cloud, as at the Yoto developer dashboard: client id -> scopes ticked for it. */
export type VirtualClientRegistry = Readonly<Record<string, readonly string[]>>;

/** By default only the hub itself is registered, with every scope. */
export const DEFAULT_VIRTUAL_CLIENTS: VirtualClientRegistry = { [HUB_VIRTUAL_CLIENT_ID]: ALL_VIRTUAL_SCOPES };

/** An OAuth refusal, as Auth0 words it: `{error, error_description}` with its status. */
export class OAuthRefusal extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
  ) {
    super(description);
    this.name = 'OAuthRefusal';
  }

  toBody(): { error: string; error_description: string } {
    return { error: this.error, error_description: this.description };
  }
}

export interface AuthorizationRequest {
  responseType: string | undefined;
  clientId: string | undefined;
  redirectUri: string | undefined;
  codeChallenge: string | undefined;
  codeChallengeMethod: string | undefined;
  scope: string | undefined;
  audience: string | undefined;
}

export type AccessTokenStatus = 'valid' | 'expired' | 'unknown';

export interface VirtualTokenServiceOptions {
  clock?: TimeSource;
  /** Lifetime of access tokens. Default 3600 s; short ones exercise refresh in demos and tests. */
  accessTokenTtlSeconds?: number;
  /** Lifetime of each refresh token (a rotation starts a new one). Default 30 days. */
  refreshTokenTtlSeconds?: number;
  /** Lifetime of an authorization code. Default 300 s. */
  codeTtlSeconds?: number;
  /** Audiences /authorize accepts besides Yoto's own (https://api.yotoplay.com). */
  extraAudiences?: string[];
  /** Keeps issued tokens (hashed) across restarts; none: memory only. */
  dataDir?: string;
  /** Client ids /authorize approves, with the scopes each may get. Default: only the hub's own client id. */
  clients?: VirtualClientRegistry;
  logger?: Logger;
}

interface PendingCode {
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  scope: string;
  expiresAt: number;
}

interface AccessRecord {
  familyId: string;
  clientId: string;
  scope: string;
  expiresAt: number;
}

interface RefreshRecord extends AccessRecord {
  /** Set once the token has been exchanged: presenting it again is reuse. */
  usedAt?: number;
}

interface TokensFile {
  version: 1;
  access: Record<string, AccessRecord>;
  refresh: Record<string, RefreshRecord>;
}

/**
 * The virtual cloud's login (issuer and verifier in one): PKCE authorization
 * codes, short-lived access tokens and rotating refresh tokens.
 *
 * Tokens are opaque random strings checked against server-side records (the
 * real Yoto login issues JWTs; the adapter treats both as opaque and reads
 * expires_in). Only hashes are kept. Rotation follows Auth0: each refresh
 * token works once; presenting a spent one is refused with invalid_grant and
 * revokes every token of that sign-in, as reuse suggests a stolen token.
 */
export class VirtualTokenService {
  private readonly codes = new Map<string, PendingCode>();
  private readonly access = new Map<string, AccessRecord>();
  private readonly refreshTokens = new Map<string, RefreshRecord>();
  private readonly file: PersistedJson<TokensFile>;
  private readonly clock: TimeSource;
  private readonly logger: Logger;
  private readonly audiences: Set<string>;
  private readonly clients: VirtualClientRegistry;
  readonly accessTokenTtlSeconds: number;
  private readonly refreshTtlMs: number;
  private readonly codeTtlMs: number;

  constructor(options: VirtualTokenServiceOptions = {}) {
    this.clock = options.clock ?? realClock;
    this.logger = options.logger ?? silentLogger;
    this.accessTokenTtlSeconds = options.accessTokenTtlSeconds ?? 3600;
    this.refreshTtlMs = (options.refreshTokenTtlSeconds ?? 30 * 24 * 3600) * 1000;
    this.codeTtlMs = (options.codeTtlSeconds ?? 300) * 1000;
    this.audiences = new Set([REAL_CLOUD.audience, ...(options.extraAudiences ?? [])]);
    this.clients = options.clients ?? DEFAULT_VIRTUAL_CLIENTS;
    this.file = new PersistedJson(options.dataDir ? path.join(options.dataDir, 'tokens.json') : undefined);
  }

  async load(): Promise<void> {
    const stored = await this.file.read();
    this.access.clear();
    this.refreshTokens.clear();
    for (const [hash, record] of Object.entries(stored?.access ?? {})) this.access.set(hash, record);
    for (const [hash, record] of Object.entries(stored?.refresh ?? {})) this.refreshTokens.set(hash, record);
  }

  async flush(): Promise<void> {
    await this.file.flush();
  }

  /** True for a client id registered with this cloud (only those may sign in). */
  isKnownClient(clientId: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.clients, clientId);
  }

  /**
   * Checks an /authorize request and, the virtual user having approved at
   * once, returns the authorization code. Throws OAuthRefusal: an unknown
   * client is refused outright (callers must not redirect to it), scopes the
   * client is not registered for are `access_denied`, as Yoto answers.
   */
  authorize(request: AuthorizationRequest): string {
    const { clientId, redirectUri } = request;
    if (!clientId || !redirectUri) throw new OAuthRefusal(400, 'invalid_request', 'client_id and redirect_uri are required');
    if (!this.isKnownClient(clientId)) throw new OAuthRefusal(400, 'unauthorized_client', `Unknown client: ${clientId}`);
    if (request.responseType !== 'code') throw new OAuthRefusal(400, 'unsupported_response_type', 'response_type must be "code"');
    if (!request.codeChallenge) throw new OAuthRefusal(400, 'invalid_request', 'code_challenge is required (PKCE)');
    if (request.codeChallengeMethod !== 'S256') throw new OAuthRefusal(400, 'invalid_request', 'code_challenge_method must be "S256"');
    if (request.audience !== undefined && !this.audiences.has(request.audience)) {
      throw new OAuthRefusal(403, 'access_denied', `Service not found: ${request.audience}`);
    }
    const scope = parseScopes(request.scope ?? 'openid profile');
    const notAllowed = missingScopes(this.clients[clientId] ?? [], scope);
    if (notAllowed.length > 0) {
      throw new OAuthRefusal(403, 'access_denied', `Client is not authorized to request scopes: ${notAllowed.join(' ')}`);
    }
    this.pruneCodes();
    const code = token('vac');
    this.codes.set(code, {
      clientId,
      redirectUri,
      codeChallenge: request.codeChallenge,
      scope: scope.join(' '),
      expiresAt: this.clock.now() + this.codeTtlMs,
    });
    return code;
  }

  /** `grant_type=authorization_code`: the code works once, for the same client, redirect URI and PKCE verifier. */
  async exchangeCode(params: { code?: string; codeVerifier?: string; redirectUri?: string; clientId?: string }): Promise<TokenResponse> {
    const { code, codeVerifier, redirectUri, clientId } = params;
    if (!code || !codeVerifier || !clientId) throw new OAuthRefusal(400, 'invalid_request', 'code, code_verifier and client_id are required');
    const pending = this.codes.get(code);
    this.codes.delete(code);
    if (!pending || pending.expiresAt <= this.clock.now()) throw new OAuthRefusal(403, 'invalid_grant', 'Invalid authorization code');
    if (pending.clientId !== clientId) throw new OAuthRefusal(403, 'invalid_grant', 'the code was issued to another client');
    if (pending.redirectUri !== redirectUri) throw new OAuthRefusal(403, 'invalid_grant', 'redirect_uri does not match the one used in /authorize');
    if (!isValidCodeVerifier(codeVerifier) || codeChallengeS256(codeVerifier) !== pending.codeChallenge) {
      throw new OAuthRefusal(403, 'invalid_grant', 'Failed to verify code verifier');
    }
    return this.issue({ familyId: randomUUID(), clientId, scope: pending.scope });
  }

  /** `grant_type=refresh_token`: rotates; a spent token is reuse and revokes the sign-in. */
  async refresh(params: { refreshToken?: string; clientId?: string }): Promise<TokenResponse> {
    const { refreshToken, clientId } = params;
    if (!refreshToken || !clientId) throw new OAuthRefusal(400, 'invalid_request', 'refresh_token and client_id are required');
    const hash = hashToken(refreshToken);
    const record = this.refreshTokens.get(hash);
    const now = this.clock.now();
    if (!record || record.expiresAt <= now || record.clientId !== clientId) {
      throw new OAuthRefusal(403, 'invalid_grant', 'Unknown or invalid refresh token.');
    }
    if (record.usedAt !== undefined) {
      await this.revokeFamily(record.familyId);
      this.logger.warn('a spent refresh token was presented again; every token of that sign-in is revoked', { clientId });
      throw new OAuthRefusal(403, 'invalid_grant', 'Unknown or invalid refresh token. (it was already used: refresh tokens rotate)');
    }
    record.usedAt = now;
    return this.issue({ familyId: record.familyId, clientId, scope: record.scope });
  }

  inspectAccessToken(accessToken: string): AccessTokenStatus {
    const record = this.access.get(hashToken(accessToken));
    if (!record) return 'unknown';
    return record.expiresAt > this.clock.now() ? 'valid' : 'expired';
  }

  /** For the MQTT side: true while the token is one this cloud issued and it has not expired. */
  verifyAccessToken(accessToken: string): boolean {
    return this.inspectAccessToken(accessToken) === 'valid';
  }

  /** The scopes a valid access token grants (implied ones included); empty for an unknown or expired token. */
  accessTokenScopes(accessToken: string): Set<string> {
    const record = this.access.get(hashToken(accessToken));
    if (!record || record.expiresAt <= this.clock.now()) return new Set();
    return expandScopes(parseScopes(record.scope));
  }

  /** Signs every session out (a demo of "the cloud revoked the hub"). */
  async revokeAll(): Promise<void> {
    this.access.clear();
    this.refreshTokens.clear();
    await this.persist();
  }

  private async issue(grant: { familyId: string; clientId: string; scope: string }): Promise<TokenResponse> {
    const now = this.clock.now();
    const accessToken = token('vat');
    this.access.set(hashToken(accessToken), { ...grant, expiresAt: now + this.accessTokenTtlSeconds * 1000 });
    const offline = grant.scope.split(/\s+/).includes('offline_access');
    const refreshToken = offline ? token('vrt') : undefined;
    if (refreshToken) this.refreshTokens.set(hashToken(refreshToken), { ...grant, expiresAt: now + this.refreshTtlMs });
    await this.persist();
    return {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: this.accessTokenTtlSeconds,
      scope: grant.scope,
      ...(refreshToken ? { refresh_token: refreshToken } : {}),
    };
  }

  private async revokeFamily(familyId: string): Promise<void> {
    for (const [hash, record] of this.access) if (record.familyId === familyId) this.access.delete(hash);
    for (const [hash, record] of this.refreshTokens) if (record.familyId === familyId) this.refreshTokens.delete(hash);
    await this.persist();
  }

  private persist(): Promise<void> {
    const now = this.clock.now();
    // Expired access tokens are kept a day, so a late caller hears "expired" rather than "unknown".
    for (const [hash, record] of this.access) if (record.expiresAt + 86_400_000 <= now) this.access.delete(hash);
    for (const [hash, record] of this.refreshTokens) if (record.expiresAt <= now) this.refreshTokens.delete(hash);
    return this.file.write({ version: 1, access: Object.fromEntries(this.access), refresh: Object.fromEntries(this.refreshTokens) });
  }

  private pruneCodes(): void {
    const now = this.clock.now();
    for (const [code, pending] of this.codes) if (pending.expiresAt <= now) this.codes.delete(code);
  }
}

function token(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

function hashToken(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}
