/** The longest original name kept (the schema's limit). */
export const MAX_ORIGINAL_NAME = 255;

// C0 and C1 control characters, DEL, and the Unicode bidirectional overrides that can disguise an extension.
// eslint-disable-next-line no-control-regex
const UNSAFE_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * The uploader's file name made safe to keep and show: directory parts
 * (`/` and `\`) stripped, control characters removed, surrounding blanks and
 * leading dots dropped, at most 255 characters (the extension kept). Returns
 * `fallback` when nothing is left. The result is for display and downloads
 * only; files are stored by id.
 */
export function sanitizeFileName(name: string | undefined, fallback: string): string {
  if (name === undefined) return fallback;
  const withoutControls = name.replace(UNSAFE_CHARACTERS, '');
  const base = withoutControls.split(/[/\\]/).pop() ?? '';
  let clean = base.trim().replace(/^\.+/, '').trim();
  if (clean === '') return fallback;
  if (clean.length > MAX_ORIGINAL_NAME) {
    const dot = clean.lastIndexOf('.');
    const ext = dot > 0 && clean.length - dot <= 16 ? clean.slice(dot) : '';
    clean = clean.slice(0, MAX_ORIGINAL_NAME - ext.length) + ext;
  }
  return clean;
}

/** The name without its extension, for a default title. */
export function stripExtension(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(0, dot) : name;
}

/**
 * A Content-Disposition value for `fileName` (RFC 6266): an ASCII fallback in
 * `filename` and the exact name, percent-encoded, in `filename*`.
 */
export function contentDisposition(fileName: string, type: 'attachment' | 'inline' = 'attachment'): string {
  const ascii = fileName.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const encoded = encodeURIComponent(fileName).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${type}; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
