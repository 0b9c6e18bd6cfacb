import express, { type Request, type Router } from 'express';
import type { RequestUser } from '../http/request-user';
import { healthFor, type HealthReport } from './health';

export interface SystemRoutesOptions {
  /** The caller of a request from its bearer token; undefined when anonymous (or the token is not valid). */
  viewer?: (req: Request) => RequestUser | undefined;
}

/**
 * /api/system/health: 200 when every component is ok, 503 otherwise. What the
 * body says depends on the caller (see healthFor): anonymous callers learn
 * only up or down, members the component states, admins the details.
 */
export function systemRoutes(health: () => HealthReport, options: SystemRoutesOptions = {}): Router {
  const router = express.Router();
  router.get('/health', (req, res) => {
    const report = health();
    const user = options.viewer?.(req);
    res.setHeader('Cache-Control', 'no-store');
    res.status(report.status === 'ok' ? 200 : 503).json(healthFor(report, user ? user.role : 'anonymous'));
  });
  return router;
}
