import type { IncomingMessage } from 'node:http';
import proxyaddr from 'proxy-addr';

/**
 * The client's address of a request: the connection's own, or, when it comes
 * from one of `trustedProxies` (YOTO_TRUSTED_PROXIES), the address that proxy
 * says it was reached from (X-Forwarded-For, read right to left through
 * trusted hops only, as Express's `trust proxy` reads it). A client that is
 * not a trusted proxy cannot pick its address by sending the header.
 */
export function clientAddressOf(trustedProxies: readonly string[]): (request: IncomingMessage) => string {
  if (trustedProxies.length === 0) return (request) => request.socket.remoteAddress ?? 'unknown';
  const trust = proxyaddr.compile([...trustedProxies]);
  return (request) => proxyaddr(request, trust);
}
