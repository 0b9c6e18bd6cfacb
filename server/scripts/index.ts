import { randomUUID } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import type { ScriptPlayRequest } from '../bridge/command-mapping';
import { SYSTEM_OWNERS } from '../accounts/user-content';
import type { CloudConnection } from '../cloud/cloud-connection';
import { ApiError, type ErrorDetail } from '../http/api-error';
import { mayAccess, requestUser, type RequestUser } from '../http/request-user';
import type { AudioLibrary } from '../library';
import type { Logger } from '../log/logger';
import { mayUseDevice, ownerAsUser } from '../devices/ownership';
import type { Store } from '../store';
import type { StreamService } from '../streams';
import { compileToCard, StoryCompileError } from '../stories/compile-card';
import type { Story } from '../stories/model';
import type { Script } from '../types/schemas';
import { getValidator } from '../validation';
import { readImageInfo } from '../virtual/http/media/image-info';
import type { CardInput, YotoCard } from '../yoto/card';
import { DeviceCommandError, type CommandResult, type DeviceCommand } from '../yoto/device-command';
import { YotoApiError, YotoNetworkError } from '../yoto/rest/errors';
import { realClock, type Clock } from '../time/clock';
import { cardFormatOf, playlistCard, simpleCard, storyFileIds, type CardBuildContext, type ResolvedSource } from './build-card';
import { CardRenewal } from './card-renewal';

export { paddedKeys } from './build-card';
export { CardRenewal, RENEWAL_CHECK_MS, type CardRenewed, type CardRenewalEvents } from './card-renewal';

export interface ScriptsOptions {
  store: Store;
  library: Pick<AudioLibrary, 'get'>;
  streams: Pick<StreamService, 'urlFor' | 'revokeScript' | 'smart' | 'urlExpiry' | 'renewUrl' | 'urlLifetimeSeconds'>;
  cloud: Pick<CloudConnection, 'api' | 'execute'>;
  logger: Logger;
  now?: () => Date;
  /** The clock the renewal of deployed cards' stream URLs runs on (default the real one). */
  clock?: Clock;
}

/** What a deploy may add to the play command. */
export interface DeployOptions {
  chapterKey?: string;
  trackKey?: string;
  secondsIn?: number;
  /** 0..100; default: the script's options.volume */
  volume?: number;
  /** 0..86400; default: the script's options.sleepTimerSeconds */
  sleepSeconds?: number;
}

export interface DeployResult {
  scriptId: string;
  deviceId: string;
  cardId: string;
  /** The player's confirmation of the play command. */
  result: CommandResult;
  volume?: CommandResult;
  sleep?: CommandResult;
}

export interface ScriptsService {
  /** Mount at /api/scripts, after the auth middleware: `server.mountApi('/scripts', scripts.router)`. */
  router: Router;
  /** Mount at /api/icons: `server.mountApi('/icons', scripts.iconsRouter)`. */
  iconsRouter: Router;
  /** Creates or updates the script's MYO card (stream tracks with signed hub URLs), then plays it on the device. */
  deploy(scriptId: string, deviceId: string, user: RequestUser, options?: DeployOptions): Promise<DeployResult>;
  /**
   * Plays a stored script on a player (the `play` command with `script_id`, on every surface), with the
   * same ownership rules as deploy. `user` is who asks; the house's own requests (the home broker) act as
   * the script's owner.
   */
  playScript(deviceId: string, request: ScriptPlayRequest, user?: RequestUser): Promise<DeployResult>;
  /**
   * The card deploying this story would upload (through its cyoa script, or as a first deploy would
   * make it), its stream URLs signed for `deviceId` when given. Throws ApiError 422 when it cannot be built.
   */
  storyCard(story: Story, deviceId?: string): CardInput;
  /** The name of a script (or smart stream) that uses the file, for the library's delete check: `createAudioLibrary({ isInUse: scripts.isFileInUse })`. */
  isFileInUse(fileId: string): string | undefined;
  /** The name of a playlist script that plays the smart stream, for the smart stream delete check. */
  isSmartStreamInUse(streamId: string): string | undefined;
  /** Renews the stream URLs on deployed cards before they expire; the hub start()s and stop()s it. */
  renewal: CardRenewal;
}

/** Fields the hub manages; a body's values for them are ignored. */
const MANAGED_FIELDS = ['id', 'userId', 'cardId', 'createdAt', 'updatedAt'] as const;
const MAX_ICON_BYTES = 64 * 1024;

/**
 * Scripts (simple, playlist, cyoa) with ownership checks, their deploy to a
 * Yoto MYO card of streaming tracks, and display icons.
 */
export function createScripts(options: ScriptsOptions): ScriptsService {
  const { store, library, streams, cloud } = options;
  const logger = options.logger.child({ part: 'scripts' });
  const now = options.now ?? (() => new Date());
  const validator = getValidator();
  /** Saves of each card, one at a time: a renewal and a deploy of the same card never undo each other. */
  const cardSaves = new Map<string, Promise<unknown>>();
  const exclusive = <T>(cardId: string | undefined, work: () => Promise<T>): Promise<T> => {
    if (cardId === undefined) return work();
    const previous = cardSaves.get(cardId) ?? Promise.resolve();
    const next = previous.then(work);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    cardSaves.set(cardId, settled);
    void settled.then(() => {
      if (cardSaves.get(cardId) === settled) cardSaves.delete(cardId);
    });
    return next;
  };

  const findScript = (user: RequestUser, id: string): Script => {
    const script = store.scripts.get(id);
    if (!script || !mayAccess(user, script.userId)) throw ApiError.notFound('script');
    return script;
  };

  /** References to files, smart streams and stories must name things the owner may use. */
  const checkReferences = (script: Script, owner: RequestUser): void => {
    const details: ErrorDetail[] = [];
    const file = (id: string | undefined, path: string): void => {
      if (id === undefined) return;
      const record = library.get(id);
      if (!record || !mayAccess(owner, record.userId)) details.push({ path, message: `names no audio file ("${id}")` });
    };
    if (script.type === 'simple') file(script.definition.audioFileId, 'definition.audioFileId');
    if (script.type === 'playlist') {
      script.definition.tracks.forEach((track, i) => {
        file(track.audioFileId, `definition.tracks[${i}].audioFileId`);
        if (track.smartStreamId !== undefined) {
          const smart = streams.smart.get(track.smartStreamId);
          if (!smart || (smart.userId !== undefined && !mayAccess(owner, smart.userId))) {
            details.push({ path: `definition.tracks[${i}].smartStreamId`, message: `names no smart stream ("${track.smartStreamId}")` });
          }
        }
      });
    }
    if (script.type === 'cyoa') {
      const story = store.stories.get(script.definition.storyId);
      if (!story || !mayAccess(owner, story.userId)) details.push({ path: '/definition/storyId', message: `names no story ("${script.definition.storyId}")` });
    }
    if (details.length > 0) throw new ApiError(400, 'validation_failed', `script is invalid: ${details.map((d) => `${d.path} ${d.message}`).join('; ')}`, details);
  };

  const bodyObject = (req: Request): Record<string, unknown> => {
    const body: unknown = req.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new ApiError(400, 'validation_failed', 'send a JSON object (Content-Type: application/json)', [{ path: '', message: 'must be a JSON object' }]);
    }
    const copy = { ...(body as Record<string, unknown>) };
    for (const field of MANAGED_FIELDS) delete copy[field];
    return copy;
  };

  const ownerOf = (script: Script, fallback: RequestUser): RequestUser =>
    script.userId === fallback.id ? fallback : ownerAsUser(store.users, script.userId);

  // ---- deploy ----

  const api = (): NonNullable<CloudConnection['api']> => {
    const current = cloud.api;
    if (!current) throw new ApiError(503, 'cloud_unavailable', 'the hub is not connected to a Yoto cloud right now (signing in, or starting)');
    return current;
  };

  const buildCard = (script: Script, deviceId: string | undefined, cardId: string | undefined): CardInput => {
    const scope = { ...(deviceId !== undefined ? { deviceId } : {}), scriptId: script.id };
    const owner = ownerAsUser(store.users, script.userId);
    const context: CardBuildContext = {
      ...(cardId !== undefined ? { cardId } : {}),
      source(ref, path): ResolvedSource {
        if (ref.smartStreamId !== undefined) {
          const smart = streams.smart.get(ref.smartStreamId);
          if (!smart) throw new ApiError(422, 'missing_reference', `smart stream "${ref.smartStreamId}" no longer exists`, [{ path: `${path}.smartStreamId`, message: 'names no smart stream' }]);
          const peek = streams.smart.peek(ref.smartStreamId);
          const sample = peek ? library.get(peek.fileId) : undefined;
          return { kind: 'smart', streamId: smart.id, url: streams.urlFor({ kind: 'smart', streamId: smart.id }, scope), ...(sample ? { sample } : {}) };
        }
        const fileId = ref.audioFileId ?? '';
        const file = library.get(fileId);
        const filePath = path.endsWith('audioFileId') ? path : `${path}.audioFileId`;
        if (!file || !mayAccess(owner, file.userId)) throw new ApiError(422, 'missing_reference', `audio file "${fileId}" no longer exists`, [{ path: filePath, message: 'names no audio file' }]);
        return { kind: 'file', file, url: streams.urlFor({ kind: 'audio', fileId: file.id }, scope) };
      },
    };
    if (script.type === 'simple') return simpleCard(script, context);
    if (script.type === 'playlist') return playlistCard(script, context);
    const story = store.stories.get(script.definition.storyId);
    if (!story) throw new ApiError(422, 'missing_reference', `story "${script.definition.storyId}" no longer exists`, [{ path: '/definition/storyId', message: 'names no story' }]);
    let format: 'mp3' | 'aac' | 'ogg' | 'opus' | undefined;
    try {
      const compiled = compileToCard(story, {
        ...(cardId !== undefined ? { cardId } : {}),
        trackUrl: (node) => {
          const source = context.source({ ...(node.audioFileId !== undefined ? { audioFileId: node.audioFileId } : {}) }, `story.nodes[${node.id}]`);
          if (source.kind === 'file') {
            const nodeFormat = cardFormatOf(source.file, `story.nodes[${node.id}].audioFileId`);
            if (format !== undefined && nodeFormat !== format) throw new ApiError(422, 'mixed_formats', 'every passage of a story card must have the same audio format');
            format = nodeFormat;
          }
          return source.url;
        },
        duration: (node) => {
          const file = node.audioFileId !== undefined ? library.get(node.audioFileId) : undefined;
          return file ? Math.round(file.durationSeconds) : undefined;
        },
      });
      const card = compiled.card;
      card.title = script.name.slice(0, 100);
      if (format !== undefined) for (const chapter of card.content.chapters) for (const track of chapter.tracks) track.format = format;
      return card;
    } catch (error) {
      if (error instanceof StoryCompileError) throw new ApiError(422, error.code, error.message);
      throw error;
    }
  };

  const saveCard = async (card: CardInput): Promise<YotoCard> => {
    try {
      return await api().saveCard(card);
    } catch (error) {
      if (error instanceof YotoApiError && error.status === 404 && card.cardId !== undefined) {
        // The card was deleted on the cloud (in the app): make a new one.
        const { cardId: _gone, ...fresh } = card;
        logger.info('deployed card is gone from the cloud; creating a new one', { cardId: _gone });
        return saveCardOnce(fresh);
      }
      throw cloudError(error, 'saving the card');
    }
  };
  const saveCardOnce = async (card: CardInput): Promise<YotoCard> => {
    try {
      return await api().saveCard(card);
    } catch (error) {
      throw cloudError(error, 'saving the card');
    }
  };

  const run = async (deviceId: string, command: DeviceCommand): Promise<CommandResult> => {
    try {
      return await cloud.execute(deviceId, command);
    } catch (error) {
      throw commandError(error);
    }
  };

  const deploy = async (scriptId: string, deviceId: string, user: RequestUser, deployOptions: DeployOptions = {}): Promise<DeployResult> => {
    const script = findScript(user, scriptId);
    // The one ownership rule: a member deploys only to players registered to them (not to unclaimed ones).
    if (!mayUseDevice(store.devices, user, deviceId)) throw ApiError.notFound('device');
    const card = buildCard(script, deviceId, script.cardId);
    const keys = new Map(card.content.chapters.map((c) => [c.key, new Set(c.tracks.map((t) => t.key))]));
    if (deployOptions.chapterKey !== undefined && !keys.has(deployOptions.chapterKey)) {
      throw new ApiError(400, 'validation_failed', `chapterKey "${deployOptions.chapterKey}" is not a chapter of the card (${[...keys.keys()].join(', ')})`, [{ path: '/chapterKey', message: 'names no chapter of the card' }]);
    }
    if (deployOptions.trackKey !== undefined) {
      const chapter = keys.get(deployOptions.chapterKey ?? card.content.chapters[0]!.key);
      if (!chapter?.has(deployOptions.trackKey)) throw new ApiError(400, 'validation_failed', `trackKey "${deployOptions.trackKey}" is not a track of that chapter`, [{ path: '/trackKey', message: 'names no track of the chapter' }]);
    }
    const saved = await exclusive(script.cardId, () => saveCard(card));
    if (saved.cardId !== script.cardId) await store.scripts.update(script.id, { cardId: saved.cardId, updatedAt: now().toISOString() });
    logger.info('script card saved', { scriptId, cardId: saved.cardId, chapters: card.content.chapters.length });

    const volume = deployOptions.volume ?? script.options?.volume;
    const sleepSeconds = deployOptions.sleepSeconds ?? script.options?.sleepTimerSeconds;
    const volumeResult = volume !== undefined ? await run(deviceId, { type: 'volume', percent: volume }) : undefined;
    const result = await run(deviceId, {
      type: 'play',
      cardId: saved.cardId,
      ...(deployOptions.chapterKey !== undefined ? { chapterKey: deployOptions.chapterKey } : {}),
      ...(deployOptions.trackKey !== undefined ? { trackKey: deployOptions.trackKey } : {}),
      ...(deployOptions.secondsIn !== undefined ? { secondsIn: deployOptions.secondsIn } : {}),
    });
    const sleepResult = sleepSeconds !== undefined && sleepSeconds > 0 ? await run(deviceId, { type: 'sleep', seconds: sleepSeconds }) : undefined;
    return {
      scriptId,
      deviceId,
      cardId: saved.cardId,
      result,
      ...(volumeResult ? { volume: volumeResult } : {}),
      ...(sleepResult ? { sleep: sleepResult } : {}),
    };
  };

  const playScript = (deviceId: string, request: ScriptPlayRequest, user?: RequestUser): Promise<DeployResult> => {
    const script = store.scripts.get(request.scriptId);
    if (!script) throw ApiError.notFound('script');
    // The house acts as the script's owner; the hub's own content (the demo, Node-RED's) acts as an admin's.
    const as = user ?? (SYSTEM_OWNERS.has(script.userId) ? { id: script.userId, email: '', role: 'admin' as const } : ownerAsUser(store.users, script.userId));
    const { scriptId: _id, ...position } = request;
    return deploy(script.id, deviceId, as, position);
  };

  const isFileInUse = (fileId: string): string | undefined => {
    const file = library.get(fileId);
    // A reference its owner may not use (another member's file) never blocks the file's owner.
    const mayReference = (ownerId: string): boolean => file === undefined || mayAccess(ownerAsUser(store.users, ownerId), file.userId);
    for (const script of store.scripts.list((s) => mayReference(s.userId))) {
      if (script.type === 'simple' && script.definition.audioFileId === fileId) return script.name;
      if (script.type === 'playlist' && script.definition.tracks.some((t) => t.audioFileId === fileId)) return script.name;
      if (script.type === 'cyoa') {
        const story = store.stories.get(script.definition.storyId);
        if (story && storyFileIds(story).includes(fileId)) return script.name;
      }
    }
    const smartId = streams.smart.usingFile(fileId)[0];
    if (smartId !== undefined) return `smart stream ${streams.smart.get(smartId)?.name ?? smartId}`;
    return undefined;
  };

  // ---- routes ----

  const router = express.Router();

  router.get('/', (_req, res) => {
    const user = requestUser(res);
    const scripts = store.scripts.list((s) => mayAccess(user, s.userId));
    scripts.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1));
    res.json({ items: scripts, total: scripts.length });
  });

  router.post('/', async (req, res) => {
    const user = requestUser(res);
    const at = now().toISOString();
    const candidate = { ...bodyObject(req), id: randomUUID(), userId: user.id, createdAt: at, updatedAt: at };
    const script = validator.validate('script', candidate);
    checkReferences(script, user);
    const saved = await store.scripts.insert(script);
    logger.info('script created', { id: saved.id, type: saved.type, userId: user.id });
    res.status(201).json(saved);
  });

  router.get('/:id', (req, res) => {
    res.json(findScript(requestUser(res), String(req.params['id'])));
  });

  const update = async (req: Request, res: Response): Promise<void> => {
    const user = requestUser(res);
    const existing = findScript(user, String(req.params['id']));
    const candidate = { ...existing, ...bodyObject(req), updatedAt: now().toISOString() };
    const script = validator.validate('script', candidate);
    checkReferences(script, ownerOf(existing, user));
    res.json(await store.scripts.upsert(script));
  };
  router.put('/:id', update);
  router.patch('/:id', update);

  router.delete('/:id', async (req, res) => {
    const script = findScript(requestUser(res), String(req.params['id']));
    await store.scripts.delete(script.id);
    // The deployed card's URLs stop working; the card itself stays in the user's Yoto library.
    await streams.revokeScript(script.id);
    logger.info('script deleted', { id: script.id, cardId: script.cardId });
    res.status(204).end();
  });

  router.post('/:id/deploy', async (req, res) => {
    const user = requestUser(res);
    const body = bodyObject(req);
    const { deviceId, deployOptions } = parseDeployBody(body);
    res.json(await deploy(String(req.params['id']), deviceId, user, deployOptions));
  });

  // ---- icons ----

  const iconsRouter = express.Router();
  iconsRouter.get('/', async (_req, res) => {
    requestUser(res);
    try {
      const [publicIcons, mine] = await Promise.all([api().listPublicIcons(), api().listMyIcons()]);
      const withRef = <T extends { mediaId: string }>(icon: T): T & { iconRef: string } => ({ ...icon, iconRef: `yoto:#${icon.mediaId}` });
      res.json({ public: publicIcons.map(withRef), mine: mine.map(withRef) });
    } catch (error) {
      throw cloudError(error, 'listing icons');
    }
  });
  iconsRouter.post('/', express.raw({ type: () => true, limit: MAX_ICON_BYTES }), async (req, res) => {
    requestUser(res);
    const bytes: unknown = req.body;
    if (!Buffer.isBuffer(bytes) || bytes.length === 0) {
      throw new ApiError(400, 'invalid_icon', 'send the icon as the raw request body (a 16x16 PNG or GIF)', [{ path: 'body', message: 'is empty' }]);
    }
    const info = readImageInfo(bytes);
    if (!info || (info.format !== 'png' && info.format !== 'gif')) {
      const what = info ? info.format.toUpperCase() : 'not an image';
      throw new ApiError(400, 'invalid_icon', `an icon must be a 16x16 PNG or GIF; got ${what}`, [{ path: 'body', message: `is ${what}` }]);
    }
    if (info.width !== 16 || info.height !== 16) {
      throw new ApiError(400, 'invalid_icon', `an icon must be 16x16 pixels; this ${info.format.toUpperCase()} is ${info.width}x${info.height}`, [
        { path: 'body', message: `is ${info.width}x${info.height}, not 16x16` },
      ]);
    }
    const rawName = typeof req.query['filename'] === 'string' ? req.query['filename'] : `icon.${info.format}`;
    const filename = rawName.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100) || `icon.${info.format}`;
    try {
      const icon = await api().uploadIcon(bytes, { autoConvert: true, filename });
      res.status(icon.new === false ? 200 : 201).json({ icon });
    } catch (error) {
      throw cloudError(error, 'uploading the icon');
    }
  });

  const isSmartStreamInUse = (streamId: string): string | undefined =>
    store.scripts.list((script) => script.type === 'playlist' && script.definition.tracks.some((track) => track.smartStreamId === streamId))[0]?.name;

  const storyCard = (story: Story, deviceId?: string): CardInput => {
    const existing = store.scripts.list((script) => script.type === 'cyoa' && script.definition.storyId === story.id && script.userId === story.userId)[0];
    // Before the first deploy there is no script yet: the card is built as that deploy would build it.
    const script: Script = existing ?? {
      id: `story-${story.id}`.slice(0, 128),
      userId: story.userId,
      name: story.title.slice(0, 100),
      type: 'cyoa',
      definition: { storyId: story.id },
      createdAt: story.createdAt,
      updatedAt: story.updatedAt,
    };
    return buildCard(script, deviceId, script.cardId);
  };

  const renewal = new CardRenewal({ store, streams, cloud, clock: options.clock ?? realClock, logger, exclusive });

  return { router, iconsRouter, deploy, playScript, storyCard, isFileInUse, isSmartStreamInUse, renewal };
}

function parseDeployBody(body: Record<string, unknown>): { deviceId: string; deployOptions: DeployOptions } {
  const details: ErrorDetail[] = [];
  const deviceId = body['deviceId'];
  if (typeof deviceId !== 'string' || !/^[A-Za-z0-9_-]{1,128}$/.test(deviceId)) details.push({ path: '/deviceId', message: 'is required: the id of the player to play on' });
  const key = (name: 'chapterKey' | 'trackKey'): string | undefined => {
    const value = body[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || !/^[A-Za-z0-9_-]{1,32}$/.test(value)) details.push({ path: `/${name}`, message: 'must be a card key such as "01"' });
    return typeof value === 'string' ? value : undefined;
  };
  const int = (name: 'volume' | 'sleepSeconds' | 'secondsIn', max: number, integer: boolean): number | undefined => {
    const value = body[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > max || (integer && !Number.isInteger(value))) {
      details.push({ path: `/${name}`, message: `must be ${integer ? 'an integer' : 'a number'} from 0 to ${max}` });
      return undefined;
    }
    return value;
  };
  const deployOptions: DeployOptions = {};
  const chapterKey = key('chapterKey');
  const trackKey = key('trackKey');
  const secondsIn = int('secondsIn', 86400, false);
  const volume = int('volume', 100, true);
  const sleepSeconds = int('sleepSeconds', 86400, true);
  const known = new Set(['deviceId', 'chapterKey', 'trackKey', 'secondsIn', 'volume', 'sleepSeconds']);
  for (const field of Object.keys(body)) if (!known.has(field)) details.push({ path: `/${field}`, message: 'is not a deploy option' });
  if (details.length > 0) throw new ApiError(400, 'validation_failed', `invalid deploy request: ${details.map((d) => `${d.path.slice(1)} ${d.message}`).join('; ')}`, details);
  if (chapterKey !== undefined) deployOptions.chapterKey = chapterKey;
  if (trackKey !== undefined) deployOptions.trackKey = trackKey;
  if (secondsIn !== undefined) deployOptions.secondsIn = secondsIn;
  if (volume !== undefined) deployOptions.volume = volume;
  if (sleepSeconds !== undefined) deployOptions.sleepSeconds = sleepSeconds;
  return { deviceId: deviceId as string, deployOptions };
}

/** A cloud failure as an answer the caller can act on: the cloud refused the request (422/404), or could not be reached (502). */
function cloudError(error: unknown, doing: string): unknown {
  if (error instanceof ApiError) return error;
  if (error instanceof YotoApiError) {
    if (error.status === 400 || error.status === 422) return new ApiError(422, 'cloud_rejected', `the Yoto cloud refused ${doing}: ${error.message}`);
    if (error.status === 404) return new ApiError(404, 'not_found', `the Yoto cloud does not know it (${doing}): ${error.message}`);
    if (error.status === 401 || error.status === 403) return new ApiError(502, 'cloud_auth', `the Yoto cloud refused the hub's sign-in while ${doing}; sign in again`);
    if (error.status === 429) return new ApiError(429, 'cloud_rate_limited', `the Yoto cloud is rate limiting the hub (${doing}); try again later`);
    return new ApiError(502, 'cloud_error', `the Yoto cloud failed while ${doing}: ${error.message}`);
  }
  if (error instanceof YotoNetworkError) return new ApiError(502, 'cloud_unreachable', `the Yoto cloud could not be reached while ${doing}: ${error.message}`);
  return error;
}

function commandError(error: unknown): unknown {
  if (!(error instanceof DeviceCommandError)) return cloudError(error, 'sending the command');
  switch (error.code) {
    case 'unknown_device': return new ApiError(404, 'not_found', `device "${error.deviceId}" not found`);
    case 'offline': return new ApiError(409, 'device_offline', error.message);
    case 'not_playing': return new ApiError(409, 'not_playing', error.message);
    case 'invalid_command': return new ApiError(400, 'invalid_command', error.message);
    case 'refused': return new ApiError(502, 'device_refused', `the player refused ${error.command}: ${error.message}`);
    case 'timeout': return new ApiError(504, 'device_timeout', `the player did not confirm ${error.command}: ${error.message}`);
  }
}
