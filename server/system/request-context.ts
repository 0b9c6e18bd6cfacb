import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import { withLogFields, type Logger } from '../log/logger';

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/**
 * Gives every request an id: a sane incoming `x-request-id` is kept,
 * otherwise a new UUID. The id goes back in the `x-request-id` header, on
 * `res.locals.requestId`, and on every log line written while the request is
 * served, by any component's logger (see withLogFields). A line is logged when
 * the request ends (debug; warn for 5xx).
 */
export function requestContext(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get('x-request-id');
    const requestId = incoming && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader('x-request-id', requestId);
    const child = logger.child({ requestId });
    res.locals['requestId'] = requestId;
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const fields = { method: req.method, path: req.originalUrl.split('?')[0], status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6 };
      if (res.statusCode >= 500) child.warn('request failed', fields);
      else child.debug('request', fields);
    });
    withLogFields({ requestId }, next);
  };
}
