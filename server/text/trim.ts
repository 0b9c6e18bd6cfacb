/**
 * Trimming a repeated character without a regular expression: `/x+$/` looks
 * for the run from every position of a string, so it takes quadratic time on a
 * long run of `x` that does not reach the end (see test/security/regex-audit).
 */

/** `text` without `char` at its end. */
export function trimEndChar(text: string, char: string): string {
  let end = text.length;
  while (end > 0 && text[end - 1] === char) end--;
  return text.slice(0, end);
}

/** `text` without `char` at either end. */
export function trimChar(text: string, char: string): string {
  let start = 0;
  while (start < text.length && text[start] === char) start++;
  return trimEndChar(text.slice(start), char);
}
