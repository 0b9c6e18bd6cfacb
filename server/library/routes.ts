import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Request, type Response, type Router } from 'express';
import { ApiError } from '../http/api-error';
import { mayAccess, requestUser } from '../http/request-user';
import type { Logger } from '../log/logger';
import { isStoreError } from '../store';
import type { AudioFile } from '../types/schemas';
import { AUDIO_SORT_KEYS, coverTypeOf, type AudioLibrary, type AudioListQuery, type AudioSortKey, type AudioUpdate } from './audio-library';
import { contentDisposition, MAX_ORIGINAL_NAME } from './file-name';
import { sendFileRange } from './range-response';
import { receiveUpload, UploadRejected } from './upload';

export interface AudioRoutesOptions {
  library: AudioLibrary;
  logger: Logger;
  maxUploadBytes: number;
  /** The name of a script that uses the file, when one does: deleting it is refused. */
  isInUse: (fileId: string) => string | undefined;
  /** Told about every upload under way, so close() can wait for it. */
  track?: (work: Promise<unknown>) => void;
  /** When true, uploads answer 503. */
  isClosed?: () => boolean;
}

/** Multipart framing and the title field on top of the file itself. */
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;
/** After refusing an upload, at most this much more of its body is read (so the client sees the answer) before the connection is cut. */
const MAX_DISCARD_BYTES = 8 * 1024 * 1024;

/**
 * The audio library's REST routes, mounted at /api/audio. Every route needs
 * a signed-in user (`res.locals.user`); members see their own files only,
 * admins every file; another user's file answers 404.
 */
export function audioRoutes(options: AudioRoutesOptions): Router {
  const { library, maxUploadBytes } = options;
  const router = express.Router();

  const findFile = (req: Request, res: Response): AudioFile => {
    const user = requestUser(res);
    const id = String(req.params['id']);
    const record = library.get(id);
    if (!record || !mayAccess(user, record.userId)) throw ApiError.notFound('audio file');
    return record;
  };

  router.post('/', async (req, res) => {
    let done: () => void = () => undefined;
    options.track?.(new Promise<void>((resolve) => { done = resolve; }));
    try {
      const user = requestUser(res);
      if (options.isClosed?.()) throw new ApiError(503, 'shutting_down', 'the hub is shutting down; try again shortly');
      const declared = Number(req.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxUploadBytes + MULTIPART_OVERHEAD_BYTES) {
        throw new UploadRejected(413, 'file_too_large', `the file is larger than the limit of ${maxUploadBytes} bytes`);
      }
      const upload = await receiveUpload(req, { incomingDir: library.incomingDir, maxBytes: maxUploadBytes });
      const record = await library.addFromIncoming(upload.tempPath, {
        userId: user.id,
        ...(upload.clientFileName !== undefined ? { originalName: upload.clientFileName } : {}),
        ...(upload.title !== undefined ? { title: upload.title } : {}),
        sha256: upload.sha256,
      });
      res.status(201).location(`${req.baseUrl}/${record.id}`).json(record);
    } catch (error) {
      if (!req.complete) discardRestOfBody(req, res);
      throw error;
    } finally {
      done();
    }
  });

  router.get('/', (req, res) => {
    const user = requestUser(res);
    const query = parseListQuery(req.query);
    res.json(library.list({ ...query, ...(user.role === 'admin' ? {} : { userId: user.id }) }));
  });

  router.get('/:id', (req, res) => {
    res.json(findFile(req, res));
  });

  router.patch('/:id', async (req, res) => {
    const record = findFile(req, res);
    const patch = parseUpdate(req.body);
    try {
      res.json(await library.update(record.id, patch));
    } catch (error) {
      if (isStoreError(error) && error.code === 'not_found') throw ApiError.notFound('audio file');
      throw error;
    }
  });

  router.delete('/:id', async (req, res) => {
    const record = findFile(req, res);
    const script = options.isInUse(record.id);
    if (script !== undefined) {
      throw new ApiError(409, 'file_in_use', `"${record.title}" is used by the script "${script}"; remove it from the script first`);
    }
    await library.remove(record.id);
    res.status(204).end();
  });

  router.get('/:id/download', async (req, res) => {
    const record = findFile(req, res);
    await sendAudio(req, res, record, { 'Content-Disposition': contentDisposition(record.originalName) });
  });

  router.get('/:id/stream', async (req, res) => {
    const record = findFile(req, res);
    await sendAudio(req, res, record);
  });

  router.get('/:id/cover', async (req, res) => {
    const record = findFile(req, res);
    if (!record.hasCover) throw ApiError.notFound('cover');
    const name = library.coverName(record);
    let stat;
    let contentType;
    try {
      stat = await library.storage.stat(name);
      contentType = await coverTypeOf(library.storage, name);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw ApiError.notFound('cover');
      throw error;
    }
    if (!contentType) throw ApiError.notFound('cover');
    await sendFileRange(req, res, {
      ...library.storage.rangeBytes(name),
      size: stat.size,
      mtime: stat.modified,
      contentType,
      etag: `"${record.sha256 ?? record.id}-cover-${stat.size}"`,
    }, { cacheControl: 'private, no-cache' });
  });

  async function sendAudio(req: IncomingMessage, res: ServerResponse, record: AudioFile, headers?: Record<string, string>): Promise<void> {
    try {
      await sendFileRange(req, res, {
        ...library.storage.rangeBytes(library.audioName(record)),
        size: record.fileSize,
        mtime: new Date(record.createdAt),
        contentType: record.mimeType,
        // Stored files never change (a new upload gets a new id), so the content hash is a strong validator.
        etag: `"${record.sha256 ?? `${record.id}-${record.fileSize}`}"`,
      }, { cacheControl: 'private, no-cache', ...(headers ? { headers } : {}) });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        options.logger.warn('audio file missing from the storage', { id: record.id, fileName: record.fileName, storage: library.storage.location });
        throw ApiError.notFound('audio file');
      }
      throw error;
    }
  }

  return router;
}

/**
 * After an upload was refused before its body was read: answer with
 * Connection: close and read (discard) what the client still sends, up to a
 * cap, so it sees the answer rather than a reset; then cut the connection.
 */
function discardRestOfBody(req: IncomingMessage, res: ServerResponse): void {
  if (!res.headersSent) res.setHeader('Connection', 'close');
  let discarded = 0;
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > MAX_DISCARD_BYTES) req.socket.destroy();
  });
  req.on('error', () => undefined);
  req.resume();
}

function single(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  throw new ApiError(400, 'invalid_query', `give "${name}" once`, [{ path: `/${name}`, message: 'must be a single value' }]);
}

function positiveInteger(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new ApiError(400, 'invalid_query', `"${name}" must be a whole number from 1`, [{ path: `/${name}`, message: 'must be an integer >= 1' }]);
  }
  return n;
}

export function parseListQuery(query: Record<string, unknown>): Omit<AudioListQuery, 'userId'> {
  const result: Omit<AudioListQuery, 'userId'> = {};
  const q = single(query['q'], 'q');
  if (q !== undefined && q.trim() !== '') result.q = q;
  const sort = single(query['sort'], 'sort');
  if (sort !== undefined && sort !== '') {
    const descending = sort.startsWith('-');
    const key = descending ? sort.slice(1) : sort;
    if (!(AUDIO_SORT_KEYS as readonly string[]).includes(key)) {
      throw new ApiError(400, 'invalid_query', `"sort" must be one of ${AUDIO_SORT_KEYS.join(', ')}, with "-" in front for descending`, [
        { path: '/sort', message: `unknown sort key "${key}"` },
      ]);
    }
    result.sort = key as AudioSortKey;
    result.descending = descending;
  }
  const page = positiveInteger(single(query['page'], 'page'), 'page');
  if (page !== undefined) result.page = page;
  const pageSize = positiveInteger(single(query['pageSize'], 'pageSize'), 'pageSize');
  if (pageSize !== undefined) result.pageSize = pageSize;
  return result;
}

export function parseUpdate(body: unknown): AudioUpdate {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ApiError(400, 'invalid_body', 'send a JSON object with "title" and/or "tags"');
  }
  const input = body as Record<string, unknown>;
  const details = Object.keys(input)
    .filter((key) => key !== 'title' && key !== 'tags')
    .map((key) => ({ path: `/${key}`, message: 'cannot be changed (only title and tags)' }));
  const patch: AudioUpdate = {};
  if (input['title'] !== undefined) {
    const title = input['title'];
    if (typeof title !== 'string' || title.trim() === '' || title.length > MAX_ORIGINAL_NAME) {
      details.push({ path: '/title', message: 'must be a string of 1 to 255 characters' });
    } else {
      patch.title = title.trim();
    }
  }
  if (input['tags'] !== undefined) {
    const tags = input['tags'];
    if (typeof tags !== 'object' || tags === null || Array.isArray(tags)) {
      details.push({ path: '/tags', message: 'must be an object of strings' });
    } else {
      const clean: Record<string, string> = {};
      for (const [key, value] of Object.entries(tags as Record<string, unknown>)) {
        if (typeof value !== 'string') details.push({ path: `/tags/${key}`, message: 'must be a string' });
        else clean[key] = value;
      }
      patch.tags = clean;
    }
  }
  if (details.length > 0) throw new ApiError(400, 'validation_failed', `invalid change: ${details.map((d) => `${d.path} ${d.message}`).join('; ')}`, details);
  if (patch.title === undefined && patch.tags === undefined) throw new ApiError(400, 'invalid_body', 'nothing to change: send "title" and/or "tags"');
  return patch;
}
