import { randomUUID } from 'node:crypto';
import express, { type Router } from 'express';
import { mapBrokerCommand, type ScriptPlayRequest } from '../bridge/command-mapping';
import { playbackPayload, statusPayload } from '../core/device-views';
import type { DeviceRegistry } from '../core/device-registry';
import { initialState, type DeviceState } from '../core/device-state';
import { ApiError } from '../http/api-error';
import { requestUser, type RequestUser } from '../http/request-user';
import { silentLogger, type Logger } from '../log/logger';
import type { Store } from '../store';
import type { BrokerPlaybackMessage, BrokerStatusMessage, Device, DeviceEvent } from '../types/schemas';
import { getValidator } from '../validation';
import { DeviceCommandError, type CommandResult, type DeviceCommander } from '../yoto/device-command';
import { findDeviceRecord, mayAccess } from './ownership';
import { reportCommandFailure } from '../core/command-failures';
import { QueryReader } from './query-params';

/** Plays a hub script on a player as the caller, with the rules of POST /api/scripts/:id/deploy: the hub's scripts service. */
export interface ScriptPlayer {
  playScript(deviceId: string, request: ScriptPlayRequest, user: RequestUser): Promise<unknown>;
}

export interface DevicesApiOptions {
  store: Pick<Store, 'devices' | 'events'>;
  registry: DeviceRegistry;
  commander: DeviceCommander;
  logger?: Logger;
  /** Which cloud the players come from, for new registrations (default "yoto"). */
  source?: () => 'virtual' | 'yoto';
  scripts: ScriptPlayer;
  /** Ends every stream URL deployed to a player (`streams.revokeDevice`): called when it is unregistered. */
  revokeDevice: (deviceId: string) => Promise<void>;
  /** Passed to the commander; its own default applies when absent. */
  commandTimeoutMs?: number;
  now?: () => Date;
}

/** A player as GET /api/devices answers it: the stored registration merged with the live state. */
export interface DeviceView {
  deviceId: string;
  name: string;
  room?: string;
  model?: string;
  source?: Device['source'];
  /** Whether someone registered (claimed) the player. */
  registered: boolean;
  /** The owner's user id, when registered. */
  userId?: string;
  /** The registration's record id. */
  recordId?: string;
  online: boolean;
  status: Device['status'];
  lastSeen?: string;
  metadata: Record<string, unknown>;
  createdAt?: string;
  updatedAt?: string;
  /** The live model of the player; null when the hub does not see it right now. */
  state: DeviceState | null;
}

export interface DeviceStatusView {
  deviceId: string;
  /** As on yoto/{id}/status. */
  status: BrokerStatusMessage;
  /** As on yoto/{id}/playback. */
  playback: BrokerPlaybackMessage;
}

export interface EventsPage {
  events: DeviceEvent[];
  /** Pass as `before` to get the next (older) page; absent on the last page. */
  nextBefore?: string;
}

const DEVICE_ID = /^[A-Za-z0-9_-]{1,128}$/;
const EVENT_ID = /^[A-Za-z0-9_-]{1,128}$/;
const MAX_EVENTS_PAGE = 500;
/** Metadata keys the hub manages through their own fields. */
const RESERVED_METADATA = new Set(['room']);

/**
 * /api/devices: the players a caller may see, registration (claiming) of a
 * player, its settings, commands (the home broker's command JSON), its event
 * history and its status as the house sees it on MQTT. A player registered to
 * another user answers 404, exactly like one that does not exist.
 */
export function createDevicesApi(options: DevicesApiOptions): Router {
  const { store, registry, commander } = options;
  const logger = options.logger ?? silentLogger;
  const now = options.now ?? (() => new Date());
  const source = options.source ?? (() => 'yoto' as const);
  const validator = getValidator();
  const eventTypes = eventTypeNames();
  const router = express.Router();

  /** The player `deviceId` if the caller may see it; 404 otherwise. */
  const access = (user: RequestUser, deviceId: string): { record: Device | undefined; live: DeviceState | undefined } => {
    if (!DEVICE_ID.test(deviceId)) throw ApiError.notFound('device');
    const record = findDeviceRecord(store.devices, deviceId);
    const live = registry.get(deviceId);
    if (!mayAccess(user, record?.userId) || (!record && !live)) throw ApiError.notFound('device');
    return { record, live };
  };

  router.get('/', (_req, res) => {
    const user = requestUser(res);
    const records = store.devices.list((record) => mayAccess(user, record.userId));
    const views = records.map((record) => deviceView(record, registry.get(record.deviceId)));
    if (user.role === 'admin') {
      // Admins also see the players nobody has registered yet.
      const registered = new Set(records.map((record) => record.deviceId));
      for (const live of registry.list()) if (!registered.has(live.deviceId)) views.push(deviceView(undefined, live));
    }
    views.sort((a, b) => a.name.localeCompare(b.name) || a.deviceId.localeCompare(b.deviceId));
    res.json({ devices: views });
  });

  router.post('/', async (req, res) => {
    const user = requestUser(res);
    const body = validator.validate('device-registration', req.body);
    const live = registry.get(body.deviceId);
    const existing = findDeviceRecord(store.devices, body.deviceId);
    if (existing?.userId !== undefined && existing.userId !== user.id) {
      throw new ApiError(409, 'already_registered', 'this player is registered to another user; an admin can unregister it');
    }
    if (existing?.userId === user.id) {
      res.status(200).json(deviceView(existing, live));
      return;
    }
    if (!live && !existing) throw ApiError.notFound('device');
    const at = now().toISOString();
    const metadata = { ...(existing?.metadata ?? {}), ...(body.room !== undefined ? { room: body.room } : {}) };
    const record: Device = existing
      ? { ...existing, userId: user.id, ...(body.name !== undefined ? { name: body.name } : {}), metadata, updatedAt: at }
      : {
          id: randomUUID(),
          userId: user.id,
          deviceId: body.deviceId,
          name: body.name ?? recordName(live),
          source: source(),
          model: recordModel(live),
          status: live ? live.status : 'unknown',
          ...(live?.lastSeen ? { lastSeen: live.lastSeen } : {}),
          metadata,
          createdAt: at,
          updatedAt: at,
        };
    const saved = await store.devices.upsert(record);
    logger.info('player registered', { deviceId: saved.deviceId, userId: user.id });
    res.status(201).json(deviceView(saved, live));
  });

  router.get('/:id', (req, res) => {
    const { record, live } = access(requestUser(res), req.params.id);
    res.json(deviceView(record, live));
  });

  router.patch('/:id', async (req, res) => {
    const user = requestUser(res);
    const { record, live } = access(user, req.params.id);
    const body = validator.validate('device-update', req.body);
    if (!record) throw new ApiError(404, 'not_registered', 'this player is not registered; register it with POST /api/devices first');
    const metadata: Record<string, unknown> = { ...record.metadata };
    for (const [key, value] of Object.entries(body.metadata ?? {})) {
      if (RESERVED_METADATA.has(key)) continue;
      if (value === null) delete metadata[key];
      else metadata[key] = value;
    }
    if (body.room === null) delete metadata['room'];
    else if (body.room !== undefined) metadata['room'] = body.room;
    if (JSON.stringify(metadata).length > 64 * 1024) {
      throw new ApiError(400, 'validation_failed', 'the device metadata would exceed 64 KiB', [{ path: '/metadata', message: 'is too large' }]);
    }
    const saved = await store.devices.update(record.id, { ...(body.name !== undefined ? { name: body.name } : {}), metadata });
    res.json(deviceView(saved, live));
  });

  router.delete('/:id', async (req, res) => {
    const { record } = access(requestUser(res), req.params.id);
    if (!record) throw new ApiError(404, 'not_registered', 'this player is not registered');
    await store.devices.delete(record.id);
    // Every stream URL deployed to the player stops playing: the next owner starts clean.
    await options.revokeDevice(record.deviceId);
    logger.info('player unregistered', { deviceId: record.deviceId });
    res.status(204).end();
  });

  router.post('/:id/command', async (req, res) => {
    const deviceId = req.params.id;
    access(requestUser(res), deviceId);
    const message = validator.validate('broker-command', req.body);
    if (!registry.has(deviceId)) throw new ApiError(404, 'not_found', 'the hub does not see this player right now');
    const mapped = mapBrokerCommand(message);
    if (mapped.kind === 'script') {
      try {
        await options.scripts.playScript(deviceId, mapped.request, requestUser(res));
      } catch (error) {
        reportCommandFailure(registry, deviceId, { command: 'play', requestId: message.request_id, surface: 'api' }, error);
        throw error;
      }
      res.json({ deviceId, command: 'play', scriptId: mapped.request.scriptId, ...(message.request_id ? { requestId: message.request_id } : {}) });
      return;
    }
    let result: CommandResult;
    try {
      result = await commander.execute(deviceId, mapped.command, options.commandTimeoutMs === undefined ? undefined : { timeoutMs: options.commandTimeoutMs });
    } catch (error) {
      reportCommandFailure(registry, deviceId, { command: message.command, requestId: message.request_id, surface: 'api' }, error);
      throw commandError(error);
    }
    res.json({ ...result, ...(message.request_id ? { requestId: message.request_id } : {}) });
  });

  router.get('/:id/events', async (req, res) => {
    const deviceId = req.params.id;
    access(requestUser(res), deviceId);
    const query = new QueryReader(req.query as Record<string, unknown>);
    const types = query.list('type', eventTypes);
    const since = query.time('since');
    const until = query.time('until');
    const before = query.string('before', { pattern: EVENT_ID, max: 128 });
    const limit = query.integer('limit', 1, MAX_EVENTS_PAGE) ?? 50;
    query.done();
    const events = await store.events.query({
      deviceId,
      ...(types ? { types } : {}),
      ...(since ? { since } : {}),
      ...(until ? { until } : {}),
      ...(before ? { before } : {}),
      limit: limit + 1,
    });
    const page: EventsPage = { events: events.slice(0, limit) };
    if (events.length > limit) page.nextBefore = page.events[page.events.length - 1]!.id;
    res.json(page);
  });

  router.get('/:id/status', (req, res) => {
    const { record, live } = access(requestUser(res), req.params.id);
    res.json(statusView(req.params.id, record, live, now()));
  });

  return router;
}

function statusView(deviceId: string, record: Device | undefined, live: DeviceState | undefined, at: Date): DeviceStatusView {
  // A registered player the hub does not see right now is reported as the house would see it: disconnected, idle.
  const state = live ?? initialState(deviceId, at, { deviceId, name: record?.name ?? deviceId, online: false });
  return { deviceId, status: statusPayload(state, at), playback: playbackPayload(state, at) };
}

export function deviceView(record: Device | undefined, live: DeviceState | undefined): DeviceView {
  const deviceId = record?.deviceId ?? live?.deviceId ?? '';
  const room = record?.metadata['room'];
  const model = live?.model ?? live?.deviceFamily ?? record?.model;
  const lastSeen = live?.lastSeen ?? record?.lastSeen;
  return {
    deviceId,
    name: record?.name ?? live?.name ?? deviceId,
    ...(typeof room === 'string' ? { room } : {}),
    ...(model !== undefined ? { model } : {}),
    ...(record ? { source: record.source } : {}),
    registered: record?.userId !== undefined,
    ...(record?.userId !== undefined ? { userId: record.userId } : {}),
    ...(record ? { recordId: record.id } : {}),
    online: live?.online ?? false,
    status: live ? live.status : record ? 'disconnected' : 'unknown',
    ...(lastSeen !== undefined ? { lastSeen } : {}),
    metadata: record?.metadata ?? {},
    ...(record ? { createdAt: record.createdAt, updatedAt: record.updatedAt } : {}),
    state: live ?? null,
  };
}

function recordName(live: DeviceState | undefined): string {
  const name = live?.name.trim().slice(0, 100);
  return name || live?.deviceId.slice(0, 100) || 'Yoto player';
}

function recordModel(live: DeviceState | undefined): string {
  return (live?.model ?? live?.deviceFamily ?? 'unknown').slice(0, 100) || 'unknown';
}

/** HTTP status and error code per device command failure: a refusal is 409, a timeout 504, an unknown player 404. */
const COMMAND_ERROR_ANSWERS: Record<DeviceCommandError['code'], [status: number, code: string]> = {
  timeout: [504, 'command_timeout'],
  unknown_device: [404, 'not_found'],
  invalid_command: [400, 'invalid_command'],
  refused: [409, 'command_refused'],
  offline: [409, 'device_offline'],
  not_playing: [409, 'not_playing'],
};

/** The device command error as an HTTP answer (see COMMAND_ERROR_ANSWERS); any other error as it is. */
export function commandError(error: unknown): unknown {
  if (!(error instanceof DeviceCommandError)) return error;
  const [status, code] = COMMAND_ERROR_ANSWERS[error.code];
  return new ApiError(status, code, error.message, [{ path: '/command', message: error.message }]);
}

/** The event types of event.schema.json. */
export function eventTypeNames(): string[] {
  const schema = getValidator().schema('event') as { properties?: { type?: { enum?: unknown } } };
  const values = schema.properties?.type?.enum;
  return Array.isArray(values) ? values.filter((value): value is string => typeof value === 'string') : [];
}
