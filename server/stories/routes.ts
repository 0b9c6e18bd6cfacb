import { randomUUID } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { QueryReader } from '../devices/query-params';
import { ApiError } from '../http/api-error';
import { mayAccess, requestUser, type RequestUser } from '../http/request-user';
import type { Logger } from '../log/logger';
import type { Repository } from '../store';
import { getValidator } from '../validation';
import { compileToFlow } from './compile-flow';
import type { Story } from './model';
import { runExpectations } from './simulate';
import { importTwee, toTwee, TooManyPassagesError } from './twee';
import { isDeployable, validateStory } from './validate';
import type { CardInput } from '../yoto/card';
import type { StoryCard } from '../types/schemas';

export interface StoriesApiOptions {
  /** The hub's store (only its stories repository is used). */
  store: { readonly stories: Repository<Story> };
  /** Compiles and deploys a story that passed validation (given by the hub). */
  deploy: (story: Story, deviceId: string, user: RequestUser) => Promise<unknown>;
  /** The card deploy would upload for the story (the scripts service's storyCard); throws ApiError when it cannot be built. */
  card: (story: Story, deviceId?: string) => CardInput;
  /**
   * Whether the story owner `ownerId` may use the audio file `fileId` (the one ownership rule):
   * `missing` when no such file exists, `forbidden` when it is another member's. A story may not be
   * saved with a `forbidden` reference (422); a missing one is a finding. Not checked when omitted.
   */
  audioAccess?: (ownerId: string, fileId: string) => 'usable' | 'missing' | 'forbidden';
  logger: Logger;
  /** The hub config node id written into exported flows (default "yoto-hub"; `?hubId=` names another). */
  hubId?: string;
  now?: () => Date;
}

/** Largest Twee text accepted by POST /import/twee. */
export const MAX_TWEE_BYTES = 2 * 1024 * 1024;
/**
 * Most passages accepted by POST /import/twee (far more than a card a child can follow; the
 * validator already warns above 60). It bounds the work done in one piece on the hub's thread
 * (schema check, store write, answer) so an import never holds the event loop for long.
 */
export const MAX_TWEE_PASSAGES = 1000;

/** Lets the event loop run (timers, other requests, MQTT) before the next step of a long request. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const OWNED_FIELDS = ['id', 'userId', 'createdAt', 'updatedAt'] as const;

/**
 * The story routes, mounted at /api/stories. Every route needs a signed-in
 * user; members see their own stories only (another's answers 404), admins all.
 *   GET / · POST / · GET /:id · PUT /:id · DELETE /:id
 *   POST /:id/test · POST /:id/deploy {deviceId} · POST /import/twee (text body)
 *   GET /:id/twee · GET /:id/flow?deviceId= · GET /:id/findings · GET /:id/card?deviceId=
 */
export function createStoriesApi(options: StoriesApiOptions): Router {
  const { store, logger } = options;
  const now = (): string => (options.now?.() ?? new Date()).toISOString();
  const audioAccess = options.audioAccess;
  const validateOptions = (story: Story): Parameters<typeof validateStory>[1] =>
    audioAccess ? { audioExists: (fileId: string) => audioAccess(story.userId, fileId) === 'usable' } : {};
  /** Refuses a story naming audio its owner may not use: it would also block the file owner's delete. */
  const checkAudioOwnership = (story: Story): Story => {
    if (!audioAccess) return story;
    const details = story.nodes.flatMap((node, index) =>
      node.audioFileId !== undefined && audioAccess(story.userId, node.audioFileId) === 'forbidden'
        ? [{ path: `/nodes/${index}/audioFileId`, message: `names no audio file you may use ("${node.audioFileId}")` }]
        : [],
    );
    if (details.length > 0) throw new ApiError(422, 'missing_reference', 'the story names audio files that are not yours', details);
    return story;
  };
  const router = express.Router();
  const json = express.json({ limit: '5mb' });

  const findStory = (req: Request, res: Response): Story => {
    const user = requestUser(res);
    const story = store.stories.get(String(req.params['id']));
    if (!story || !mayAccess(user, story.userId)) throw ApiError.notFound('story');
    return story;
  };
  /** The body as a story of this user: id, owner and timestamps are the server's. */
  const storyFromBody = (body: unknown, fixed: Pick<Story, 'id' | 'userId' | 'createdAt' | 'updatedAt'>): Story => {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ApiError(400, 'validation_failed', 'send the story as a JSON object');
    const candidate: Record<string, unknown> = { ...(body as Record<string, unknown>) };
    for (const field of OWNED_FIELDS) delete candidate[field];
    return checkAudioOwnership(getValidator().validate('cyoa-story', { ...candidate, ...fixed }));
  };

  router.get('/', (_req, res) => {
    const user = requestUser(res);
    res.json({ stories: store.stories.list((story) => mayAccess(user, story.userId)) });
  });

  router.post('/', json, async (req, res) => {
    const user = requestUser(res);
    const at = now();
    const story = storyFromBody(req.body, { id: randomUUID(), userId: user.id, createdAt: at, updatedAt: at });
    const saved = await store.stories.insert(story);
    res.status(201).json({ story: saved, findings: validateStory(saved, validateOptions(saved)) });
  });

  router.post('/import/twee', express.text({ type: () => true, limit: MAX_TWEE_BYTES }), async (req, res) => {
    const user = requestUser(res);
    const text: unknown = req.body;
    if (typeof text !== 'string' || text.trim() === '') throw new ApiError(400, 'invalid_twee', 'send the Twee 3 text as the request body');
    const at = now();
    let parsed: Awaited<ReturnType<typeof importTwee>>;
    try {
      parsed = await importTwee(text, { now: at, userId: user.id, maxPassages: MAX_TWEE_PASSAGES });
    } catch (error) {
      if (!(error instanceof TooManyPassagesError)) throw error;
      throw new ApiError(413, 'too_many_passages', `a story may have at most ${MAX_TWEE_PASSAGES} passages`, [{ path: 'body', message: error.message }]);
    }
    const { story: imported, findings: importFindings } = parsed;
    // Each step below is one piece of synchronous work; the loop runs between them.
    await nextTurn();
    const story = storyFromBody(imported, { id: randomUUID(), userId: user.id, createdAt: at, updatedAt: at });
    await nextTurn();
    const saved = await store.stories.insert(story);
    logger.info('story imported from Twee', { storyId: saved.id, nodes: saved.nodes.length });
    await nextTurn();
    const findings = validateStory(saved, validateOptions(saved));
    await nextTurn();
    const body = JSON.stringify({ story: saved, importFindings, findings });
    await nextTurn();
    res.status(201).type('json').send(body);
  });

  router.get('/:id', (req, res) => {
    const story = findStory(req, res);
    res.json({ story, findings: validateStory(story, validateOptions(story)) });
  });

  router.get('/:id/findings', (req, res) => {
    const story = findStory(req, res);
    const findings = validateStory(story, validateOptions(story));
    res.json({ deployable: isDeployable(findings), findings });
  });

  // The interactive card deploy would upload, to inspect or export, with the validator's findings.
  router.get('/:id/card', (req, res) => {
    const story = findStory(req, res);
    const deviceId = typeof req.query['deviceId'] === 'string' && req.query['deviceId'] !== '' ? req.query['deviceId'] : undefined;
    if (deviceId !== undefined && !/^[A-Za-z0-9_-]{1,128}$/.test(deviceId)) {
      throw new ApiError(400, 'validation_failed', 'deviceId must be a player id', [{ path: 'deviceId', message: 'must be 1 to 128 letters, digits, "-" or "_"' }]);
    }
    const findings = validateStory(story, validateOptions(story));
    let card: CardInput | null = null;
    let cardError: StoryCard['cardError'];
    try {
      card = options.card(story, deviceId);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status >= 500) throw error;
      cardError = { code: error.code, message: error.message };
    }
    const body: StoryCard = { storyId: story.id, deployable: isDeployable(findings), findings, card: card as StoryCard['card'], ...(cardError ? { cardError } : {}) };
    res.json(getValidator().validate('story-card', body));
  });

  router.put('/:id', json, async (req, res) => {
    const existing = findStory(req, res);
    const story = storyFromBody(req.body, { id: existing.id, userId: existing.userId, createdAt: existing.createdAt, updatedAt: now() });
    const saved = await store.stories.upsert(story);
    res.json({ story: saved, findings: validateStory(saved, validateOptions(saved)) });
  });

  router.delete('/:id', async (req, res) => {
    const story = findStory(req, res);
    await store.stories.delete(story.id);
    res.status(204).end();
  });

  router.post('/:id/test', (req, res) => {
    res.json(runExpectations(findStory(req, res)));
  });

  router.post('/:id/deploy', json, async (req, res) => {
    const user = requestUser(res);
    const story = findStory(req, res);
    const deviceId: unknown = (req.body as { deviceId?: unknown } | undefined)?.deviceId;
    if (typeof deviceId !== 'string' || !/^[A-Za-z0-9_-]{1,128}$/.test(deviceId)) throw new ApiError(400, 'validation_failed', 'send {"deviceId": "<player id>"}', [{ path: '/deviceId', message: 'must be a player id (letters, digits, - and _)' }]);
    const findings = validateStory(story, validateOptions(story));
    if (!isDeployable(findings)) {
      res.status(422).json({
        error: { code: 'story_invalid', message: 'the story has problems to fix before it can go on a player', details: [] },
        findings,
      });
      return;
    }
    const result = await options.deploy(story, deviceId, user);
    logger.info('story deployed', { storyId: story.id, deviceId });
    res.json({ deployed: true, result, findings });
  });

  router.get('/:id/twee', (req, res) => {
    const story = findStory(req, res);
    res.type('text/plain; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="${story.id}.twee"`);
    res.send(toTwee(story));
  });

  router.get('/:id/flow', (req, res) => {
    const story = findStory(req, res);
    const deviceId = typeof req.query['deviceId'] === 'string' ? req.query['deviceId'] : '';
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(deviceId)) throw new ApiError(400, 'validation_failed', 'give the player as ?deviceId=<player id>', [{ path: '/query/deviceId', message: 'must be a player id (letters, digits, - and _)' }]);
    // A hub run by a Node-RED yoto-hub node knows its id; a remote or stand-alone hub is told the id of the node that reaches it.
    const query = new QueryReader(req.query as Record<string, unknown>);
    const hubId = query.string('hubId', { pattern: /^[A-Za-z0-9._-]{1,64}$/, max: 64 });
    query.done();
    try {
      res.json(compileToFlow(story, { hubId: hubId ?? options.hubId ?? 'yoto-hub', deviceId }));
    } catch (error) {
      throw new ApiError(422, 'story_invalid', error instanceof Error ? error.message : String(error));
    }
  });

  return router;
}
