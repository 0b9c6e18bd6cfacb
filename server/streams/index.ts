import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ParsedUrlQuery } from 'node:querystring';
import { ApiError } from '../http/api-error';
import type { DirectRoutes } from '../http/direct-routes';
import { sendFileRange, StorageUnavailableError, type AudioLibrary, type RangeFile } from '../library';
import type { Logger } from '../log/logger';
import type { AudioFile } from '../types/schemas';
import { SmartStreams } from './smart-streams';
import { StreamTokens, type StreamScope, type StreamTarget } from './stream-tokens';
import { trimEndChar } from '../text/trim';
import { realClock, type TimeSource } from '../time/clock';

export { SmartStreams, inWindow, type SmartStream, type SmartStreamDefinition, type SmartWindow, type SmartChoice, type SmartRule } from './smart-streams';
export { StreamTokens, type StreamScope, type StreamTarget, type StreamGrant, type TokenCheck } from './stream-tokens';

export interface StreamServiceOptions {
  /** Secret under `<dataDir>/secrets/`, revocations and smart streams under `<dataDir>/streams/`. */
  dataDir: string;
  /** The address players reach the hub at (YOTO_PUBLIC_URL), e.g. https://yoto.example.com; undefined: `hubUrl()`. */
  publicUrl: string | undefined;
  /** The hub's own address (`hub.http.url`), used when publicUrl is not set; read when a URL is made, so it may change after listen(). */
  hubUrl: () => string;
  /** The library's files (`createAudioLibrary(...).files`). */
  library: Pick<AudioLibrary, 'peek' | 'storage' | 'audioName'>;
  logger: Logger;
  /** The hub's clock (URL expiry, smart-stream windows); the real one when omitted. */
  clock?: TimeSource;
  /** Seconds a URL from urlFor works unless its scope says otherwise (default STREAM_URL_LIFETIME_SECONDS). */
  urlLifetimeSeconds?: number;
}

/**
 * How long a stream URL works: a week. A URL copied off a card (the card is readable by anyone
 * with the family's cloud login) stops working at the latest a week later; the hub renews the URLs
 * on the cards it deployed long before that (server/scripts/card-renewal.ts).
 */
export const STREAM_URL_LIFETIME_SECONDS = 7 * 24 * 60 * 60;

/** One answered player request (also refused ones). */
export interface StreamServed {
  kind: StreamTarget['kind'];
  /** The file id, smart stream id or speech cache key in the URL. */
  id: string;
  method: string;
  status: number;
  /** The file sent, when one was. */
  fileId?: string;
  deviceId?: string;
  scriptId?: string;
  /** Why a request was refused or failed: a token check (403: expired, revoked...), `not_found` or `missing_on_disk` (404: not in the data directory or bucket), `storage_unavailable` (503: the bucket). */
  reason?: string;
}

export interface StreamServiceEvents {
  served: [served: StreamServed];
}

export interface StreamService {
  /**
   * The player routes, answered ahead of the API's middleware (players send no session, and seek
   * with many short requests): `server.mountDirect('/stream', streams.routes)`.
   */
  routes: DirectRoutes;
  /**
   * An absolute, signed URL a player can fetch: `<base>/stream/audio/<fileId>?t=...`, `<base>/stream/smart/<streamId>?t=...` or `<base>/stream/speech/<key>?t=...`.
   * It expires after `scope.expiresInSeconds`, by default `urlLifetimeSeconds`; after that it answers 403.
   */
  urlFor(target: StreamTarget, scope?: StreamScope): string;
  /** Seconds a URL from urlFor works unless its scope says otherwise. */
  readonly urlLifetimeSeconds: number;
  /**
   * For a stream URL this hub signed and has not revoked, expired or not: when it expires (ms since
   * the epoch; undefined: never). Undefined for any other URL (another site's, forged, revoked).
   */
  urlExpiry(url: string): { expiresAt: number | undefined } | undefined;
  /**
   * The same stream URL signed anew with a fresh lifetime (same file or smart stream, player and
   * script), when urlExpiry accepts it; undefined otherwise. For renewing the URLs on deployed cards.
   */
  renewUrl(url: string): string | undefined;
  /**
   * Where `GET /stream/speech/:key` finds its file (the speech service's cache, server/tts):
   * registered once the speech service exists; until then, and for unknown keys, 404.
   */
  useSpeechFiles(lookup: (key: string) => RangeFile | undefined): void;
  /** Every URL signed for this device so far answers 403 from now on, and responses under way on them are cut off (resolves once persisted). */
  revokeDevice(deviceId: string): Promise<void>;
  /** Every URL signed for this script so far answers 403 from now on, and responses under way on them are cut off (resolves once persisted). */
  revokeScript(scriptId: string): Promise<void>;
  smart: SmartStreams;
  /** `served` after every answered request: flows and tests can follow what players fetch. */
  events: EventEmitter<StreamServiceEvents>;
  /** Waits for pending writes and for streams under way to end. */
  close(): Promise<void>;
}

const FORBIDDEN_MESSAGES: Record<string, string> = {
  malformed: 'the stream token is missing or malformed',
  bad_signature: 'the stream token is not valid',
  wrong_target: 'the stream token is for another stream',
  expired: 'the stream token has expired',
  revoked: 'the stream token was revoked',
};

/**
 * Player-facing audio: `GET|HEAD /stream/audio/:fileId?t=` sends a library
 * file with Range/ETag support, `GET|HEAD /stream/smart/:streamId?t=` sends
 * the file the smart stream's rules choose for this request (streamed
 * directly, no redirect, so players that do not follow redirects work too).
 */
export function createStreamService(options: StreamServiceOptions): StreamService {
  const clock = options.clock ?? realClock;
  const now = (): Date => new Date(clock.now());
  const logger = options.logger.child({ part: 'streams' });
  const tokens = new StreamTokens(options.dataDir, now);
  const smart = new SmartStreams(options.dataDir, now, (fileId) => options.library.peek(fileId) !== undefined);
  const events = new EventEmitter<StreamServiceEvents>();
  const pending = new Set<Promise<void>>();

  const baseUrl = (): string => trimEndChar(options.publicUrl ?? options.hubUrl(), '/');
  const urlLifetimeSeconds = options.urlLifetimeSeconds ?? STREAM_URL_LIFETIME_SECONDS;
  const urlOf = (target: StreamTarget, token: string): string => {
    const pathPart =
      target.kind === 'audio'
        ? `audio/${encodeURIComponent(target.fileId)}`
        : target.kind === 'smart'
          ? `smart/${encodeURIComponent(target.streamId)}`
          : `speech/${encodeURIComponent(target.key)}`;
    return `${baseUrl()}/stream/${pathPart}?t=${token}`;
  };

  const tokenOf = (query: ParsedUrlQuery): string | undefined => (typeof query['t'] === 'string' ? query['t'] : undefined);

  const report = (served: StreamServed): void => {
    events.emit('served', served);
  };

  const authorize = (req: IncomingMessage, query: ParsedUrlQuery, target: StreamTarget, id: string): { deviceId?: string; scriptId?: string } => {
    const check = tokens.verify(tokenOf(query), target);
    if (!check.ok) {
      report({ kind: target.kind, id, method: method(req), status: 403, reason: check.reason, ...check.signedFor });
      logger.info('stream request refused', { kind: target.kind, id, reason: check.reason });
      throw new ApiError(403, 'forbidden', FORBIDDEN_MESSAGES[check.reason] ?? 'forbidden');
    }
    return {
      ...(check.grant.deviceId !== undefined ? { deviceId: check.grant.deviceId } : {}),
      ...(check.grant.scriptId !== undefined ? { scriptId: check.grant.scriptId } : {}),
    };
  };

  /** Responses under way, by the scope their token was signed for: a revocation cuts them off at once. */
  const inFlight = new Set<{ res: ServerResponse; deviceId?: string; scriptId?: string }>();
  const cutOff = (matches: (scope: { deviceId?: string; scriptId?: string }) => boolean): void => {
    for (const entry of inFlight) {
      if (!matches(entry)) continue;
      inFlight.delete(entry);
      entry.res.destroy();
    }
  };

  const libraryFile = (record: Readonly<AudioFile>): RangeFile => ({
    ...options.library.storage.rangeBytes(options.library.audioName(record)),
    size: record.fileSize,
    mtime: new Date(record.createdAt),
    contentType: record.mimeType,
    etag: `"${record.sha256 ?? `${record.id}-${record.fileSize}`}"`,
  });

  const send = async (
    req: IncomingMessage,
    res: ServerResponse,
    file: RangeFile,
    cacheControl: string,
    scope: { deviceId?: string; scriptId?: string },
    onFailure: (status: number, reason: 'missing_on_disk' | 'storage_unavailable') => void,
  ): Promise<void> => {
    const flight = { res, ...scope };
    inFlight.add(flight);
    const work = sendFileRange(req, res, file, { cacheControl });
    pending.add(work);
    try {
      await work;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        logger.warn('stream file missing from the storage', { path: file.path, storage: options.library.storage.location });
        onFailure(404, 'missing_on_disk');
        throw ApiError.notFound('audio file');
      }
      if (error instanceof StorageUnavailableError) {
        logger.warn('stream storage unavailable', { storage: options.library.storage.location, err: error });
        onFailure(503, 'storage_unavailable');
      }
      throw error;
    } finally {
      pending.delete(work);
      inFlight.delete(flight);
    }
  };

  const method = (req: IncomingMessage): string => req.method ?? 'GET';

  const audio = async (req: IncomingMessage, res: ServerResponse, fileId: string, query: ParsedUrlQuery): Promise<void> => {
    const scope = authorize(req, query, { kind: 'audio', fileId }, fileId);
    const record = options.library.peek(fileId);
    if (!record) {
      report({ kind: 'audio', id: fileId, method: method(req), status: 404, reason: 'not_found', ...scope });
      throw ApiError.notFound('audio file');
    }
    await send(req, res, libraryFile(record), 'private, no-cache', scope, (status, reason) => report({ kind: 'audio', id: fileId, method: method(req), status, reason, fileId, ...scope }));
    report({ kind: 'audio', id: fileId, method: method(req), status: res.statusCode, fileId, ...scope });
  };

  const smartStream = async (req: IncomingMessage, res: ServerResponse, streamId: string, query: ParsedUrlQuery): Promise<void> => {
    const scope = authorize(req, query, { kind: 'smart', streamId }, streamId);
    // A new play is a GET from the first byte; HEAD and later ranges of the same play must not advance a playlist.
    const range = req.headers.range;
    const startsPlay = req.method === 'GET' && (range === undefined || /^\s*bytes\s*=\s*0\s*-/i.test(range));
    const choice = startsPlay ? smart.next(streamId) : smart.peek(streamId);
    const record = choice ? options.library.peek(choice.fileId) : undefined;
    if (!choice || !record) {
      report({ kind: 'smart', id: streamId, method: method(req), status: 404, reason: 'not_found', ...scope });
      throw ApiError.notFound(choice ? 'audio file' : `smart stream "${streamId}" (or nothing to play)`);
    }
    res.setHeader('X-Smart-Rule', choice.rule);
    await send(req, res, libraryFile(record), 'no-store', scope, (status, reason) => report({ kind: 'smart', id: streamId, method: method(req), status, reason, fileId: record.id, ...scope }));
    report({ kind: 'smart', id: streamId, method: method(req), status: res.statusCode, fileId: record.id, ...scope });
  };

  let speechFiles: (key: string) => RangeFile | undefined = () => undefined;
  const speech = async (req: IncomingMessage, res: ServerResponse, key: string, query: ParsedUrlQuery): Promise<void> => {
    const scope = authorize(req, query, { kind: 'speech', key }, key);
    const file = speechFiles(key);
    if (!file) {
      report({ kind: 'speech', id: key, method: method(req), status: 404, reason: 'not_found', ...scope });
      throw ApiError.notFound('speech audio (expired from the cache?)');
    }
    // The bytes under a key never change (the key is a hash of what was rendered): players may keep them.
    await send(req, res, file, 'private, max-age=86400, immutable', scope, (status, reason) => report({ kind: 'speech', id: key, method: method(req), status, reason, ...scope }));
    report({ kind: 'speech', id: key, method: method(req), status: res.statusCode, ...scope });
  };

  // GET and HEAD (sendFileRange sends no body for HEAD); any other path or method answers 404 "stream not found".
  const routes: DirectRoutes = {
    routes: [
      { path: '/audio/:fileId', handle: audio },
      { path: '/smart/:streamId', handle: smartStream },
      { path: '/speech/:key', handle: speech },
    ],
    notFound: 'stream',
  };

  return {
    routes,
    urlFor(target, scope = {}) {
      return urlOf(target, tokens.sign(target, { ...scope, expiresInSeconds: scope.expiresInSeconds ?? urlLifetimeSeconds }));
    },
    urlLifetimeSeconds,
    urlExpiry(url) {
      const parsed = parseStreamUrl(url);
      const check = parsed ? tokens.inspect(parsed.token, parsed.target) : undefined;
      if (!check?.ok) return undefined;
      return { expiresAt: check.grant.expiresAt !== undefined ? check.grant.expiresAt * 1000 : undefined };
    },
    renewUrl(url) {
      const parsed = parseStreamUrl(url);
      const token = parsed ? tokens.renew(parsed.token, parsed.target, urlLifetimeSeconds) : undefined;
      return parsed && token !== undefined ? urlOf(parsed.target, token) : undefined;
    },
    useSpeechFiles(lookup) {
      speechFiles = lookup;
    },
    async revokeDevice(deviceId) {
      const persisted = tokens.revokeDevice(deviceId);
      cutOff((scope) => scope.deviceId === deviceId);
      await persisted;
      logger.info('stream URLs of a player revoked', { deviceId });
    },
    async revokeScript(scriptId) {
      const persisted = tokens.revokeScript(scriptId);
      cutOff((scope) => scope.scriptId === scriptId);
      await persisted;
    },
    smart,
    events,
    async close() {
      await Promise.allSettled([...pending]);
      await Promise.all([tokens.idle(), smart.idle()]);
    },
  };
}

/** The target and token of a URL of the form urlFor makes (any origin); undefined for anything else. */
function parseStreamUrl(url: string): { target: StreamTarget; token: string } | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const token = parsed.searchParams.get('t');
  const parts = parsed.pathname.split('/');
  const [kind, encodedId] = parts.slice(-2);
  if (token === null || parts.at(-3) !== 'stream' || encodedId === undefined || encodedId === '') return undefined;
  let id: string;
  try {
    id = decodeURIComponent(encodedId);
  } catch {
    return undefined;
  }
  if (kind === 'audio') return { target: { kind: 'audio', fileId: id }, token };
  if (kind === 'smart') return { target: { kind: 'smart', streamId: id }, token };
  if (kind === 'speech') return { target: { kind: 'speech', key: id }, token };
  return undefined;
}
