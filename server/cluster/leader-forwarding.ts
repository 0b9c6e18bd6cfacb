import * as http from 'node:http';
import * as https from 'node:https';
import type { Request, RequestHandler } from 'express';
import { ApiError } from '../http/api-error';
import { silentLogger, type Logger } from '../log/logger';

/** Set on a request one instance forwards to another: it is never forwarded again. */
export const FORWARDED_HEADER = 'x-yoto-forwarded-by';

/** Hop-by-hop headers (RFC 9110) and those the forwarded request sets itself. */
const NOT_FORWARDED = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host', 'content-length']);

/**
 * API routes that read or write the Yoto cloud's own data (cards, icons, player settings and
 * alarms, deploying a script or story as a card, announcements, signing in to the Yoto cloud), or
 * that play a script (deployed as a card first): only the instance holding the cloud connection
 * can answer them. Paths are those under /api.
 */
export function needsCloudConnection(req: Request): boolean {
  const path = req.path;
  if (/^\/(cards|icons|announcements)(\/|$)/.test(path)) return true;
  if (/^\/system\/cloud\/sign-in(\/|$)/.test(path)) return true;
  if (/^\/devices\/[^/]+\/(settings|alarms)(\/|$)/.test(path)) return true;
  if (req.method === 'POST' && /^\/(scripts|stories)\/[^/]+\/deploy$/.test(path)) return true;
  const body = req.body as { script_id?: unknown } | undefined;
  return req.method === 'POST' && /^\/devices\/[^/]+\/command$/.test(path) && typeof body?.script_id === 'string';
}

export interface LeaderForwardingOptions {
  /** This instance's id (the forwarded request names it). */
  instanceId: string;
  /** Whether this instance leads now. */
  leading: () => boolean;
  /** The address the leader's HTTP server is reached at by the other instances; undefined while none leads. */
  leaderUrl: () => Promise<string | undefined>;
  logger?: Logger;
}

/**
 * On a follower, the API requests that need the Yoto cloud connection go to the leader, which
 * answers them; its answer (status, headers, body) goes back to the caller as it came. JSON bodies
 * (already read by the API's parser) are sent again as JSON.
 */
export function leaderForwarding(options: LeaderForwardingOptions): RequestHandler {
  const logger = options.logger ?? silentLogger;
  return (req, res, next) => {
    if (options.leading() || req.headers[FORWARDED_HEADER] !== undefined || !needsCloudConnection(req)) {
      next();
      return;
    }
    options.leaderUrl().then(
      (leader) => {
        if (!leader) {
          next(new ApiError(503, 'cloud_unavailable', 'no hub instance holds the Yoto cloud connection right now (a takeover is under way); try again in a few seconds'));
          return;
        }
        const target = new URL(req.originalUrl, leader);
        const headers: http.OutgoingHttpHeaders = {};
        for (const [name, value] of Object.entries(req.headers)) if (!NOT_FORWARDED.has(name) && value !== undefined) headers[name] = value;
        headers[FORWARDED_HEADER] = options.instanceId;
        const forwardedFor = req.headers['x-forwarded-for'];
        headers['x-forwarded-for'] = [forwardedFor, req.socket.remoteAddress].filter((part) => part !== undefined && part !== '').join(', ');
        const body = req.body !== undefined && typeof req.body === 'object' && req.is('application/json') ? Buffer.from(JSON.stringify(req.body)) : undefined;
        if (body) headers['content-length'] = body.length;
        const request = (target.protocol === 'https:' ? https : http).request(target, { method: req.method, headers }, (answer) => {
          res.status(answer.statusCode ?? 502);
          for (const [name, value] of Object.entries(answer.headers)) if (!NOT_FORWARDED.has(name) && value !== undefined) res.setHeader(name, value);
          answer.pipe(res);
        });
        request.on('error', (error) => {
          logger.warn('could not forward a request to the leader', { leader, path: req.originalUrl, err: error });
          if (!res.headersSent) next(new ApiError(503, 'cloud_unavailable', 'the hub instance holding the Yoto cloud connection did not answer; try again in a few seconds'));
          else res.destroy(error);
        });
        request.end(body);
      },
      (error: unknown) => next(error),
    );
  };
}
