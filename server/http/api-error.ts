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
  if (e.code === 'validation_failed' && typeof e.message === 'string') {
    return new ApiError(400, 'validation_failed', e.message, Array.isArray(e.details) ? (e.details as ErrorDetail[]) : []);
  }
  return undefined;
}
