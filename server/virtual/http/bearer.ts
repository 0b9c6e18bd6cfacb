import type { RequestHandler } from 'express';
import type { VirtualTokenService } from '../tokens/token-service';
import { VirtualHttpError } from './errors';

/** Every Yoto REST route needs `Authorization: Bearer <access token>` issued by this cloud and not expired. */
export function requireBearer(tokens: VirtualTokenService): RequestHandler {
  return (req, _res, next) => {
    const match = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '');
    if (!match) {
      next(unauthorized('missing bearer token: send Authorization: Bearer <access token>', 'invalid_request'));
      return;
    }
    const status = tokens.inspectAccessToken(match[1]!);
    if (status === 'valid') next();
    else if (status === 'expired') next(unauthorized('the access token has expired: refresh it', 'invalid_token'));
    else next(unauthorized('the access token is not valid', 'invalid_token'));
  };
}

function unauthorized(message: string, oauthError: string): VirtualHttpError {
  return new VirtualHttpError(401, 'unauthorized', message, undefined, { 'www-authenticate': `Bearer error="${oauthError}"` });
}
