import * as http from 'node:http';
import { silentLogger, type Logger } from '../../log/logger';
import { OAuthError, type TokenResponse, type YotoOAuthClient } from './oauth-client';
import { codeChallengeS256, createCodeVerifier, createState } from './pkce';

export interface BrowserSignInOptions {
  oauth: YotoOAuthClient;
  scope?: string;
  /** Where the callback server listens. Default 127.0.0.1 (loopback only). */
  listenHost?: string;
  /** Default 0: a free port. Yoto only redirects to callback URLs registered for the client, so a fixed port is usual. */
  port?: number;
  callbackPath?: string;
  /**
   * The redirect URI sent to Yoto. Default http://127.0.0.1:<port><callbackPath>.
   * Set it when the browser reaches this machine by another name (a headless hub
   * signed in from a laptop); it must point at this callback server.
   */
  redirectUri?: string;
  /** Gives up (and closes the callback server) after this long. Default 10 minutes. */
  timeoutMs?: number;
  logger?: Logger;
}

/** A pasted address that cannot finish this sign-in; the sign-in keeps waiting for the right one. */
export class SignInPasteError extends Error {
  constructor(
    readonly code: 'invalid_address' | 'stale_address' | 'no_code' | 'no_sign_in' | 'no_client_id',
    message: string,
  ) {
    super(message);
    this.name = 'SignInPasteError';
  }
}

export interface SignInLinks {
  /** The Yoto login page to open in a browser. */
  authorizeUrl: string;
  /** The callback server's own address: opening it redirects to authorizeUrl (handy to print on a headless box). */
  startUrl: string;
  redirectUri: string;
}

/**
 * Sign-in with the OAuth2 authorization code flow and PKCE (S256), the flow
 * Yoto supports for apps like this one. A small HTTP server waits for the
 * browser to come back to the redirect URI with the code, checks the state,
 * exchanges the code for tokens and closes.
 *
 * Headless: print `startUrl` (or `authorizeUrl`); if the browser cannot reach
 * the callback server, paste the address it ended on into
 * `completeWithRedirectUrl()`.
 */
export class BrowserSignIn {
  private server: http.Server | undefined;
  private readonly verifier = createCodeVerifier();
  private readonly state = createState();
  private links: SignInLinks | undefined;
  private timer: NodeJS.Timeout | undefined;
  private settled = false;
  private exchanging: Promise<TokenResponse> | undefined;
  private closing: Promise<void> | undefined;
  private resolveResult!: (tokens: TokenResponse) => void;
  private rejectResult!: (error: Error) => void;
  /** Settles once: with the tokens, or with why the sign-in failed. */
  readonly result: Promise<TokenResponse>;
  private readonly logger: Logger;
  private readonly callbackPath: string;

  constructor(private readonly options: BrowserSignInOptions) {
    this.logger = options.logger ?? silentLogger;
    this.callbackPath = options.callbackPath ?? '/callback';
    this.result = new Promise<TokenResponse>((resolve, reject) => {
      this.resolveResult = resolve;
      this.rejectResult = reject;
    });
    // A caller that only awaits start() must not get an unhandled rejection.
    this.result.catch(() => undefined);
  }

  /** Opens the callback server and returns the links to give the user. */
  async start(): Promise<SignInLinks> {
    if (this.links) return this.links;
    const server = http.createServer((req, res) => void this.handle(req, res));
    const host = this.options.listenHost ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : this.options.port ?? 0;
    const ownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    const ownOrigin = `http://${ownHost}:${port}`;
    const redirectUri = this.options.redirectUri ?? `${ownOrigin}${this.callbackPath}`;
    const authorizeUrl = this.options.oauth.authorizeUrl({
      redirectUri,
      state: this.state,
      codeChallenge: codeChallengeS256(this.verifier),
      ...(this.options.scope ? { scope: this.options.scope } : {}),
    });
    // With a redirect URI of its own, the browser reaches this server by that name.
    const startUrl = this.options.redirectUri ? new URL('/', this.options.redirectUri).toString() : `${ownOrigin}/`;
    this.links = { authorizeUrl, redirectUri, startUrl };
    this.timer = setTimeout(() => {
      this.fail(new Error('the Yoto sign-in timed out: nobody came back from the login page'));
      void this.close(true);
    }, this.options.timeoutMs ?? 10 * 60 * 1000);
    // The caller says whom to send where (a person for the real cloud; nobody when the hub plays the browser itself).
    this.logger.debug('sign-in callback server listening', { redirectUri });
    return this.links;
  }

  /**
   * For a browser that could not reach the callback server (a hub on another
   * machine): the full address it ended on, even if it shows an error page.
   * An address that is not this sign-in's answer (not a URL, another sign-in's
   * state, no code) rejects with SignInPasteError and the sign-in keeps waiting;
   * otherwise the result is the sign-in's.
   */
  completeWithRedirectUrl(redirectedTo: string): Promise<TokenResponse> {
    if (!this.links || this.settled) return Promise.reject(new SignInPasteError('no_sign_in', 'no sign-in is waiting: ask for a new sign-in link'));
    let url: URL;
    try {
      url = new URL(redirectedTo.trim());
    } catch {
      return Promise.reject(new SignInPasteError('invalid_address', 'that is not a web address: paste the whole address from the browser\'s address bar (it starts with http)'));
    }
    const params = url.searchParams;
    if (!params.has('state') && !params.has('code') && !params.has('error')) {
      return Promise.reject(new SignInPasteError('no_code', `that address carries no sign-in answer (no code or state): after signing in, the browser ends on an address starting with ${this.links.redirectUri}?code=...; paste that one`));
    }
    // A refusal is reported whatever its state says (Auth0 sends it, but an error page may drop it).
    if (params.has('error') && !params.has('code') && params.get('state') === null) return this.complete(params);
    if (params.get('state') !== this.state) {
      return Promise.reject(new SignInPasteError('stale_address', 'that address belongs to another (older) sign-in link: open the newest link, sign in, and paste the address it ends on'));
    }
    if (!params.has('code') && !params.has('error')) {
      return Promise.reject(new SignInPasteError('no_code', 'that address has no authorization code: paste the whole address, including everything after "?"'));
    }
    return this.complete(params);
  }

  /** Stops waiting; result rejects if it had not settled. */
  async cancel(): Promise<void> {
    this.fail(new Error('the Yoto sign-in was cancelled'));
    await this.close(true);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://callback.invalid');
    // Every answer closes its connection, so the server can stop as soon as the sign-in settles.
    if (req.method === 'GET' && url.pathname === '/' && this.links) {
      res.writeHead(302, { location: this.links.authorizeUrl, 'cache-control': 'no-store', connection: 'close' }).end();
      return;
    }
    if (req.method !== 'GET' || url.pathname !== this.callbackPath) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' }).end('not found');
      return;
    }
    try {
      await this.complete(url.searchParams);
      page(res, 200, 'Signed in to Yoto', 'The hub is signed in. You can close this tab.');
    } catch (error) {
      page(res, 400, 'Yoto sign-in failed', error instanceof Error ? error.message : String(error));
    }
  }

  private complete(params: URLSearchParams): Promise<TokenResponse> {
    if (this.exchanging) return this.exchanging;
    if (this.settled) return this.result;
    this.exchanging = this.exchange(params).then(
      (tokens) => {
        this.succeed(tokens);
        return tokens;
      },
      (error: Error) => {
        this.fail(error);
        throw error;
      },
    );
    return this.exchanging;
  }

  private async exchange(params: URLSearchParams): Promise<TokenResponse> {
    const error = params.get('error');
    if (error) throw new OAuthError(400, error, params.get('error_description') ?? undefined);
    // A refusal is reported whatever its state says (Auth0 sends it, but an error page may drop it).
    if (params.has('error') && !params.has('code') && params.get('state') === null) return this.complete(params);
    if (params.get('state') !== this.state) {
      throw new Error('the sign-in answer does not belong to this sign-in (state mismatch): start again');
    }
    const code = params.get('code');
    if (!code) throw new Error('the sign-in answer has no authorization code');
    return this.options.oauth.exchangeCode({ code, codeVerifier: this.verifier, redirectUri: this.links!.redirectUri });
  }

  private succeed(tokens: TokenResponse): void {
    if (this.settled) return;
    this.settled = true;
    this.resolveResult(tokens);
    void this.close(false);
  }

  private fail(error: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.rejectResult(error);
    void this.close(false);
  }

  /** The answer being written still goes out (it closes its connection); `force` drops everything. */
  private async close(force: boolean): Promise<void> {
    clearTimeout(this.timer);
    const server = this.server;
    if (!server) return;
    if (!this.closing) {
      this.closing = new Promise<void>((resolve) => server.close(() => resolve()));
    }
    server.closeIdleConnections();
    if (force) server.closeAllConnections();
    await this.closing;
    this.server = undefined;
  }

  /** Resolves once the callback server has closed (after the sign-in settled). */
  async closed(): Promise<void> {
    await this.close(false);
  }
}

function page(res: http.ServerResponse, status: number, title: string, text: string): void {
  const escape = (value: string): string => value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', connection: 'close' });
  res.end(`<!doctype html><meta charset="utf-8"><title>${escape(title)}</title><h1>${escape(title)}</h1><p>${escape(text)}</p>`);
}
