import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import { splitUrl, type DirectMiddleware } from '../http/direct-routes';
import { withLogFields, type Logger } from '../log/logger';

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/**
 * Gives every request an id: a sane incoming `x-request-id` is kept,
 * otherwise a new UUID. The id goes back in the `x-request-id` header, on
 * `res.locals.requestId` (Express routes), and on every log line written while
 * the request is served, by any component's logger (see withLogFields). A line
 * is logged when the request ends (debug; warn for 5xx).
 */
export function requestContext(logger: Logger): RequestHandler {
  const begin = beginRequest(logger);
  return (req, res, next) => {
    const requestId = begin(req, res, req.originalUrl);
    res.locals['requestId'] = requestId;
    withLogFields({ requestId }, next);
  };
}

/** The same for the routes the hub server answers ahead of Express (player streams). */
export function directRequestContext(logger: Logger): DirectMiddleware {
  const begin = beginRequest(logger);
  return (req, res, _route, next) => {
    withLogFields({ requestId: begin(req, res, req.url ?? '/') }, next);
  };
}

/** Picks the request's id, sends it back and logs the request when it ends; answers the id. */
function beginRequest(logger: Logger): (req: IncomingMessage, res: ServerResponse, url: string) => string {
  return (req, res, url) => {
    const incoming = req.headers['x-request-id'];
    const requestId = typeof incoming === 'string' && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader('x-request-id', requestId);
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const fields = { requestId, method: req.method, path: splitUrl(url)[0], status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6 };
      if (res.statusCode >= 500) logger.warn('request failed', fields);
      else logger.debug('request', fields);
    });
    return requestId;
  };
}
