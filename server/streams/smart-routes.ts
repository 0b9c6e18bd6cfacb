import { randomUUID } from 'node:crypto';
import express, { type Request, type Router } from 'express';
import { ApiError, type ErrorDetail } from '../http/api-error';
import { mayAccess, requestUser, type RequestUser } from '../http/request-user';
import type { AudioLibrary } from '../library';
import type { Logger } from '../log/logger';
import type { StreamService } from './index';
import type { SmartChoice, SmartStream, SmartStreamDefinition, SmartWindow } from './smart-streams';

export interface SmartStreamRoutesOptions {
  streams: Pick<StreamService, 'smart'>;
  /** The library's files: a definition may only name files its owner may use. */
  library: Pick<AudioLibrary, 'get'>;
  logger: Logger;
  /**
   * The name of a script that plays this smart stream, if any: such a stream
   * cannot be deleted (409). The hub passes one that looks through
   * store.scripts (playlist tracks with `smartStreamId`).
   */
  isInUse: (streamId: string) => string | undefined;
}

/** A smart stream as the API answers it: the stream and what it would play now. */
export type SmartStreamView = SmartStream & { current?: SmartChoice };

const DEFINITION_FIELDS = new Set(['id', 'name', 'windows', 'playlist', 'fallbackFileId']);
/** Fields the hub manages: ignored in a body. */
const MANAGED_FIELDS = new Set(['userId', 'position', 'value', 'current']);
const ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * Smart streams over REST, mounted at /api/streams/smart (after the auth
 * middleware). Members see and change their own streams, admins every one;
 * a stream with no owner (defined by a flow) is visible to everyone and
 * changed by admins only. Another member's stream answers 404.
 *   GET /                 list: {items, total}
 *   POST /                define (201); `id` optional (a UUID is made), 409 if taken
 *   GET /:id              the stream and what it plays now (`current`)
 *   PUT /:id              replace the definition (playlist position and value kept); creates it (201) when new
 *   DELETE /:id           204; 409 while a script plays it
 *   PUT /:id/value        {fileId}: what it plays from now on; {fileId: null} clears it
 *   DELETE /:id/value     clears the value (the rules apply again)
 * Errors are 4xx `{error: {code, message, details}}` with details naming each bad field.
 */
export function smartStreamRoutes(options: SmartStreamRoutesOptions): Router {
  const { streams, library } = options;
  const smart = streams.smart;
  const logger = options.logger.child({ part: 'smart-streams' });
  const router = express.Router();

  const visible = (user: RequestUser, stream: SmartStream): boolean => stream.userId === undefined || mayAccess(user, stream.userId);
  const writable = (user: RequestUser, stream: SmartStream): boolean => mayAccess(user, stream.userId);

  const find = (user: RequestUser, id: string): SmartStream => {
    const stream = smart.get(id);
    if (!stream || !visible(user, stream)) throw ApiError.notFound(`smart stream "${id}"`);
    return stream;
  };
  const findWritable = (user: RequestUser, id: string): SmartStream => {
    const stream = find(user, id);
    if (!writable(user, stream)) throw new ApiError(403, 'forbidden', `smart stream "${id}" belongs to no one (a flow made it); only an admin can change it`);
    return stream;
  };
  const view = (stream: SmartStream): SmartStreamView => {
    const current = smart.peek(stream.id);
    return { ...stream, ...(current ? { current } : {}) };
  };

  /** Every file a definition names must be one its owner may use (a missing file and another's file read the same). */
  const checkFiles = (definition: SmartStreamDefinition, owner: RequestUser): void => {
    const details: ErrorDetail[] = [];
    const file = (fileId: string, where: string): void => {
      const record = library.get(fileId);
      if (!record || !mayAccess(owner, record.userId)) details.push({ path: where, message: `names no audio file ("${fileId}")` });
    };
    definition.windows?.forEach((w, i) => file(w.fileId, `/windows/${i}/fileId`));
    definition.playlist?.forEach((id, i) => file(id, `/playlist/${i}`));
    if (definition.fallbackFileId !== undefined) file(definition.fallbackFileId, '/fallbackFileId');
    if (details.length > 0) throw invalid(details);
  };

  const define = async (definition: SmartStreamDefinition, owner: RequestUser): Promise<SmartStream> => {
    checkFiles(definition, owner);
    return smart.define(definition);
  };

  router.get('/', (_req, res) => {
    const user = requestUser(res);
    const items = smart.list().filter((s) => visible(user, s)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map(view);
    res.json({ items, total: items.length });
  });

  router.post('/', async (req, res) => {
    const user = requestUser(res);
    const parsed = parseDefinition(req, undefined);
    const id = parsed.id ?? randomUUID();
    if (smart.get(id)) throw new ApiError(409, 'conflict', `a smart stream "${id}" already exists; PUT /api/streams/smart/${id} replaces it`, [{ path: '/id', message: 'is taken' }]);
    const saved = await define({ ...parsed, id, userId: user.id }, user);
    logger.info('smart stream defined', { id, userId: user.id });
    res.status(201).json(view(saved));
  });

  router.get('/:id', (req, res) => {
    res.json(view(find(requestUser(res), String(req.params['id']))));
  });

  router.put('/:id', async (req, res) => {
    const user = requestUser(res);
    const id = String(req.params['id']);
    const parsed = parseDefinition(req, id);
    const existing = smart.get(id);
    if (existing) {
      findWritable(user, id);
      const owner: RequestUser = existing.userId === undefined || existing.userId === user.id ? user : { id: existing.userId, email: '', role: 'member' };
      const saved = await define({ ...parsed, id, ...(existing.userId !== undefined ? { userId: existing.userId } : {}) }, owner);
      logger.info('smart stream replaced', { id, by: user.id });
      res.json(view(saved));
      return;
    }
    if (!ID.test(id)) throw invalid([{ path: '/id', message: "must be 1 to 128 letters, digits, '-' or '_'" }]);
    const saved = await define({ ...parsed, id, userId: user.id }, user);
    logger.info('smart stream defined', { id, userId: user.id });
    res.status(201).json(view(saved));
  });

  router.delete('/:id', async (req, res) => {
    const user = requestUser(res);
    const stream = findWritable(user, String(req.params['id']));
    const usedBy = options.isInUse(stream.id);
    if (usedBy !== undefined) throw new ApiError(409, 'in_use', `smart stream "${stream.id}" is played by script "${usedBy}"; remove it from the script first`);
    await smart.remove(stream.id);
    logger.info('smart stream removed', { id: stream.id, by: user.id });
    res.status(204).end();
  });

  const setValue = async (user: RequestUser, id: string, fileId: string | undefined): Promise<SmartStreamView> => {
    const stream = findWritable(user, id);
    if (fileId !== undefined) {
      const owner: RequestUser = stream.userId === undefined || stream.userId === user.id ? user : { id: stream.userId, email: '', role: 'member' };
      const record = library.get(fileId);
      if (!record || !mayAccess(owner, record.userId)) throw invalid([{ path: '/fileId', message: `names no audio file ("${fileId}")` }]);
    }
    await smart.setValue(id, fileId);
    return view(smart.get(id)!);
  };

  router.put('/:id/value', async (req, res) => {
    const user = requestUser(res);
    const body = bodyObject(req);
    const details: ErrorDetail[] = [];
    for (const key of Object.keys(body)) if (key !== 'fileId') details.push({ path: `/${key}`, message: 'is not a field of a value (send {"fileId": "..."})' });
    const fileId = body['fileId'];
    if (fileId === undefined) details.push({ path: '/fileId', message: 'is required: an audio file id, or null to clear the value' });
    else if (fileId !== null && (typeof fileId !== 'string' || !ID.test(fileId))) details.push({ path: '/fileId', message: 'must be an audio file id or null' });
    if (details.length > 0) throw invalid(details);
    res.json(await setValue(user, String(req.params['id']), typeof fileId === 'string' ? fileId : undefined));
  });

  router.delete('/:id/value', async (req, res) => {
    res.json(await setValue(requestUser(res), String(req.params['id']), undefined));
  });

  return router;
}

function invalid(details: ErrorDetail[]): ApiError {
  return new ApiError(400, 'validation_failed', `invalid smart stream: ${details.map((d) => `${d.path} ${d.message}`).join('; ')}`, details);
}

function bodyObject(req: Request): Record<string, unknown> {
  const body: unknown = req.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ApiError(400, 'validation_failed', 'send a JSON object (Content-Type: application/json)', [{ path: '', message: 'must be a JSON object' }]);
  }
  return body as Record<string, unknown>;
}

/**
 * `body[key]` as an array of parsed entries: each entry goes through `entry` with its path, which
 * answers undefined (and records why in `details`) for a bad one. Undefined when the field is absent
 * or, recording `notArray`, not an array.
 */
function arrayField<T>(body: Record<string, unknown>, key: string, notArray: string, details: ErrorDetail[], entry: (value: unknown, at: string) => T | undefined): T[] | undefined {
  const value = body[key];
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) {
    details.push({ path: `/${key}`, message: notArray });
    return undefined;
  }
  const parsed: T[] = [];
  value.forEach((item: unknown, i) => {
    const ok = entry(item, `/${key}/${i}`);
    if (ok !== undefined) parsed.push(ok);
  });
  return parsed;
}

/** One entry of `windows`: {from, to, fileId} as strings and nothing else (SmartStreams.define checks the values). */
function parseWindow(w: unknown, at: string, details: ErrorDetail[]): SmartWindow | undefined {
  if (typeof w !== 'object' || w === null || Array.isArray(w)) {
    details.push({ path: at, message: 'must be an object {from, to, fileId}' });
    return undefined;
  }
  const window = w as Record<string, unknown>;
  let ok = true;
  for (const key of ['from', 'to', 'fileId'] as const) {
    if (typeof window[key] !== 'string') {
      details.push({ path: `${at}/${key}`, message: key === 'fileId' ? 'must be an audio file id' : 'must be a time "HH:MM"' });
      ok = false;
    }
  }
  for (const key of Object.keys(window)) {
    if (key !== 'from' && key !== 'to' && key !== 'fileId') {
      details.push({ path: `${at}/${key}`, message: 'is not a field of a window (from, to, fileId)' });
      ok = false;
    }
  }
  return ok ? { from: window['from'] as string, to: window['to'] as string, fileId: window['fileId'] as string } : undefined;
}

/** The body as a definition (types only; SmartStreams.define checks times, ids and that files exist). */
function parseDefinition(req: Request, pathId: string | undefined): Omit<SmartStreamDefinition, 'id'> & { id?: string } {
  const body = bodyObject(req);
  const details: ErrorDetail[] = [];
  for (const key of Object.keys(body)) {
    if (!DEFINITION_FIELDS.has(key) && !MANAGED_FIELDS.has(key)) details.push({ path: `/${key}`, message: 'is not a field of a smart stream (id, name, windows, playlist, fallbackFileId)' });
  }
  const result: Omit<SmartStreamDefinition, 'id'> & { id?: string } = {};
  const id = body['id'];
  if (id !== undefined) {
    if (typeof id !== 'string' || !ID.test(id)) details.push({ path: '/id', message: "must be 1 to 128 letters, digits, '-' or '_'" });
    else if (pathId !== undefined && id !== pathId) details.push({ path: '/id', message: `must be the id in the URL ("${pathId}") or left out` });
    else result.id = id;
  }
  const name = body['name'];
  if (name !== undefined) {
    if (typeof name !== 'string' || name.length === 0 || name.length > 255) details.push({ path: '/name', message: 'must be 1 to 255 characters' });
    else result.name = name;
  }
  const windows = arrayField(body, 'windows', 'must be an array of {from, to, fileId}', details, (entry, at) => parseWindow(entry, at, details));
  if (windows) result.windows = windows;
  const playlist = arrayField(body, 'playlist', 'must be an array of audio file ids', details, (entry, at) => {
    if (typeof entry === 'string') return entry;
    details.push({ path: at, message: 'must be an audio file id' });
    return undefined;
  });
  if (playlist) result.playlist = playlist;
  const fallback = body['fallbackFileId'];
  if (fallback !== undefined) {
    if (typeof fallback !== 'string') details.push({ path: '/fallbackFileId', message: 'must be an audio file id' });
    else result.fallbackFileId = fallback;
  }
  if (details.length > 0) throw invalid(details);
  return result;
}
