import type { FileHandle } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline, type Readable } from 'node:stream';
import { FileHandles, readExactly } from './file-handles';

/**
 * Bytes kept somewhere else than a local file (an object in a bucket), read by range.
 * Both methods reject before anything is sent when the bytes cannot be read: an
 * error with code ENOENT when they are not there, another (e.g. a 503 ApiError) otherwise.
 */
export interface ByteSource {
  /** `length` bytes from `start`, in one buffer (short ranges). Stops reading when `signal` aborts. */
  read(start: number, length: number, signal: AbortSignal): Promise<Buffer>;
  /**
   * The bytes from `start` to `end` inclusive as a stream, resolved once the
   * source has answered (so a missing object rejects before any header is
   * written). When `signal` aborts (the client went away) the read is aborted
   * at the source, not read to its end.
   */
  open(start: number, end: number, signal: AbortSignal): Promise<Readable>;
}

/** What the caller already knows about the bytes to send (no stat per request). */
interface RangeFileInfo {
  /** Size in bytes. */
  size: number;
  /** Last modification time (Last-Modified, If-Modified-Since, If-Range by date). */
  mtime: Date;
  /** Content-Type of the bytes, e.g. audio/mpeg. */
  contentType: string;
  /**
   * A strong entity tag for these exact bytes, with or without the quotes
   * (`"abc"` or `abc`). A weak tag (`W/"..."`) is refused: ranges need a strong validator.
   */
  etag: string;
}

/**
 * The file to send: a file on disk (`path`, absolute; opened through `handles`, which may keep it
 * open between requests, else only shared by overlapping requests) or bytes from a `source`.
 */
export type RangeFile = RangeFileInfo & ({ path: string; handles?: FileHandles; source?: undefined } | { source: ByteSource; path?: undefined });

export interface RangeResponseOptions {
  /** Cache-Control header; none when omitted. */
  cacheControl?: string;
  /** Extra headers for the 200/206/304 answers, e.g. Content-Disposition. */
  headers?: Record<string, string>;
}

/** A satisfiable byte range, both ends inclusive. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * What a Range header asks for against a file of `size` bytes:
 * - `undefined`: no usable Range (absent, another unit, malformed, several ranges): send the whole file;
 * - `'unsatisfiable'`: 416;
 * - a ByteRange: 206.
 * Several ranges are answered with the whole file (RFC 9110 lets a server ignore Range).
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const parts = rangeParts(header);
  if (!parts) return undefined;
  const [first, last] = parts;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    // Suffix range: the last N bytes.
    const suffix = Number(last);
    if (!Number.isSafeInteger(suffix)) return undefined;
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  if (!Number.isSafeInteger(start)) return undefined;
  const requestedEnd = last === '' ? Number.POSITIVE_INFINITY : Number(last);
  if (requestedEnd < start) return undefined; // syntactically invalid: ignore the header
  if (start >= size) return 'unsatisfiable';
  return { start, end: Math.min(requestedEnd, size - 1) };
}

function quoteEtag(etag: string): string {
  if (etag.startsWith('W/')) throw new TypeError('sendFileRange needs a strong ETag');
  return etag.startsWith('"') ? etag : `"${etag}"`;
}

/** The entity tags of an If-None-Match / If-Match list; `*` stays `*`. */
function etagList(header: string): string[] {
  return header.split(',').map((tag) => tag.trim()).filter((tag) => tag !== '');
}

function weakMatch(header: string, etag: string): boolean {
  return etagList(header).some((tag) => tag === '*' || tag.replace(/^W\//, '') === etag);
}

function strongMatch(header: string, etag: string): boolean {
  return etagList(header).some((tag) => tag === '*' || tag === etag);
}

/** Seconds since the epoch of an HTTP date, or undefined when it is not one. */
function httpDateSeconds(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * Answers a GET or HEAD for a file with HTTP range support: 200 with the
 * whole file, 206 with one range (`bytes=100-199`, `bytes=-500`,
 * `bytes=100-`), 416 with `Content-Range: bytes *\/size` when the range lies
 * past the end, 304 on a matching If-None-Match (or If-Modified-Since), 412
 * on a failing If-Match / If-Unmodified-Since, and If-Range (an ETag or a
 * date) falling back to the whole file when the validator does not match.
 *
 * The file is opened before any header is written: when it cannot be opened
 * the promise rejects and nothing has been sent, so the caller can answer
 * (404, 500). Otherwise it resolves once the answer is complete or the client
 * went away; the read stream is always closed, also when the client
 * disconnects mid-transfer.
 */
export function sendFileRange(
  req: IncomingMessage,
  res: ServerResponse,
  file: RangeFile,
  options: RangeResponseOptions = {},
): Promise<void> {
  const etag = quoteEtag(file.etag);
  const mtimeSeconds = Math.floor(file.mtime.getTime() / 1000);
  const lastModified = new Date(mtimeSeconds * 1000).toUTCString();
  const isHead = req.method === 'HEAD';

  const validators: Record<string, string> = { ETag: etag, 'Last-Modified': lastModified };
  if (options.cacheControl) validators['Cache-Control'] = options.cacheControl;

  // Preconditions (RFC 9110 section 13.2.2).
  const ifMatch = header(req, 'if-match');
  const ifUnmodifiedSince = httpDateSeconds(header(req, 'if-unmodified-since'));
  if ((ifMatch !== undefined && !strongMatch(ifMatch, etag)) || (ifMatch === undefined && ifUnmodifiedSince !== undefined && mtimeSeconds > ifUnmodifiedSince)) {
    return endWith(res, 412, { ...validators }, isHead, 'precondition_failed', 'the file changed since the given validator');
  }
  const ifNoneMatch = header(req, 'if-none-match');
  const ifModifiedSince = httpDateSeconds(header(req, 'if-modified-since'));
  const notModified = ifNoneMatch !== undefined
    ? weakMatch(ifNoneMatch, etag)
    : ifModifiedSince !== undefined && mtimeSeconds <= ifModifiedSince;
  if (notModified) {
    res.writeHead(304, { ...validators, ...options.headers });
    res.end();
    return Promise.resolve();
  }

  let range = parseRange(header(req, 'range'), file.size);
  const ifRange = header(req, 'if-range');
  if (range !== undefined && ifRange !== undefined) {
    const trimmed = ifRange.trim();
    const stillValid = trimmed.startsWith('"') || trimmed.startsWith('W/')
      ? trimmed === etag
      : httpDateSeconds(trimmed) === mtimeSeconds;
    if (!stillValid) range = undefined;
  }

  const common: Record<string, string> = { 'Accept-Ranges': 'bytes', ...validators, 'X-Content-Type-Options': 'nosniff' };
  if (range === 'unsatisfiable') {
    return endWith(res, 416, { ...common, 'Content-Range': `bytes */${file.size}` }, isHead, 'range_not_satisfiable', `the range lies outside the file's ${file.size} bytes`);
  }

  const status = range ? 206 : 200;
  const start = range ? range.start : 0;
  const end = range ? range.end : file.size - 1;
  const length = file.size === 0 ? 0 : end - start + 1;
  const headers: Record<string, string> = {
    ...common,
    ...options.headers,
    'Content-Type': file.contentType,
    'Content-Length': String(length),
  };
  if (range) headers['Content-Range'] = `bytes ${start}-${end}/${file.size}`;

  if (isHead || length === 0) {
    res.writeHead(status, headers);
    res.end();
    return Promise.resolve();
  }

  if (file.source) {
    const source = file.source;
    return whileClientStays(res, (signal) => length <= BUFFERED_RANGE_BYTES
      ? sendBufferedFrom(res, source, start, length, status, headers, signal)
      : sendStreamedFrom(res, source, start, end, status, headers, signal));
  }
  const handles = file.handles ?? sharedHandles;
  if (length <= BUFFERED_RANGE_BYTES) return sendBuffered(res, handles, file.path, start, length, status, headers);
  return sendStreamed(res, handles, file.path, start, end, status, headers);
}

/** Runs `work` with a signal that aborts when the client goes away before the answer is complete. */
async function whileClientStays(res: ServerResponse, work: (signal: AbortSignal) => Promise<void>): Promise<void> {
  const controller = new AbortController();
  const onClose = (): void => {
    if (!res.writableFinished) controller.abort(new Error('the client went away'));
  };
  res.once('close', onClose);
  try {
    await work(controller.signal);
  } catch (error) {
    // A read the client's leaving aborted is no failure: nobody is there to answer.
    if (!controller.signal.aborted) throw error;
  } finally {
    res.off('close', onClose);
  }
}

/** A short range from a source: read into one buffer, then headers and body at once (as sendBuffered). */
async function sendBufferedFrom(res: ServerResponse, source: ByteSource, start: number, length: number, status: number, headers: Record<string, string>, signal: AbortSignal): Promise<void> {
  const body = await source.read(start, length, signal);
  if (res.destroyed) return;
  if (body.length !== length) throw Object.assign(new Error(`the source gave ${body.length} bytes, not ${length}`), { code: 'ESHORTFILE' });
  res.writeHead(status, headers);
  res.end(body);
}

/**
 * A long range from a source: opened before the headers are written (a missing
 * object rejects with nothing sent), then piped with backpressure. A client
 * that goes away ends the pipeline, which destroys the source's stream; the
 * signal aborts a read still being opened.
 */
async function sendStreamedFrom(res: ServerResponse, source: ByteSource, start: number, end: number, status: number, headers: Record<string, string>, signal: AbortSignal): Promise<void> {
  const body = await source.open(start, end, signal);
  if (res.destroyed) {
    body.destroy();
    return;
  }
  res.writeHead(status, headers);
  await new Promise<void>((resolve) => {
    pipeline(body, res, () => resolve());
  });
}

/**
 * Ranges up to this size are read into one buffer and sent with one write:
 * players and browsers seek with many short ranges, and for those the cost of
 * a read stream (and of opening the file) outweighs the copy.
 */
const BUFFERED_RANGE_BYTES = 256 * 1024;

/** Longer ranges are read and written in chunks of this size: four times fewer reads and writes than 64 KiB chunks. */
const STREAM_CHUNK_BYTES = 256 * 1024;

/**
 * Files sent without a cache of their own (speech, covers, the chime) are opened once for the
 * requests that overlap in time and closed when the last one is done.
 */
const sharedHandles = new FileHandles({ keepIdle: 0, maxAgeMs: 1000 });

/** Reads the range, then writes headers and body at once; a read error rejects before anything is sent. */
function sendBuffered(res: ServerResponse, handles: FileHandles, filePath: string, start: number, length: number, status: number, headers: Record<string, string>): Promise<void> {
  const send = (body: Buffer): void => {
    if (res.destroyed) return;
    res.writeHead(status, headers);
    res.end(body);
  };
  let atOnce: Buffer | undefined;
  try {
    atOnce = handles.readIfOpen(filePath, start, length);
  } catch (error) {
    return Promise.reject(error);
  }
  if (atOnce) {
    send(atOnce);
    return Promise.resolve();
  }
  return handles.use(filePath, (handle) => readExactly(handle, start, length)).then(send);
}

/**
 * Streams a long range from the shared handle. The handle is opened before the
 * headers are written, so an open error rejects with nothing sent. Chunks are
 * read through the FileHandle itself: a client that goes away ends the
 * pipeline and the read loop, and never closes the descriptor the other
 * requests share (a read stream on the bare fd closes it when destroyed), and
 * the handle's close waits for a read still in flight.
 */
async function sendStreamed(res: ServerResponse, handles: FileHandles, filePath: string, start: number, end: number, status: number, headers: Record<string, string>): Promise<void> {
  await handles.use(filePath, (handle) => new Promise<void>((resolve) => {
    if (res.destroyed) {
      resolve();
      return;
    }
    res.writeHead(status, headers);
    // pipeline waits for the socket to drain between chunks, and on error or premature close (client gone) stops the loop.
    pipeline(readChunks(handle, start, end), res, () => resolve());
  }));
}

/** The bytes from start to end inclusive, in chunks of STREAM_CHUNK_BYTES, each its own buffer (the socket may still hold the last). */
async function* readChunks(handle: FileHandle, start: number, end: number): AsyncGenerator<Buffer> {
  for (let position = start; position <= end; position += STREAM_CHUNK_BYTES) {
    yield await readExactly(handle, position, Math.min(STREAM_CHUNK_BYTES, end - position + 1));
  }
}

function endWith(
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  isHead: boolean,
  code: string,
  message: string,
): Promise<void> {
  const body = JSON.stringify({ error: { code, message, details: [] } });
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)) });
  res.end(isHead ? undefined : body);
  return Promise.resolve();
}

const DIGITS = /^\d*$/;

/**
 * The two numbers of `bytes = first - last` (either may be empty), read by
 * splitting rather than by one regular expression: `\s*(\d*)\s*` backtracks
 * quadratically on a header of many spaces.
 */
function rangeParts(header: string): [string, string] | undefined {
  const equals = header.indexOf('=');
  if (equals === -1 || header.slice(0, equals).trim().toLowerCase() !== 'bytes') return undefined;
  const spec = header.slice(equals + 1);
  const dash = spec.indexOf('-');
  if (dash === -1) return undefined;
  const first = spec.slice(0, dash).trim();
  const last = spec.slice(dash + 1).trim();
  return DIGITS.test(first) && DIGITS.test(last) ? [first, last] : undefined;
}
