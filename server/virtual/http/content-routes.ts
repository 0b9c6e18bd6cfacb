import express, { type Router } from 'express';
import type { YotoCard } from '../../yoto/card';
import type { YotoCardSummary } from '../../yoto/rest/types';
import type { VirtualCardStore } from '../cards/card-store';
import type { VirtualFamilyLibrary } from '../family/family-library';
import { VirtualHttpError } from './errors';
import { param } from './request-helpers';

/** `GET /content/mine`, `GET /content/{cardId}` (MYO and bought cards), `POST /content`, `DELETE /content/{cardId}`. */
export function contentRoutes(cards: VirtualCardStore, family: VirtualFamilyLibrary): Router {
  const router = express.Router();
  router.get('/content/mine', (_req, res) => {
    res.json({ cards: cards.list().map(summarize) });
  });
  router.get('/content/:cardId', (req, res) => {
    const cardId = param(req, 'cardId');
    const card = family.get(cardId);
    if (!card) throw VirtualHttpError.notFound(`card ${cardId}`);
    res.json({ card });
  });
  router.post('/content', express.json({ limit: '5mb' }), async (req, res) => {
    const card = await cards.save(req.body);
    res.json({ card });
  });
  router.delete('/content/:cardId', async (req, res) => {
    await cards.delete(param(req, 'cardId'));
    res.json({ status: 'ok' });
  });
  return router;
}

/** `/content/mine` lists cards without their chapters, as the real cloud does. */
function summarize(card: YotoCard): YotoCardSummary {
  const { chapters: _chapters, ...content } = card.content;
  return { ...card, content, deleted: false };
}

/** `GET /card/family/library` and `GET /card/family/library/groups`. */
export function familyRoutes(family: VirtualFamilyLibrary): Router {
  const router = express.Router();
  router.get('/card/family/library', (_req, res) => {
    res.json({ cards: family.entries() });
  });
  router.get('/card/family/library/groups', (_req, res) => {
    res.json(family.groups());
  });
  return router;
}
