import express, { type Router } from 'express';
import { ApiError } from '../http/api-error';
import { requestUser, type RequestUser } from '../http/request-user';
import { getValidator } from '../validation';
import { YotoApiError, YotoNetworkError } from '../yoto/rest/errors';
import { SettingsError, type AlarmInput, type PlayerSettingsChange } from './model';
import { SettingsUnavailableError, type PlayerSettingsService } from './settings-service';

export interface SettingsRoutesOptions {
  settings: PlayerSettingsService;
  /** Whether the caller may see the player (admins: all; members: theirs). */
  canSee: (user: RequestUser, deviceId: string) => boolean;
}

const DEVICE_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * Mounted at /api/devices beside the devices API: `GET|PATCH /:id/settings`
 * and the alarms under `/:id/alarms`. Bodies are checked against
 * schemas/player-settings-change and schemas/player-alarm.
 */
export function settingsRoutes(options: SettingsRoutesOptions): Router {
  const { settings, canSee } = options;
  const validator = getValidator();
  const router = express.Router();
  router.use(express.json({ limit: '32kb' }));

  const deviceOf = (req: express.Request, res: express.Response): string => {
    const deviceId = String(req.params['id'] ?? '');
    if (!DEVICE_ID.test(deviceId) || !canSee(requestUser(res), deviceId)) throw ApiError.notFound('device');
    return deviceId;
  };
  const alarmIdOf = (req: express.Request): number => {
    const raw = String(req.params['alarmId'] ?? '');
    if (!/^\d{1,3}$/.test(raw)) throw ApiError.notFound('alarm');
    return Number(raw);
  };

  router.get('/:id/settings', handle(async (req, res) => {
    const deviceId = deviceOf(req, res);
    res.json(await settings.get(deviceId, { fresh: req.query['fresh'] === 'true' }));
  }));
  router.patch('/:id/settings', handle(async (req, res) => {
    const deviceId = deviceOf(req, res);
    const change = validator.validate('player-settings-change', req.body) as PlayerSettingsChange;
    res.json(await settings.update(deviceId, change));
  }));
  router.get('/:id/alarms', handle(async (req, res) => {
    const deviceId = deviceOf(req, res);
    res.json({ alarms: (await settings.get(deviceId)).alarms });
  }));
  router.post('/:id/alarms', handle(async (req, res) => {
    const deviceId = deviceOf(req, res);
    const input = validator.validate('player-alarm', req.body) as AlarmInput;
    const { alarm } = await settings.addAlarm(deviceId, input);
    res.status(201).json(alarm);
  }));
  router.get('/:id/alarms/:alarmId', handle(async (req, res) => {
    const deviceId = deviceOf(req, res);
    const id = alarmIdOf(req);
    const alarm = (await settings.get(deviceId)).alarms.find((candidate) => candidate.id === id);
    if (!alarm) throw ApiError.notFound('alarm');
    res.json(alarm);
  }));
  router.patch('/:id/alarms/:alarmId', handle(async (req, res) => {
    const deviceId = deviceOf(req, res);
    const id = alarmIdOf(req);
    const input = validator.validate('player-alarm', req.body) as AlarmInput;
    res.json((await settings.updateAlarm(deviceId, id, input)).alarm);
  }));
  router.delete('/:id/alarms/:alarmId', handle(async (req, res) => {
    const deviceId = deviceOf(req, res);
    await settings.deleteAlarm(deviceId, alarmIdOf(req));
    res.status(204).end();
  }));
  return router;
}

type Handler = (req: express.Request, res: express.Response) => Promise<void>;

/** Turns the settings' own errors into API answers; anything else goes on to the hub's error handler. */
function handle(handler: Handler): express.RequestHandler {
  return (req, res, next) => {
    handler(req, res).catch((error: unknown) => next(settingsApiError(error) ?? error));
  };
}

export function settingsApiError(error: unknown): ApiError | undefined {
  if (error instanceof SettingsError) return new ApiError(400, 'invalid_settings', error.message, error.details);
  if (error instanceof SettingsUnavailableError) {
    if (error.code === 'no_cloud') return new ApiError(409, 'no_cloud', error.message);
    return new ApiError(404, 'not_found', error.message);
  }
  if (error instanceof YotoApiError) {
    if (error.status === 404) return new ApiError(404, 'not_found', 'the Yoto cloud does not know this player');
    // The cloud refused the change: the caller can change what it sent (or try later).
    return new ApiError(error.status >= 500 ? 502 : 409, 'cloud_refused', error.message);
  }
  if (error instanceof YotoNetworkError) return new ApiError(502, 'cloud_unreachable', error.message);
  return undefined;
}
