import type { ErrorRequestHandler } from 'express';
import type { Logger } from '../../log/logger';
import { CardNotFoundError } from '../cards/card-store';
import { CardValidationError, type CardIssue } from '../cards/validate-card';
import { OAuthRefusal } from '../tokens/token-service';

/**
 * A refusal of the virtual cloud's REST API. Bodies are
 * `{error: {code, message, details?}}`: the maintained clients do not pin
 * down the real API's error body, so this is the shape the hub's own API
 * uses, and the adapter reads both it and OAuth's `{error, error_description}`.
 */
export class VirtualHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: CardIssue[],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'VirtualHttpError';
  }

  toBody(): { error: { code: string; message: string; details?: CardIssue[] } } {
    return { error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) } };
  }

  static notFound(what: string): VirtualHttpError {
    return new VirtualHttpError(404, 'not_found', `${what} not found`);
  }

  static badRequest(message: string, code = 'bad_request'): VirtualHttpError {
    return new VirtualHttpError(400, code, message);
  }
}

/** Turns every error a route throws into the answer the real cloud would give. */
export function virtualErrorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const known = toVirtualHttpError(error);
    if (error instanceof OAuthRefusal) {
      res.status(error.status).set('cache-control', 'no-store').json(error.toBody());
      return;
    }
    if (known) {
      res.status(known.status).set(known.headers).json(known.toBody());
      return;
    }
    logger.error('virtual cloud request failed', { method: req.method, path: req.path, err: error });
    res.status(500).json({ error: { code: 'internal', message: 'internal server error' } });
  };
}

function toVirtualHttpError(error: unknown): VirtualHttpError | undefined {
  if (error instanceof VirtualHttpError) return error;
  if (error instanceof CardValidationError) return new VirtualHttpError(400, error.code, error.message, error.issues);
  if (error instanceof CardNotFoundError) return VirtualHttpError.notFound(`card ${error.cardId}`);
  const type = typeof error === 'object' && error !== null ? (error as { type?: unknown }).type : undefined;
  if (type === 'entity.parse.failed') return VirtualHttpError.badRequest('the request body is not valid JSON', 'invalid_json');
  if (type === 'entity.too.large') return new VirtualHttpError(413, 'payload_too_large', 'the request body is too large');
  return undefined;
}
