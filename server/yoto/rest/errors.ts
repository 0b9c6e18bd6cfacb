/**
 * A refusal or failure from the Yoto REST API, with what the caller needs to
 * act: the HTTP status, the error code and message from the body, and the
 * request that got it.
 */
export class YotoApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly request: { method: string; path: string },
    readonly body: unknown,
    /** Set on 429/503 answers that said when to come back. */
    readonly retryAfterMs?: number,
  ) {
    super(`Yoto API ${request.method} ${request.path} failed (${status} ${code}): ${message}`);
    this.name = 'YotoApiError';
  }

  get isNotFound(): boolean {
    return this.status === 404;
  }

  get isUnauthorized(): boolean {
    return this.status === 401;
  }
}

/** The request never got an answer (connection refused, reset, DNS...). */
export class YotoNetworkError extends Error {
  constructor(readonly request: { method: string; path: string }, override readonly cause: unknown) {
    super(`Yoto API ${request.method} ${request.path} could not be reached: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'YotoNetworkError';
  }
}

/** The audio upload finished but Yoto could not transcode it, or gave up waiting. */
export class YotoUploadError extends Error {
  constructor(message: string, readonly uploadId: string) {
    super(message);
    this.name = 'YotoUploadError';
  }
}

/**
 * Reads code and message from an error body. Shapes seen: `{error: {code,
 * message}}`, OAuth's `{error, error_description}`, `{code, message}`,
 * `{message}`, and plain text from gateways.
 */
export function describeErrorBody(status: number, text: string): { code: string; message: string; body: unknown } {
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    return { code: `http_${status}`, message: text.trim().slice(0, 300) || httpReason(status), body };
  }
  if (typeof body === 'object' && body !== null) {
    const record = body as Record<string, unknown>;
    const nested = record.error;
    if (typeof nested === 'object' && nested !== null) {
      const inner = nested as Record<string, unknown>;
      return { code: stringOr(inner.code, `http_${status}`), message: stringOr(inner.message, httpReason(status)), body };
    }
    if (typeof nested === 'string') {
      return { code: nested, message: stringOr(record.error_description ?? record.message, nested), body };
    }
    return { code: stringOr(record.code, `http_${status}`), message: stringOr(record.message, httpReason(status)), body };
  }
  return { code: `http_${status}`, message: httpReason(status), body };
}

function stringOr(value: unknown, fallback: string): string {
  if (typeof value === 'string' && value) return value;
  if (typeof value === 'number') return String(value);
  return fallback;
}

function httpReason(status: number): string {
  const reasons: Record<number, string> = {
    400: 'bad request', 401: 'unauthorized', 403: 'forbidden', 404: 'not found', 409: 'conflict',
    413: 'payload too large', 429: 'too many requests', 500: 'internal server error', 502: 'bad gateway',
    503: 'service unavailable', 504: 'gateway timeout',
  };
  return reasons[status] ?? `HTTP ${status}`;
}
