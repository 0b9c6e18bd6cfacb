/**
 * Which scope each Yoto REST route needs (yoto.dev "API Scopes"): a token
 * without it gets 403 with `WWW-Authenticate: Bearer error="insufficient_scope"`.
 * Routes not listed need only a valid token.
 */
const RULES: Array<{ method: string; pattern: RegExp; scope: string }> = [
  { method: 'GET', pattern: /^\/device-v2\/devices\/mine$/, scope: 'family:devices:view' },
  { method: 'GET', pattern: /^\/device-v2\/[^/]+\/config$/, scope: 'family:devices:view' },
  { method: 'PUT', pattern: /^\/device-v2\/[^/]+\/config$/, scope: 'family:devices:manage' },
  { method: 'GET', pattern: /^\/content(\/[^/]+)?$/, scope: 'user:content:view' },
  { method: 'POST', pattern: /^\/content$/, scope: 'user:content:manage' },
  { method: 'DELETE', pattern: /^\/content\/[^/]+$/, scope: 'user:content:manage' },
  { method: 'GET', pattern: /^\/media\/displayIcons\/user\/me$/, scope: 'user:icons:manage' },
  { method: 'POST', pattern: /^\/media\/displayIcons\/user\/me\/upload$/, scope: 'user:icons:manage' },
  { method: 'GET', pattern: /^\/media\/transcode\/audio\/uploadUrl$/, scope: 'user:content:manage' },
  { method: 'GET', pattern: /^\/media\/upload\/[^/]+\/transcoded$/, scope: 'user:content:manage' },
  { method: 'GET', pattern: /^\/card\/family\/library/, scope: 'family:library:view' },
];

/** The scope a request needs, or undefined when any valid token will do. */
export function scopeFor(method: string, path: string): string | undefined {
  const verb = method === 'HEAD' ? 'GET' : method;
  return RULES.find((rule) => rule.method === verb && rule.pattern.test(path))?.scope;
}
