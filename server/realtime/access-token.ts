import type { IncomingMessage } from 'node:http';

/** The subprotocol a browser names first to pass its access token: `new WebSocket(url, ['bearer', token])`. */
export const BEARER_SUBPROTOCOL = 'bearer';

/**
 * The access token of a WebSocket upgrade request, the same token the REST
 * API takes. Browsers cannot set headers on a WebSocket, so three places are read, in this order:
 *
 * 1. `Authorization: Bearer <token>` (Node.js and other non-browser clients);
 * 2. `Sec-WebSocket-Protocol: bearer, <token>`: in a browser,
 *    `new WebSocket(url, ['bearer', token])`. `bearer` must come first: the
 *    server answers with the first subprotocol offered, so the token is never echoed;
 * 3. `?access_token=<token>` on the URL (works everywhere, but URLs end up in
 *    proxy logs and browser history: prefer the subprotocol).
 */
export function accessTokenFromRequest(request: IncomingMessage): string | undefined {
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match?.[1]) return match[1];
  }
  const protocols = request.headers['sec-websocket-protocol'];
  if (typeof protocols === 'string') {
    const offered = protocols.split(',').map((value) => value.trim());
    if (offered[0]?.toLowerCase() === BEARER_SUBPROTOCOL && offered[1]) return offered[1];
  }
  const query = new URL(request.url ?? '/', 'http://localhost').searchParams.get('access_token');
  return query ? query : undefined;
}
