import { silentLogger, type Logger } from '../../log/logger';
import { REAL_CLOUD } from '../protocol';
import { describeErrorBody, YotoApiError, YotoNetworkError } from './errors';
import { backoffDelay, DEFAULT_RETRY_POLICY, isRetryableStatus, parseRetryAfter, type RetryPolicy } from './retry';
import { trimEndChar } from '../../text/trim';

/** Where the client gets its bearer token (the token manager fits). */
export interface AccessTokenSource {
  getAccessToken(): Promise<string>;
  /** Called once when the API answers 401 to a token it had not seen expire; returns a fresh one. */
  accessTokenRejected?(token: string): Promise<string>;
}

export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

export interface RestClientOptions {
  /** https://api.yotoplay.com, or the virtual cloud's URL. */
  baseUrl?: string;
  auth: AccessTokenSource;
  fetch?: typeof fetch;
  retry?: Partial<RetryPolicy>;
  /** Waits between attempts; injectable so tests need not wait. */
  sleep?: Sleep;
  random?: () => number;
  logger?: Logger;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  json?: unknown;
  body?: Uint8Array;
  contentType?: string;
  /** false for presigned upload URLs, which must not carry the bearer token. */
  authenticated?: boolean;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

/**
 * HTTP to the Yoto REST API: bearer token, JSON, retries with backoff on 429
 * (honouring Retry-After) and 5xx, one token refresh on 401, and a typed
 * YotoApiError for everything else. close() cancels pending waits and requests.
 */
export class YotoRestClient {
  readonly baseUrl: string;
  private readonly policy: RetryPolicy;
  private readonly fetch: typeof fetch;
  private readonly sleep: Sleep;
  private readonly random: () => number;
  private readonly logger: Logger;
  private readonly abort = new AbortController();

  constructor(private readonly options: RestClientOptions) {
    this.baseUrl = trimEndChar(options.baseUrl ?? REAL_CLOUD.apiUrl, '/');
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.fetch = options.fetch ?? fetch;
    this.sleep = options.sleep ?? abortableSleep;
    this.random = options.random ?? Math.random;
    this.logger = options.logger ?? silentLogger;
  }

  /** Sends a request and returns the parsed JSON body (undefined when empty). */
  async request<T>(method: string, pathOrUrl: string, options: RequestOptions = {}): Promise<T> {
    const url = this.urlFor(pathOrUrl, options.query);
    const label = { method, path: url.origin === new URL(this.baseUrl).origin ? url.pathname : `${url.origin}${url.pathname}` };
    const authenticated = options.authenticated ?? true;
    let token = authenticated ? await this.options.auth.getAccessToken() : undefined;
    let refreshedAfter401 = false;

    for (let attempt = 0; ; attempt++) {
      this.throwIfClosed(label);
      let response: Response;
      try {
        response = await this.fetch(url, { method, headers: headersFor(token, options), body: bodyFor(options), signal: this.abort.signal });
      } catch (error) {
        if (this.abort.signal.aborted) throw new YotoNetworkError(label, new Error('the client was closed'));
        // A request that may have reached the cloud is only repeated when repeating it is harmless.
        if (!IDEMPOTENT.has(method) || attempt >= this.policy.maxRetries) throw new YotoNetworkError(label, error);
        await this.wait(label, backoffDelay(this.policy, attempt, this.random), `network error: ${errorText(error)}`);
        continue;
      }

      if (response.ok) return (await parseBody(response)) as T;
      const text = await response.text();

      if (response.status === 401 && token !== undefined && !refreshedAfter401 && this.options.auth.accessTokenRejected) {
        refreshedAfter401 = true;
        token = await this.options.auth.accessTokenRejected(token);
        attempt--;
        continue;
      }

      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), Date.now());
      if (isRetryableStatus(response.status) && attempt < this.policy.maxRetries && (retryAfterMs ?? 0) <= this.policy.maxRetryAfterMs) {
        const delay = retryAfterMs ?? backoffDelay(this.policy, attempt, this.random);
        await this.wait(label, delay, `HTTP ${response.status}`);
        continue;
      }

      const { code, message, body } = describeErrorBody(response.status, text);
      throw new YotoApiError(response.status, code, message, label, body, retryAfterMs);
    }
  }

  /** Waits (polling between requests) in a way close() cancels. */
  async delay(ms: number): Promise<void> {
    await this.wait({ method: 'WAIT', path: '' }, ms, undefined);
  }

  /** Cancels waits and requests in flight; later requests fail at once. */
  close(): void {
    this.abort.abort();
  }

  private async wait(label: { method: string; path: string }, delayMs: number, retryReason: string | undefined): Promise<void> {
    if (retryReason) this.logger.warn('Yoto API request will be retried', { method: label.method, path: label.path, why: retryReason, delayMs });
    try {
      await this.sleep(delayMs, this.abort.signal);
    } catch (error) {
      if (this.abort.signal.aborted) throw new YotoNetworkError(label, new Error('the client was closed'));
      throw error;
    }
  }

  private throwIfClosed(label: { method: string; path: string }): void {
    if (this.abort.signal.aborted) throw new YotoNetworkError(label, new Error('the client was closed'));
  }

  private urlFor(pathOrUrl: string, query: RequestOptions['query']): URL {
    const url = /^https?:\/\//.test(pathOrUrl) ? new URL(pathOrUrl) : new URL(this.baseUrl + pathOrUrl);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url;
  }
}

function headersFor(token: string | undefined, options: RequestOptions): Record<string, string> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (options.json !== undefined) headers['content-type'] = 'application/json';
  else if (options.body !== undefined) headers['content-type'] = options.contentType ?? 'application/octet-stream';
  return headers;
}

function bodyFor(options: RequestOptions): string | Uint8Array<ArrayBuffer> | undefined {
  if (options.json !== undefined) return JSON.stringify(options.json);
  const bytes = options.body;
  if (bytes === undefined) return undefined;
  // fetch takes views of a plain ArrayBuffer: view the same memory when it is one, copy otherwise.
  return bytes.buffer instanceof ArrayBuffer ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : new Uint8Array(bytes);
}

async function parseBody(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}

/** setTimeout that an AbortSignal cancels (so close() leaves no timer behind). */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new Error('aborted'));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new Error('aborted'));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
