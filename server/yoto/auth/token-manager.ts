import { EventEmitter } from 'node:events';
import { silentLogger, type Logger } from '../../log/logger';
import { realClock, type TimeSource } from '../../time/clock';
import { OAuthError, type TokenResponse } from './oauth-client';
import type { StoredTokens, TokenStore } from './token-store';

export type AuthState = 'signed-out' | 'signed-in' | 'needs-sign-in';

/** The part of the OAuth client the manager needs (the virtual and the real login both fit). */
export interface TokenEndpoint {
  readonly clientId: string;
  refresh(refreshToken: string): Promise<TokenResponse>;
}

/** Thrown when no token can be had without the user signing in (again). */
export class SignInRequiredError extends Error {
  readonly code = 'sign_in_required';

  constructor(message: string, override readonly cause?: unknown) {
    super(message);
    this.name = 'SignInRequiredError';
  }
}

export interface TokenManagerEvents {
  /** A refresh succeeded; the new tokens are already saved (or 'persist-error' followed). */
  refreshed: [info: { expiresAt: number }];
  'state-changed': [state: AuthState];
  /** The rotated tokens could not be written: the next restart will need a new sign-in. */
  'persist-error': [error: unknown];
}

export interface TokenManagerOptions {
  oauth: TokenEndpoint;
  store: TokenStore;
  clock?: TimeSource;
  /** Refresh this long before expiry (capped at half the token's lifetime). Default 300 s. */
  refreshMarginSeconds?: number;
  logger?: Logger;
}

/**
 * Hands out a valid access token, refreshing it before it expires.
 *
 * Yoto's refresh tokens rotate: each refresh returns a new one and the old
 * one is dead (reusing it can revoke the whole sign-in). So: one refresh at a
 * time, shared by every caller; the spent token is dropped from memory at
 * once; the new pair is written to the store before anyone gets the new
 * access token; and before refreshing, the store is read again in case
 * another instance (a redeployed hub) has already rotated the pair.
 */
export class YotoTokenManager extends EventEmitter<TokenManagerEvents> {
  private tokens: StoredTokens | undefined;
  private currentState: AuthState = 'signed-out';
  private refreshing: Promise<string> | undefined;
  private readonly clock: TimeSource;
  private readonly marginMs: number;
  private readonly logger: Logger;

  constructor(private readonly options: TokenManagerOptions) {
    super();
    this.clock = options.clock ?? realClock;
    this.marginMs = (options.refreshMarginSeconds ?? 300) * 1000;
    this.logger = options.logger ?? silentLogger;
  }

  get state(): AuthState {
    return this.currentState;
  }

  /** The scopes the login granted (space-separated), when it said; undefined when not signed in or not said. */
  get scope(): string | undefined {
    return this.tokens?.scope;
  }

  /** Epoch ms when the current access token expires, if signed in. */
  get expiresAt(): number | undefined {
    return this.tokens?.expiresAt;
  }

  /** Reads the saved sign-in, if any, for this client id. */
  async load(): Promise<AuthState> {
    const stored = await this.options.store.load();
    if (stored && stored.clientId !== this.options.oauth.clientId) {
      this.logger.warn('ignoring saved Yoto tokens of another client id; sign in again', { savedClientId: stored.clientId });
      this.setState('signed-out');
      return this.currentState;
    }
    this.tokens = stored;
    this.setState(stored ? 'signed-in' : 'signed-out');
    return this.currentState;
  }

  /** Takes the tokens of a finished sign-in and saves them. */
  async acceptSignIn(response: TokenResponse): Promise<void> {
    const tokens = this.toStored(response, undefined);
    this.tokens = tokens;
    await this.options.store.save(tokens);
    this.setState('signed-in');
  }

  /** A valid access token: the current one, or a fresh one when it is about to expire. */
  async getAccessToken(): Promise<string> {
    if (this.refreshing) return this.refreshing;
    const tokens = this.requireTokens();
    if (!this.isDue(tokens)) return tokens.accessToken;
    return this.refreshOnce(undefined);
  }

  /** Refreshes now, whatever the expiry (joins a refresh already under way). */
  refresh(): Promise<string> {
    this.requireTokens();
    return this.refreshOnce(undefined);
  }

  /**
   * The API (or the MQTT broker) refused `token` although it had not expired
   * here (revoked, or the cloud restarted). Refreshes unless another caller
   * already replaced that token.
   */
  async accessTokenRejected(token: string): Promise<string> {
    if (this.refreshing) return this.refreshing;
    const tokens = this.requireTokens();
    if (tokens.accessToken !== token) return this.getAccessToken();
    return this.refreshOnce(token);
  }

  async signOut(): Promise<void> {
    await this.refreshing?.catch(() => undefined);
    this.tokens = undefined;
    await this.options.store.clear();
    this.setState('signed-out');
  }

  private refreshOnce(rejectedToken: string | undefined): Promise<string> {
    if (!this.refreshing) {
      this.refreshing = this.performRefresh(rejectedToken).finally(() => {
        this.refreshing = undefined;
      });
    }
    return this.refreshing;
  }

  private async performRefresh(rejectedToken: string | undefined): Promise<string> {
    const tokens = await this.newestTokens();
    const rotatedElsewhere = tokens.refreshToken !== this.tokens?.refreshToken;
    this.tokens = tokens;
    if (rotatedElsewhere && !this.isDue(tokens) && tokens.accessToken !== rejectedToken) return tokens.accessToken;
    if (!tokens.refreshToken) {
      throw this.needsSignIn(new SignInRequiredError('the Yoto sign-in has no refresh token (was offline_access asked for?): sign in again'));
    }

    let response: TokenResponse;
    try {
      response = await this.options.oauth.refresh(tokens.refreshToken);
    } catch (error) {
      if (error instanceof OAuthError && error.isInvalidGrant) {
        throw this.needsSignIn(new SignInRequiredError(`the Yoto sign-in has expired or was revoked (${error.message}): sign in again`, error));
      }
      throw error;
    }

    const next = this.toStored(response, tokens.refreshToken);
    // The old refresh token is spent the moment the login answered: never keep it.
    this.tokens = next;
    await this.persist(next);
    this.logger.info('refreshed the Yoto access token', { expiresAt: new Date(next.expiresAt).toISOString(), rotated: next.refreshToken !== tokens.refreshToken });
    this.emit('refreshed', { expiresAt: next.expiresAt });
    return next.accessToken;
  }

  /** The in-memory tokens, unless the store holds a newer pair for the same client. */
  private async newestTokens(): Promise<StoredTokens> {
    const current = this.requireTokens();
    try {
      const stored = await this.options.store.load();
      if (stored && stored.clientId === current.clientId && stored.refreshToken !== current.refreshToken && stored.obtainedAt >= current.obtainedAt) {
        this.logger.info('another instance refreshed the Yoto tokens; using its newer pair');
        return stored;
      }
    } catch (error) {
      this.logger.warn('could not read the saved Yoto tokens before refreshing; using the ones in memory', { err: error });
    }
    return current;
  }

  private async persist(tokens: StoredTokens): Promise<void> {
    try {
      await this.options.store.save(tokens);
    } catch (error) {
      this.logger.error('could not save the rotated Yoto tokens; a restart will need a new sign-in', { err: error });
      this.emit('persist-error', error);
    }
  }

  private isDue(tokens: StoredTokens): boolean {
    const lifetime = Math.max(0, tokens.expiresAt - tokens.obtainedAt);
    const margin = Math.min(this.marginMs, lifetime / 2);
    return this.clock.now() >= tokens.expiresAt - margin;
  }

  private requireTokens(): StoredTokens {
    if (!this.tokens) {
      throw new SignInRequiredError(
        this.currentState === 'needs-sign-in' ? 'the Yoto sign-in has expired: sign in again' : 'not signed in to Yoto: sign in first',
      );
    }
    return this.tokens;
  }

  private needsSignIn(error: SignInRequiredError): SignInRequiredError {
    this.tokens = undefined;
    this.setState('needs-sign-in');
    this.logger.warn(error.message);
    return error;
  }

  private toStored(response: TokenResponse, previousRefreshToken: string | undefined): StoredTokens {
    const now = this.clock.now();
    const refreshToken = response.refresh_token ?? previousRefreshToken;
    return {
      clientId: this.options.oauth.clientId,
      accessToken: response.access_token,
      ...(refreshToken ? { refreshToken } : {}),
      tokenType: response.token_type || 'Bearer',
      ...(response.scope ? { scope: response.scope } : {}),
      expiresAt: now + response.expires_in * 1000,
      obtainedAt: now,
    };
  }

  private setState(state: AuthState): void {
    if (state === this.currentState) return;
    this.currentState = state;
    this.emit('state-changed', state);
  }
}
