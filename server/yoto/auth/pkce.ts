import { createHash, randomBytes } from 'node:crypto';

/**
 * PKCE (RFC 7636) with the S256 method, the only one Yoto's login accepts
 * for public clients.
 */

/** 43 characters from the unreserved set: 32 random bytes, base64url. */
export function createCodeVerifier(): string {
  return randomBytes(32).toString('base64url');
}

export function codeChallengeS256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

/** An opaque value tying a callback to the sign-in that asked for it (CSRF protection). */
export function createState(): string {
  return randomBytes(16).toString('base64url');
}

const VERIFIER_PATTERN = /^[A-Za-z0-9\-._~]{43,128}$/;

export function isValidCodeVerifier(verifier: string): boolean {
  return VERIFIER_PATTERN.test(verifier);
}
