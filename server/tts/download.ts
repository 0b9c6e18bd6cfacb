/** Why a download gave no body. */
export type DownloadFailure = 'unreachable' | 'timeout' | 'too_large' | 'http_status' | 'aborted';

export class DownloadError extends Error {
  constructor(
    readonly reason: DownloadFailure,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'DownloadError';
  }
}

export interface DownloadOptions {
  timeoutMs: number;
  maxBytes: number;
  /** Aborts the download (the speech service's stop). */
  signal: AbortSignal;
}

export interface Downloaded {
  bytes: Uint8Array;
  /** The media type without parameters, lower case (`audio/mpeg`); '' when none was sent. */
  contentType: string;
}

/**
 * GETs `url` into memory with a time limit (the whole answer) and a size
 * limit (checked against Content-Length first, then while reading). A non-2xx
 * answer is a DownloadError `http_status` whose message starts with the
 * status and the first words of the body.
 */
export async function download(url: URL, options: DownloadOptions): Promise<Downloaded> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = AbortSignal.any([timeout, options.signal]);
  const failed = (error: unknown): DownloadError => {
    if (options.signal.aborted) return new DownloadError('aborted', 'the download was stopped');
    if (timeout.aborted) return new DownloadError('timeout', `${url.origin} did not answer within ${Math.round(options.timeoutMs / 1000)} s`);
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : error instanceof Error ? error.message : String(error);
    return new DownloadError('unreachable', `${url.origin} cannot be reached (${cause})`);
  };
  let response: Response;
  try {
    response = await fetch(url, { signal, redirect: 'follow' });
  } catch (error) {
    throw failed(error);
  }
  const contentType = (response.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  try {
    if (!response.ok) {
      const text = (await response.text()).replace(/\s+/g, ' ').trim().slice(0, 200);
      throw new DownloadError('http_status', `${url.origin} answered ${response.status}${text ? `: ${text}` : ''}`, response.status);
    }
    const declared = Number(response.headers.get('content-length'));
    if (Number.isFinite(declared) && declared > options.maxBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw tooLarge(options.maxBytes);
    }
    const parts: Uint8Array[] = [];
    let total = 0;
    const reader = response.body?.getReader();
    for (;;) {
      const next = reader ? await reader.read() : { done: true as const, value: undefined };
      if (next.done) break;
      total += next.value.length;
      if (total > options.maxBytes) {
        await reader?.cancel().catch(() => undefined);
        throw tooLarge(options.maxBytes);
      }
      parts.push(next.value);
    }
    return { bytes: Buffer.concat(parts, total), contentType };
  } catch (error) {
    if (error instanceof DownloadError) throw error;
    throw failed(error);
  }
}

function tooLarge(maxBytes: number): DownloadError {
  return new DownloadError('too_large', `the audio is larger than ${Math.round(maxBytes / 1024 / 1024)} MB`);
}
