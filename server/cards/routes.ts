import express, { type Router } from 'express';
import { ApiError } from '../http/api-error';
import { requestUser } from '../http/request-user';
import { YotoApiError, YotoNetworkError } from '../yoto/rest/errors';
import { NoCloudError, type FamilyLibrary } from './family-library';

const CARD_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** /api/cards: the family library (search with ?q=, one group with ?group=), its groups and one card with its chapters. */
export function cardRoutes(library: FamilyLibrary): Router {
  const router = express.Router();
  // The family's cards: any signed-in user may read them.
  router.use((_req, res, next) => {
    requestUser(res);
    next();
  });
  const handle = (handler: (req: express.Request, res: express.Response) => Promise<void>): express.RequestHandler => (req, res, next) => {
    handler(req, res).catch((error: unknown) => next(libraryApiError(error) ?? error));
  };
  router.get('/', handle(async (req, res) => {
    const q = typeof req.query['q'] === 'string' ? req.query['q'] : undefined;
    const group = typeof req.query['group'] === 'string' ? req.query['group'] : undefined;
    if ((q?.length ?? 0) > 200 || (group?.length ?? 0) > 200) throw new ApiError(400, 'invalid_query', 'q and group must be at most 200 characters');
    if (group !== undefined && !(await library.groups()).some((g) => g.id === group || g.name.toLowerCase() === group.toLowerCase())) {
      throw ApiError.notFound(`card group "${group}"`);
    }
    res.json({ cards: await library.list({ ...(q ? { q } : {}), ...(group ? { group } : {}) }) });
  }));
  router.get('/groups', handle(async (_req, res) => {
    res.json({ groups: await library.groups() });
  }));
  router.get('/:cardId', handle(async (req, res) => {
    const cardId = String(req.params['cardId'] ?? '');
    if (!CARD_ID.test(cardId)) throw ApiError.notFound('card');
    const card = await library.card(cardId);
    if (!card) throw ApiError.notFound('card');
    res.json(card);
  }));
  return router;
}

export function libraryApiError(error: unknown): ApiError | undefined {
  if (error instanceof NoCloudError) return new ApiError(409, 'no_cloud', error.message);
  if (error instanceof YotoApiError) return new ApiError(502, 'cloud_refused', error.message);
  if (error instanceof YotoNetworkError) return new ApiError(502, 'cloud_unreachable', error.message);
  return undefined;
}
