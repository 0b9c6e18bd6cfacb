import express, { type Router } from 'express';
import type { HealthReport } from './health';

/** /api/system: health now; config and metrics join it as they are built. */
export function systemRoutes(health: () => HealthReport): Router {
  const router = express.Router();
  router.get('/health', (_req, res) => {
    const report = health();
    res.status(report.status === 'ok' ? 200 : 503).json(report);
  });
  return router;
}
