/**
 * Keeping secrets out of answers and log lines: credentials written into URLs
 * (`mqtt://user:pass@host`) and values under secret-looking keys.
 */

/** What replaces a secret. */
export const REDACTED = '[redacted]';

/** Keys whose values are secrets wherever they appear (the broker password, tokens, the Authorization header). */
export const SECRET_KEY = /pass(?:word)?|secret|token|credential|private|authorization|cookie/i;

const URL_END = new Set(['/', '?', '#', ' ', '\t', '\n', '\r', '"', "'", '<', '>', '`', ',', ';', ')', ']', '}']);

/**
 * `text` with the user-info of every URL in it replaced: `mqtt://user:pass@host`
 * becomes `mqtt://[redacted]@host`. One linear scan (no regular expression:
 * log lines can be long).
 */
export function redactUrlCredentials(text: string): string {
  let at = text.indexOf('://');
  if (at === -1) return text;
  let out = '';
  let from = 0;
  while (at !== -1) {
    const start = at + 3;
    let i = start;
    let atSign = -1;
    for (; i < text.length && !URL_END.has(text[i]!); i++) if (text[i] === '@') atSign = i;
    if (atSign !== -1) {
      out += `${text.slice(from, start)}${REDACTED}`;
      from = atSign;
    }
    at = text.indexOf('://', Math.max(i, start));
  }
  return out + text.slice(from);
}

/**
 * A copy of `value` fit to show: URL credentials redacted in every string, and
 * values under secret-looking keys replaced. Errors keep their type but get a
 * redacted message. Deep structures are cut at `maxDepth`.
 */
export function redactDeep<T>(value: T, maxDepth = 8): T {
  const walk = (node: unknown, depth: number): unknown => {
    if (typeof node === 'string') return redactUrlCredentials(node);
    if (typeof node !== 'object' || node === null) return node;
    if (node instanceof Error) {
      const message = redactUrlCredentials(node.message);
      if (message === node.message) return node;
      const copy = new Error(message);
      copy.name = node.name;
      const code = (node as Error & { code?: unknown }).code;
      if (code !== undefined) (copy as Error & { code?: unknown }).code = code;
      return copy;
    }
    if (depth >= maxDepth) return node;
    if (Array.isArray(node)) return node.map((child) => walk(child, depth + 1));
    if (node instanceof Date || Buffer.isBuffer(node)) return node;
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(node)) {
      out[key] = SECRET_KEY.test(key) && child !== undefined && child !== null && child !== '' ? REDACTED : walk(child, depth + 1);
    }
    return out;
  };
  return walk(value, 0) as T;
}
