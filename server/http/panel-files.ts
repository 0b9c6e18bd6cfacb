import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import type * as http from 'node:http';
import * as path from 'node:path';

/**
 * How the panel's files are served. index.html is never cached (it names the current chunks and
 * holds the boot script inline); the chunks have a content hash in their name, so a browser keeps
 * them for a year without asking again (`immutable`); main.js keeps its name across builds, so it
 * is checked each time (ETag, usually a 304).
 */
export const PANEL_CACHE = {
  page: 'no-cache',
  hashedChunk: 'public, max-age=31536000, immutable',
  entry: 'no-cache',
} as const;

/** The Cache-Control of one of the panel's files, by its path on disk. */
export function panelCacheControl(filePath: string): string | undefined {
  const parts = filePath.split(path.sep);
  if (filePath.endsWith('.html')) return PANEL_CACHE.page;
  if (parts.at(-2) === 'chunks' && parts.at(-3) === 'assets') return PANEL_CACHE.hashedChunk;
  if (parts.at(-2) === 'assets') return PANEL_CACHE.entry;
  return undefined;
}

/**
 * The sources a page's inline scripts need in its CSP: `'sha256-…'` of each inline `<script>`
 * the browser runs (JSON data blocks are not run, so the CSP does not cover them).
 */
export function inlineScriptHashes(html: string): string[] {
  const hashes: string[] = [];
  for (const match of html.matchAll(/<script(\s[^>]*)?>([\s\S]*?)<\/script>/gi)) {
    const attributes = match[1] ?? '';
    if (/\ssrc\s*=/i.test(attributes)) continue;
    const type = /\stype\s*=\s*"([^"]*)"/i.exec(attributes)?.[1]?.toLowerCase();
    if (type !== undefined && type !== '' && type !== 'module' && type !== 'text/javascript') continue;
    hashes.push(`'sha256-${createHash('sha256').update(match[2] ?? '', 'utf8').digest('base64')}'`);
  }
  return hashes;
}

/** `policy` (a Content-Security-Policy header) with `sources` added to its script-src (made from default-src, or 'self', when it has none). */
export function allowScripts(policy: string, sources: readonly string[]): string {
  if (sources.length === 0) return policy;
  const directives = policy.split(';').map((directive) => directive.trim()).filter((directive) => directive !== '');
  const index = directives.findIndex((directive) => /^script-src(\s|$)/i.test(directive));
  if (index >= 0) {
    directives[index] = `${directives[index]} ${sources.join(' ')}`;
  } else {
    const fallback = directives.find((directive) => /^default-src(\s|$)/i.test(directive))?.replace(/^default-src/i, '').trim() || "'self'";
    directives.push(`script-src ${fallback} ${sources.join(' ')}`);
  }
  return directives.join(';');
}

/** index.html as read last, re-read when the file changes (a rebuild while the hub runs). */
export class PanelPage {
  private cached: { mtimeMs: number; size: number; html: Buffer; scriptHashes: string[] } | undefined;

  constructor(readonly file: string) {}

  /** The page and its inline scripts' hashes; undefined when the panel is not built. */
  read(): { html: Buffer; scriptHashes: string[] } | undefined {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(this.file);
    } catch {
      return undefined;
    }
    if (!this.cached || this.cached.mtimeMs !== stat.mtimeMs || this.cached.size !== stat.size) {
      const html = fs.readFileSync(this.file);
      this.cached = { mtimeMs: stat.mtimeMs, size: stat.size, html, scriptHashes: inlineScriptHashes(html.toString('utf8')) };
    }
    return this.cached;
  }

  /** Lets the page's inline scripts run: their hashes go into the CSP already set on `res` (helmet's). */
  allowInlineScripts(res: http.ServerResponse, scriptHashes: readonly string[]): void {
    const policy = res.getHeader('Content-Security-Policy');
    if (typeof policy === 'string') res.setHeader('Content-Security-Policy', allowScripts(policy, scriptHashes));
  }
}
