import { silentLogger, type Logger } from '../../log/logger';
import { BrowserSignIn, SignInPasteError, type BrowserSignInOptions, type SignInLinks } from '../auth/browser-sign-in';
import type { TimeSource } from '../../time/clock';
import { YotoOAuthClient } from '../auth/oauth-client';
import { YotoTokenManager, type AuthState } from '../auth/token-manager';
import { FileTokenStore, type TokenStore } from '../auth/token-store';
import { REAL_CLOUD } from '../protocol';
import { YotoRestClient, type RestClientOptions } from './rest-client';
import { YotoCloudApi, type YotoCloudApiOptions } from './yoto-api';

export interface YotoCloudClientOptions {
  /** The client id from the Yoto developer dashboard (a setting). */
  clientId: string;
  /** Where the tokens live between restarts (0600 file), or a store of your own. */
  tokenFile?: string;
  tokenStore?: TokenStore;
  /** Default: the real cloud. For the virtual cloud both are its URL. */
  apiUrl?: string;
  authUrl?: string;
  clock?: TimeSource;
  logger?: Logger;
  retry?: RestClientOptions['retry'];
  api?: YotoCloudApiOptions;
}

/**
 * The cloud adapter's HTTP side wired together: login, token manager, REST
 * client and typed API, pointed at the real cloud or the virtual one.
 */
export class YotoCloudClient {
  readonly oauth: YotoOAuthClient;
  readonly tokens: YotoTokenManager;
  readonly rest: YotoRestClient;
  readonly api: YotoCloudApi;
  private signIn: BrowserSignIn | undefined;
  private readonly logger: Logger;

  constructor(options: YotoCloudClientOptions) {
    this.logger = options.logger ?? silentLogger;
    const store = options.tokenStore ?? (options.tokenFile ? new FileTokenStore(options.tokenFile) : undefined);
    if (!store) throw new Error('YotoCloudClient needs a tokenFile (or a tokenStore) to keep the sign-in');
    this.oauth = new YotoOAuthClient({ clientId: options.clientId, authUrl: options.authUrl ?? REAL_CLOUD.authUrl });
    this.tokens = new YotoTokenManager({ oauth: this.oauth, store, logger: this.logger, ...(options.clock ? { clock: options.clock } : {}) });
    this.rest = new YotoRestClient({
      baseUrl: options.apiUrl ?? REAL_CLOUD.apiUrl,
      auth: this.tokens,
      logger: this.logger,
      ...(options.retry ? { retry: options.retry } : {}),
    });
    this.api = new YotoCloudApi(this.rest, options.api);
  }

  /** Reads the saved sign-in. */
  load(): Promise<AuthState> {
    return this.tokens.load();
  }

  /**
   * Starts a browser sign-in and returns its links at once; `done` settles
   * when the user has come back and the tokens are saved. A new call cancels
   * a sign-in still waiting.
   */
  async startSignIn(options: Omit<BrowserSignInOptions, 'oauth' | 'logger'> = {}): Promise<{ links: SignInLinks; done: Promise<void> }> {
    await this.signIn?.cancel();
    const signIn = new BrowserSignIn({ ...options, oauth: this.oauth, logger: this.logger });
    this.signIn = signIn;
    const links = await signIn.start();
    const done = signIn.result.then(async (tokens) => {
      await this.tokens.acceptSignIn(tokens);
      await signIn.closed();
    });
    done.catch(() => undefined);
    return { links, done };
  }

  /** Finishes the pending sign-in from the address the browser ended on (see BrowserSignIn.completeWithRedirectUrl). */
  async completeSignIn(address: string): Promise<void> {
    const signIn = this.signIn;
    if (!signIn) throw new SignInPasteError('no_sign_in', 'no sign-in is waiting: ask for a new sign-in link');
    await signIn.completeWithRedirectUrl(address);
  }

  /** Cancels a pending sign-in and every request or wait in flight. */
  async close(): Promise<void> {
    this.rest.close();
    await this.signIn?.cancel();
    this.signIn = undefined;
  }
}
