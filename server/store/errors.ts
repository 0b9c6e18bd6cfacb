/**
 * Errors the store throws on purpose. Each has a stable `code` so the HTTP
 * layer can map it to a status (conflict -> 409, not_found -> 404) without
 * parsing messages, and `details` with whatever identifies the failure.
 */
export type StoreErrorCode =
  | 'conflict'
  | 'not_found'
  | 'store_closed'
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
