import { isStoreError } from '../store/errors';

/**
 * An error a caller can act on: it becomes a 4xx answer
 * `{error: {code, message, details}}`. Anything else thrown in a route is a
 * bug and becomes a 500 with no internals in the body.
 */
export interface ErrorDetail {
  path: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: ErrorDetail[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toBody(): { error: { code: string; message: string; details: ErrorDetail[] } } {
    return { error: { code: this.code, message: this.message, details: this.details } };
  }

  static notFound(what: string): ApiError {
    return new ApiError(404, 'not_found', `${what} not found`);
  }
}

/** Errors that carry `code` and `details` (such as schema validation errors) map to 400. */
export function toApiError(error: unknown): ApiError | undefined {
  if (error instanceof ApiError) return error;
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as { code?: unknown; message?: unknown; details?: unknown; status?: unknown; type?: unknown };
  if (e.type === 'entity.parse.failed') {
    return new ApiError(400, 'invalid_json', 'the request body is not valid JSON');
  }
  if (e.type === 'entity.too.large') {
    return new ApiError(413, 'payload_too_large', 'the request body is too large');
  }
  if (isStoreError(error, 'store_unavailable')) {
    return new ApiError(503, 'store_unavailable', error.message);
  }
  if (e.code === 'validation_failed' && typeof e.message === 'string') {
    return new ApiError(400, 'validation_failed', e.message, Array.isArray(e.details) ? (e.details as ErrorDetail[]) : []);
  }
  return requestFault(e);
}

/** What the body reader (body-parser, raw-body) and the router say about requests they cannot read: the caller's fault. */
const REQUEST_FAULTS: Record<string, [status: number, code: string, message: string]> = {
  'charset.unsupported': [415, 'unsupported_charset', 'the request body\'s charset is not supported; send UTF-8'],
  'encoding.unsupported': [415, 'unsupported_content_encoding', 'the request body\'s Content-Encoding is not supported; send identity, gzip, deflate or br'],
  'request.aborted': [400, 'request_aborted', 'the request was aborted before its body arrived'],
  'request.size.invalid': [400, 'invalid_body_size', 'the request body is not as long as its Content-Length says'],
  'parameters.too.many': [413, 'too_many_parameters', 'the request has too many parameters'],
};

/**
 * A 4xx the HTTP layer raised (an http-errors error with a 4xx status): a
 * broken gzip body, a bad percent-escape in the path, an unsupported charset.
 * Answered with the error shape and never logged as a server error.
 */
function requestFault(e: { status?: unknown; type?: unknown; name?: unknown; code?: unknown }): ApiError | undefined {
  const status = typeof e.status === 'number' ? e.status : (e as { statusCode?: unknown }).statusCode;
  if (typeof status !== 'number' || status < 400 || status > 499) return undefined;
  const known = typeof e.type === 'string' ? REQUEST_FAULTS[e.type] : undefined;
  if (known) return new ApiError(known[0], known[1], known[2]);
  if (e.name === 'URIError') return new ApiError(400, 'invalid_path', 'the URL path has an invalid percent-escape');
  if (typeof e.code === 'string' && e.code.startsWith('Z_')) {
    return new ApiError(400, 'invalid_body_encoding', 'the request body could not be decoded as its Content-Encoding says');
  }
  return new ApiError(status, status === 404 ? 'not_found' : 'bad_request', status === 404 ? 'not found' : 'the request cannot be read');
}
