import * as http from 'node:http';
import * as https from 'node:https';
import { estimateMp3Seconds, looksLikeAudio } from './audio-probe';

/** What the player learnt from opening a stream. */
export type StreamProbe =
  | { ok: true; contentType: string; durationSeconds?: number }
  | { ok: false; reason: string };

export interface StreamFetch {
  /** Settles once the player knows whether it can play the stream; never rejects. */
  readonly result: Promise<StreamProbe>;
  /** Drops the connection; no callback fires after this. */
  cancel(): void;
}

export interface StreamFetchOptions {
  /** Socket inactivity before the player gives up. */
  timeoutMs: number;
  /** Called if the stream breaks after it started playing. */
  onInterrupted: (reason: string) => void;
  /** Whether this URL may be fetched (checked for the first URL and every redirect). */
  allow?: (url: URL) => boolean;
}

const HEAD_BYTES = 16 * 1024;
const MAX_REDIRECTS = 3;

function describeNetworkError(error: NodeJS.ErrnoException): string {
  return error.code ? `connection failed (${error.code})` : `connection failed (${error.message})`;
}

/**
 * Fetches a streaming track the way a player does: one plain GET each time the
 * track plays, following redirects, judging the first bytes, then reading the
 * rest as it plays. No keep-alive agent, so nothing lingers after cancel().
 */
export function fetchStream(url: string, options: StreamFetchOptions): StreamFetch {
  let cancelled = false;
  let request: http.ClientRequest | undefined;
  let settle: (probe: StreamProbe) => void = () => undefined;
  const result = new Promise<StreamProbe>((resolve) => {
    settle = resolve;
  });
  let settled = false;
  let playing = false;
  let interrupted = false;
  const interrupt = (reason: string): void => {
    if (interrupted || cancelled || !playing) return;
    interrupted = true;
    options.onInterrupted(reason);
  };
  const finish = (probe: StreamProbe): void => {
    if (settled) return;
    settled = true;
    playing = probe.ok;
    settle(probe);
  };

  const get = (target: string, redirectsLeft: number): void => {
    let parsed: URL;
    try {
      parsed = new URL(target);
    } catch {
      finish({ ok: false, reason: `not a URL: ${target}` });
      return;
    }
    const client = parsed.protocol === 'https:' ? https : parsed.protocol === 'http:' ? http : undefined;
    if (!client) {
      finish({ ok: false, reason: `unsupported URL scheme ${parsed.protocol}` });
      return;
    }
    if (options.allow && !options.allow(parsed)) {
      finish({ ok: false, reason: `refused: ${parsed.origin} is not the hub or the virtual cloud (allow it in the virtual stream origins setting)` });
      return;
    }
    const req = client.get(parsed, { agent: false, headers: { 'user-agent': 'Yoto-virtual-player', accept: 'audio/*' } });
    request = req;
    req.setTimeout(options.timeoutMs, () => req.destroy(new Error(`no data for ${options.timeoutMs} ms`)));
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (cancelled) return;
      if (!settled) finish({ ok: false, reason: describeNetworkError(error) });
      else interrupt(`stream interrupted (${error.message})`);
    });
    req.on('response', (response) => onResponse(req, response, parsed, redirectsLeft));
  };

  const onResponse = (req: http.ClientRequest, response: http.IncomingMessage, from: URL, redirectsLeft: number): void => {
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (status >= 300 && status < 400 && location && redirectsLeft > 0) {
      response.resume();
      req.destroy();
      get(new URL(location, from).toString(), redirectsLeft - 1);
      return;
    }
    if (status < 200 || status >= 300) {
      response.resume();
      req.destroy();
      finish({ ok: false, reason: `HTTP ${status}${response.statusMessage ? ` ${response.statusMessage}` : ''}` });
      return;
    }
    const contentType = String(response.headers['content-type'] ?? '');
    const length = response.headers['content-length'] !== undefined ? Number(response.headers['content-length']) : undefined;
    const chunks: Buffer[] = [];
    let received = 0;
    const judge = (): void => {
      if (settled) return;
      const head = Buffer.concat(chunks);
      if (head.length === 0) {
        finish({ ok: false, reason: 'empty response' });
        req.destroy();
      } else if (!looksLikeAudio(contentType, head)) {
        finish({ ok: false, reason: `not audio (content-type ${contentType || 'missing'})` });
        req.destroy();
      } else {
        const durationSeconds = estimateMp3Seconds(head, Number.isFinite(length) ? length : undefined);
        finish({ ok: true, contentType, ...(durationSeconds !== undefined ? { durationSeconds } : {}) });
      }
    };
    response.on('data', (chunk: Buffer) => {
      if (settled) return;
      chunks.push(chunk);
      received += chunk.length;
      if (received >= HEAD_BYTES) judge();
    });
    response.on('end', judge);
    response.on('close', () => {
      if (!response.complete) interrupt('stream interrupted (connection closed early)');
    });
  };

  get(url, MAX_REDIRECTS);
  return {
    result,
    cancel: () => {
      if (cancelled) return;
      cancelled = true;
      request?.destroy();
      finish({ ok: false, reason: 'cancelled' });
    },
  };
}
