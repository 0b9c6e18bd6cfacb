import express, { type Router } from 'express';
import type { VirtualDeviceRegistry } from './device-registry';
import { param } from './request-helpers';

/** `GET /device-v2/devices/mine`, `GET|PUT /device-v2/{id}/config`. */
export function deviceRoutes(devices: VirtualDeviceRegistry): Router {
  const router = express.Router();
  router.get('/device-v2/devices/mine', (_req, res) => {
    res.json({ devices: devices.list() });
  });
  router.get('/device-v2/:deviceId/config', (req, res) => {
    res.json({ device: devices.config(param(req, 'deviceId')) });
  });
  router.put('/device-v2/:deviceId/config', express.json({ limit: '256kb' }), async (req, res) => {
    await devices.replaceConfig(param(req, 'deviceId'), req.body);
    res.json({ status: 'ok' });
  });
  return router;
}
