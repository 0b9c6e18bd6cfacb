/**
 * Errors the store throws on purpose. Each has a stable `code` so the HTTP
 * layer can map it to a status (conflict -> 409, not_found -> 404) without
 * parsing messages, and `details` with whatever identifies the failure.
 */
export type StoreErrorCode =
  | 'conflict'
  | 'not_found'
  | 'store_closed'
  | 'store_unavailable'
  | 'store_corrupt'
  | 'schema_too_new'
  | 'migration_failed'
  | 'invalid_event'
  | 'invalid_record';

export class StoreError extends Error {
  override readonly name = 'StoreError';

  constructor(
    readonly code: StoreErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export function isStoreError(error: unknown, code?: StoreErrorCode): error is StoreError {
  return error instanceof StoreError && (code === undefined || error.code === code);
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Node's socket errors and PostgreSQL's SQLSTATEs that mean the database cannot be reached now (class 08, shutdown, starting up). */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', '57P01', '57P02', '57P03']);
const UNREACHABLE_MESSAGES = ['Connection terminated', 'timeout exceeded when trying to connect', 'Client has encountered a connection error'];

/**
 * `error` as the store's `store_unavailable` when it says the database cannot
 * be reached (the HTTP layer answers 503 and the caller may retry: nothing was
 * acknowledged); any other error as it is.
 */
export function asUnavailable(error: unknown): unknown {
  if (typeof error !== 'object' || error === null || isStoreError(error)) return error;
  const { code, message } = error as { code?: unknown; message?: unknown };
  const unreachable =
    (typeof code === 'string' && (UNREACHABLE_CODES.has(code) || code.startsWith('08'))) ||
    (typeof message === 'string' && UNREACHABLE_MESSAGES.some((text) => message.includes(text)));
  if (!unreachable) return error;
  return new StoreError('store_unavailable', 'the database cannot be reached; try again shortly', { reason: typeof message === 'string' ? message : String(code) });
}
