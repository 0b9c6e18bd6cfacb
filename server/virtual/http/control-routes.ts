import express, { type Request, type Router } from 'express';
import type { Logger } from '../../log/logger';
import type { VirtualCardLibrary, VirtualFleet, VirtualPlayerControl } from '../contracts';
import { VirtualHttpError } from './errors';
import type { FaultInjector } from './faults';
import { param } from './request-helpers';

/**
 * The control API: what a person does to a physical player (press a button,
 * turn the volume, insert or remove a card, power it off and on, put it on its
 * charger, plug headphones in), plus fault
 * injection. It is not part of Yoto's API and needs no token; the virtual
 * cloud listens on loopback by default.
 */
export function controlRoutes(fleet: VirtualFleet, cards: VirtualCardLibrary, faults: FaultInjector, logger: Logger): Router {
  const router = express.Router();
  router.use(express.json({ limit: '16kb' }));

  router.get('/virtual/devices', (_req, res) => {
    res.json({ devices: fleet.players().map((player) => player.snapshot()) });
  });
  router.get('/virtual/devices/:deviceId', (req, res) => {
    res.json(requirePlayer(fleet, req).snapshot());
  });
  router.post('/virtual/devices/:deviceId/press/:button', async (req, res) => {
    const button = param(req, 'button');
    if (button !== 'left' && button !== 'right') throw VirtualHttpError.notFound(`button "${button}" (use left or right)`);
    const player = requirePlayer(fleet, req);
    res.json(await act(player, logger, `press ${button}`, () => player.press(button)));
  });
  router.post('/virtual/devices/:deviceId/volume', async (req, res) => {
    const steps = bodyField(req, 'steps');
    if (typeof steps !== 'number' || !Number.isInteger(steps) || steps < -16 || steps > 16) {
      throw VirtualHttpError.badRequest('send {"steps": n}: whole steps of the 0..16 hardware scale, -16 to 16 (negative lowers)');
    }
    const player = requirePlayer(fleet, req);
    res.json(await act(player, logger, 'turn volume', () => player.turnVolume(steps)));
  });
  router.post('/virtual/devices/:deviceId/card', async (req, res) => {
    const cardId = bodyField(req, 'cardId');
    if (typeof cardId !== 'string' || cardId === '') throw VirtualHttpError.badRequest('send {"cardId": "<id of a card POSTed to /content>"}');
    const player = requirePlayer(fleet, req);
    if (!cards.get(cardId)) throw VirtualHttpError.notFound(`card ${cardId}`);
    res.json(await act(player, logger, 'insert card', () => player.insertCard(cardId)));
  });
  router.delete('/virtual/devices/:deviceId/card', async (req, res) => {
    const player = requirePlayer(fleet, req);
    res.json(await act(player, logger, 'remove card', () => player.removeCard()));
  });
  /** An action whose last path segment is one of two states: `<what>/<yes>` or `<what>/<no>`. */
  const twoStates = (what: string, yes: string, no: string, action: (player: VirtualPlayerControl, yes: boolean) => Promise<void>): void => {
    router.post(`/virtual/devices/:deviceId/${what}/:state`, async (req, res) => {
      const state = param(req, 'state');
      if (state !== yes && state !== no) throw VirtualHttpError.notFound(`${what} state "${state}" (use ${yes} or ${no})`);
      const player = requirePlayer(fleet, req);
      res.json(await act(player, logger, `${what} ${state}`, () => action(player, state === yes)));
    });
  };
  twoStates('power', 'on', 'off', (player, on) => (on ? player.powerOn() : player.powerOff()));
  twoStates('charger', 'on', 'off', (player, on) => player.setCharging(on));
  twoStates('headphones', 'in', 'out', (player, plugged) => player.setHeadphones(plugged));

  router.get('/virtual/faults', (_req, res) => {
    res.json({ faults: faults.list() });
  });
  router.post('/virtual/faults', (req, res) => {
    res.status(201).json({ fault: faults.add(req.body), faults: faults.list() });
  });
  router.delete('/virtual/faults', (_req, res) => {
    faults.clear();
    res.json({ faults: [] });
  });
  return router;
}

function requirePlayer(fleet: VirtualFleet, req: Request): VirtualPlayerControl {
  const deviceId = param(req, 'deviceId');
  const player = fleet.player(deviceId);
  if (!player) throw VirtualHttpError.notFound(`virtual player ${deviceId}`);
  return player;
}

/** Runs a player action; a player that refuses (off, no card...) is a 409 with its reason. */
async function act(player: VirtualPlayerControl, logger: Logger, what: string, action: () => Promise<void>): Promise<ReturnType<VirtualPlayerControl['snapshot']>> {
  try {
    await action();
  } catch (error) {
    logger.warn('virtual player refused an action', { deviceId: player.deviceId, action: what, err: error });
    throw new VirtualHttpError(409, 'player_refused', `${player.deviceId} could not ${what}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return player.snapshot();
}

function bodyField(req: Request, name: string): unknown {
  const body: unknown = req.body;
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
}
