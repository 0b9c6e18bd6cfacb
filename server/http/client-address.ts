import type { IncomingMessage } from 'node:http';
import * as net from 'node:net';

/** Express's `trust proxy` for hub instances behind a reverse proxy on the private network (README "Several hub instances"). */
export const TRUSTED_PROXIES = 'loopback, linklocal, uniquelocal';

/** Whether an address is on the machine or the private network (where the reverse proxy is). */
export function isPrivateAddress(address: string): boolean {
  const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (net.isIPv4(plain)) {
    const [a, b] = plain.split('.').map(Number) as [number, number];
    return a === 127 || a === 10 || (a === 192 && b === 168) || (a === 172 && b >= 16 && b <= 31) || (a === 169 && b === 254);
  }
  const lower = plain.toLowerCase();
  return lower === '::1' || lower.startsWith('fc') || lower.startsWith('fd') || lower.startsWith('fe80:');
}

/**
 * The client's address as the reverse proxy saw it: the last entry of X-Forwarded-For when the
 * connection comes from the private network (the proxy appends the address it was reached from),
 * the connection's own address otherwise (a client cannot pick its address by sending the header).
 */
export function forwardedClientAddress(request: IncomingMessage): string {
  const peer = request.socket.remoteAddress ?? 'unknown';
  const header = request.headers['x-forwarded-for'];
  const forwarded = Array.isArray(header) ? header.join(',') : header;
  if (!forwarded || !isPrivateAddress(peer)) return peer;
  const last = forwarded.split(',').map((part) => part.trim()).filter((part) => part !== '').pop();
  return last && net.isIP(last) ? last : peer;
}
