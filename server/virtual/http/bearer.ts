import type { RequestHandler } from 'express';
import type { VirtualTokenService } from '../tokens/token-service';
import { VirtualHttpError } from './errors';
import { scopeFor } from './scope-rules';

/**
 * Every Yoto REST route needs `Authorization: Bearer <access token>` issued by
 * this cloud and not expired, carrying the scope the route needs (403 otherwise).
 */
export function requireBearer(tokens: VirtualTokenService): RequestHandler {
  return (req, _res, next) => {
    const match = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '');
    if (!match) {
      next(unauthorized('missing bearer token: send Authorization: Bearer <access token>', 'invalid_request'));
      return;
    }
    const token = match[1]!;
    const status = tokens.inspectAccessToken(token);
    if (status === 'expired') {
      next(unauthorized('the access token has expired: refresh it', 'invalid_token'));
      return;
    }
    if (status !== 'valid') {
      next(unauthorized('the access token is not valid', 'invalid_token'));
      return;
    }
    const needed = scopeFor(req.method, req.originalUrl.split('?')[0] ?? req.path);
    if (needed && !tokens.accessTokenScopes(token).has(needed)) {
      next(new VirtualHttpError(403, 'insufficient_scope', `the access token lacks the scope ${needed}`, undefined, {
        'www-authenticate': `Bearer error="insufficient_scope", scope="${needed}"`,
      }));
      return;
    }
    next();
  };
}

function unauthorized(message: string, oauthError: string): VirtualHttpError {
  return new VirtualHttpError(401, 'unauthorized', message, undefined, { 'www-authenticate': `Bearer error="${oauthError}"` });
}
