import { REAL_CLOUD } from '../protocol';
import { DEFAULT_SCOPES } from './scopes';
import { parseRetryAfter } from '../rest/retry';
import { parseJsonObject } from '../../text/json-object';
import { trimEndChar } from '../../text/trim';

/** What Yoto's login (Auth0) answers on `POST /oauth/token`. */
export interface TokenResponse {
  access_token: string;
  token_type: string;
  /** Seconds from now. The adapter reads this and treats the token itself as opaque. */
  expires_in: number;
  /** Only when `offline_access` was asked for; a new one on every refresh (rotation). */
  refresh_token?: string;
  scope?: string;
  id_token?: string;
}

/** What every capability of the hub needs (see scopes.ts); `offline_access` gets the refresh token that keeps it signed in. */
export const DEFAULT_SCOPE = DEFAULT_SCOPES.join(' ');

/** An OAuth error answer: `{error, error_description}` with its HTTP status. */
export class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly errorDescription: string | undefined,
  ) {
    super(`Yoto sign-in failed (${status} ${error})${errorDescription ? `: ${errorDescription}` : ''}`);
    this.name = 'OAuthError';
  }

  /** The grant (code or refresh token) is unknown, used, expired or revoked: only a new sign-in helps. */
  get isInvalidGrant(): boolean {
    return this.error === 'invalid_grant' || this.error === 'expired_token' || this.error === 'invalid_token';
  }
}

export interface OAuthClientOptions {
  /** The client id registered at the Yoto developer dashboard (a setting). */
  clientId: string;
  /** Login base URL: https://login.yotoplay.com, or the virtual cloud's URL. */
  authUrl?: string;
  audience?: string;
  fetch?: typeof fetch;
  /** Waits between retries of a throttled token request; injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
}

export interface AuthorizeUrlParams {
  redirectUri: string;
  state: string;
  codeChallenge: string;
  scope?: string;
}

/** How many times a token request answered with 429 or 503 is tried again. */
const TOKEN_RETRIES = 3;

/**
 * The OAuth2 endpoints of Yoto's login: the browser `/authorize` URL and
 * `POST /oauth/token` for the authorization code and refresh grants.
 */
export class YotoOAuthClient {
  readonly clientId: string;
  readonly authUrl: string;
  readonly audience: string;
  private readonly fetch: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(options: OAuthClientOptions) {
    if (!options.clientId) throw new Error('a Yoto client id is required: register one at the Yoto developer dashboard');
    this.clientId = options.clientId;
    this.authUrl = trimEndChar(options.authUrl ?? REAL_CLOUD.authUrl, '/');
    this.audience = options.audience ?? REAL_CLOUD.audience;
    this.fetch = options.fetch ?? fetch;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  authorizeUrl(params: AuthorizeUrlParams): string {
    const url = new URL('/authorize', this.authUrl);
    url.searchParams.set('audience', this.audience);
    url.searchParams.set('scope', params.scope ?? DEFAULT_SCOPE);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('client_id', this.clientId);
    url.searchParams.set('redirect_uri', params.redirectUri);
    url.searchParams.set('state', params.state);
    url.searchParams.set('code_challenge', params.codeChallenge);
    url.searchParams.set('code_challenge_method', 'S256');
    return url.toString();
  }

  exchangeCode(params: { code: string; codeVerifier: string; redirectUri: string }): Promise<TokenResponse> {
    return this.tokenRequest({
      grant_type: 'authorization_code',
      code: params.code,
      code_verifier: params.codeVerifier,
      redirect_uri: params.redirectUri,
    });
  }

  refresh(refreshToken: string): Promise<TokenResponse> {
    return this.tokenRequest({ grant_type: 'refresh_token', refresh_token: refreshToken });
  }

  private async tokenRequest(fields: Record<string, string>): Promise<TokenResponse> {
    const form = new URLSearchParams({ ...fields, client_id: this.clientId, audience: this.audience });
    for (let attempt = 0; ; attempt++) {
      const response = await this.fetch(`${this.authUrl}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
      });
      const text = await response.text();
      // 429 and 503 mean the request was not processed, so even a refresh token is safe to send again.
      if ((response.status === 429 || response.status === 503) && attempt < TOKEN_RETRIES) {
        await this.sleep(parseRetryAfter(response.headers.get('retry-after'), Date.now()) ?? 1000 * 2 ** attempt);
        continue;
      }
      if (!response.ok) throw oauthErrorFrom(response.status, text);
      return parseTokenResponse(text);
    }
  }
}

function oauthErrorFrom(status: number, text: string): OAuthError {
  const body = parseJsonObject(text);
  const error = typeof body?.error === 'string' ? body.error : `http_${status}`;
  const description = typeof body?.error_description === 'string' ? body.error_description : text.slice(0, 200) || undefined;
  return new OAuthError(status, error, description);
}

function parseTokenResponse(text: string): TokenResponse {
  const body = parseJsonObject(text);
  if (!body || typeof body.access_token !== 'string' || typeof body.expires_in !== 'number') {
    throw new OAuthError(502, 'invalid_token_response', 'the token endpoint answered without access_token and expires_in');
  }
  return {
    access_token: body.access_token,
    token_type: typeof body.token_type === 'string' ? body.token_type : 'Bearer',
    expires_in: body.expires_in,
    ...(typeof body.refresh_token === 'string' ? { refresh_token: body.refresh_token } : {}),
    ...(typeof body.scope === 'string' ? { scope: body.scope } : {}),
    ...(typeof body.id_token === 'string' ? { id_token: body.id_token } : {}),
  };
}

