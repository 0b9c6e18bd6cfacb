import express, { type Router } from 'express';
import type { DeviceRegistry } from '../core/device-registry';
import { visibleDeviceIds } from '../devices/ownership';
import { QueryReader } from '../devices/query-params';
import type { CardDirectory } from '../cards/card-directory';
import { ApiError } from '../http/api-error';
import { requestUser } from '../http/request-user';
import { silentLogger, type Logger } from '../log/logger';
import type { Store } from '../store';
import type { DeviceEvent, PlaybackSession } from '../types/schemas';
import { dayOf, Rollups, type LiveExtra, type Range } from './rollups';

export interface AnalyticsApiOptions {
  store: Pick<Store, 'devices' | 'events' | 'playbackHistory'>;
  registry: DeviceRegistry;
  logger?: Logger;
  /** What the cards are (server/cards/card-directory.ts): their titles go with /content and the overview's top content. */
  cards?: Pick<CardDirectory, 'get' | 'learnFamily'>;
  now?: () => Date;
  /** Most events read from the log when rebuilding at start. Default 2,000,000. */
  rebuildLimit?: number;
}

export interface AnalyticsApi {
  /** Mount at /api/analytics, behind the authentication middleware. */
  router: Router;
  /** Resolves once the rollups are rebuilt from the event log and the playback history. */
  ready: Promise<void>;
  /** Detaches from the registry. */
  stop(): void;
  /** The rollups themselves (tests, other surfaces). */
  rollups: Rollups;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const DEFAULT_RANGE_DAYS = 30;
const MAX_RANGE_DAYS = 3660;
const DEVICE_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * /api/analytics. Rollups per player per UTC day (listening seconds and plays
 * per card from playback sessions, events by type from the event log) are
 * kept in memory and updated as the registry emits events and sessions.
 *
 * They are rebuilt once at start rather than persisted: the event log and the
 * playback_history collection are already the durable record, a rebuild is
 * one sequential read of the (size- and age-bounded) log, and no second copy
 * can drift from the source or need its own migrations. Requests never scan
 * the log.
 */
export function createAnalyticsApi(options: AnalyticsApiOptions): AnalyticsApi {
  const { store, registry } = options;
  const logger = options.logger ?? silentLogger;
  const now = options.now ?? (() => new Date());
  const rollups = new Rollups();

  // Attached before the rebuild reads anything, so nothing that happens meanwhile is missed;
  // events seen live are remembered so the log scan does not count them twice.
  let seenLive: Map<string, DeviceEvent> | undefined = new Map();
  const onEvent = (event: DeviceEvent): void => {
    seenLive?.set(event.id, event);
    rollups.addEvent(event);
  };
  const onSession = (session: PlaybackSession): void => rollups.addSession(session);
  const owner = 'analytics';
  registry.bus.on(owner, 'event', onEvent);
  registry.bus.on(owner, 'session', onSession);
  for (const session of store.playbackHistory.list()) rollups.addSession(session);

  const ready = (async () => {
    const started = Date.now();
    let counted = 0;
    if (store.events.dailyCounts) {
      // The log counts for itself (PostgreSQL): per device, day and type, without reading every event.
      const { counts, included } = await store.events.dailyCounts(() => seenLive?.keys() ?? []);
      for (const { deviceId, day, type, count } of counts) {
        rollups.addEventCount(deviceId, day, type, count);
        counted += count;
      }
      for (const id of included) {
        const event = seenLive?.get(id);
        const day = event && dayOf(event.timestamp);
        if (!event || !day) continue;
        rollups.addEventCount(event.deviceId, day, event.type, -1);
        counted--;
      }
    } else {
      const events = await store.events.query({ limit: options.rebuildLimit ?? 2_000_000 });
      const seen = seenLive ?? new Map<string, DeviceEvent>();
      for (const event of events) {
        if (seen.has(event.id)) continue;
        rollups.addEvent(event);
        counted++;
      }
    }
    seenLive = undefined;
    logger.info('analytics rebuilt from the event log', { events: counted, ms: Date.now() - started });
  })().catch((error: unknown) => {
    seenLive = undefined;
    logger.error('analytics could not read the event log; counting new events only', { err: error });
  });

  const live: LiveExtra = (deviceId, sessionId, reported) => {
    const current = registry.currentSession(deviceId);
    return current && current.id === sessionId ? Math.max(0, (current.durationPlayed ?? 0) - reported) : 0;
  };

  const router = express.Router();
  router.use(async (_req, _res, next) => {
    await ready;
    next();
  });

  router.get('/overview', async (req, res) => {
    const user = requestUser(res);
    const range = readRange(req.query as Record<string, unknown>, now());
    const visible = visibleDeviceIds(store.devices, user);
    const devices = rollups.deviceTotals(range.days, visible, live);
    const eventsByType: Record<string, number> = {};
    for (const device of devices) for (const [type, count] of Object.entries(device.eventsByType)) eventsByType[type] = (eventsByType[type] ?? 0) + count;
    const content = rollups.content(range.days, visible, live);
    res.json({
      from: range.from,
      to: range.to,
      activeDevices: devices.length,
      listeningSeconds: round(devices.reduce((sum, d) => sum + d.listeningSeconds, 0)),
      sessions: devices.reduce((sum, d) => sum + d.sessions, 0),
      plays: content.reduce((sum, c) => sum + c.plays, 0),
      events: devices.reduce((sum, d) => sum + d.events, 0),
      eventsByType,
      topContent: await withTitles(content.slice(0, 5), options.cards),
      days: rollups.days(range.days, visible, live),
    });
  });

  router.get('/devices', (req, res) => {
    const user = requestUser(res);
    const range = readRange(req.query as Record<string, unknown>, now());
    const visible = visibleDeviceIds(store.devices, user);
    const names = new Map(store.devices.list().map((record) => [record.deviceId, record.name]));
    const devices = rollups
      .deviceTotals(range.days, visible, live)
      .map((d) => ({ ...d, name: names.get(d.deviceId) ?? registry.get(d.deviceId)?.name ?? d.deviceId }))
      .sort((a, b) => b.listeningSeconds - a.listeningSeconds || b.events - a.events || a.deviceId.localeCompare(b.deviceId));
    res.json({ from: range.from, to: range.to, devices });
  });

  router.get('/content', async (req, res) => {
    const user = requestUser(res);
    const range = readRange(req.query as Record<string, unknown>, now());
    const visible = visibleDeviceIds(store.devices, user);
    res.json({ from: range.from, to: range.to, content: await withTitles(rollups.content(range.days, visible, live), options.cards) });
  });

  router.get('/playback', (req, res) => {
    const user = requestUser(res);
    const query = new QueryReader(req.query as Record<string, unknown>);
    const deviceId = query.string('deviceId', { pattern: DEVICE_ID, max: 128 });
    const limit = query.integer('limit', 1, 1000) ?? 100;
    const range = readRange(req.query as Record<string, unknown>, now(), query);
    const visible = visibleDeviceIds(store.devices, user);
    if (deviceId && visible && !visible.has(deviceId)) throw ApiError.notFound('device');
    const fromMs = Date.parse(range.from);
    const toMs = Date.parse(range.to);
    const sessions = store.playbackHistory
      .list((s) => {
        if (deviceId && s.deviceId !== deviceId) return false;
        if (visible && !visible.has(s.deviceId)) return false;
        const at = Date.parse(s.startedAt);
        return at >= fromMs && at <= toMs;
      })
      .sort((a, b) => b.startedAt.localeCompare(a.startedAt));
    res.json({
      from: range.from,
      to: range.to,
      total: sessions.length,
      sessions: sessions.slice(0, limit).map((s) => {
        const current = s.completedAt === undefined ? registry.currentSession(s.deviceId) : undefined;
        return current && current.id === s.id ? { ...s, durationPlayed: current.durationPlayed } : s;
      }),
    });
  });

  return {
    router,
    ready,
    rollups,
    stop() {
      registry.bus.off(owner);
    },
  };
}

interface ReadRange {
  from: string;
  to: string;
  days: Range;
}

/** `from` and `to` (ISO dates or date-times); by default the last 30 days up to now. Days are UTC. */
function readRange(values: Record<string, unknown>, now: Date, shared?: QueryReader): ReadRange {
  const query = shared ?? new QueryReader(values);
  const to = query.time('to') ?? now;
  const from = query.time('from') ?? new Date(to.getTime() - DEFAULT_RANGE_DAYS * DAY_MS);
  query.done();
  if (from.getTime() > to.getTime()) {
    throw new ApiError(400, 'validation_failed', 'from must not be after to', [{ path: '/query/from', message: 'must not be after to' }]);
  }
  if (to.getTime() - from.getTime() > MAX_RANGE_DAYS * DAY_MS) {
    throw new ApiError(400, 'validation_failed', `the range may span at most ${MAX_RANGE_DAYS} days`, [{ path: '/query/from', message: 'is too far before to' }]);
  }
  // A bare date as `to` means the whole of that day.
  const toValue = typeof values['to'] === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(values['to']) ? new Date(to.getTime() + DAY_MS - 1) : to;
  return { from: from.toISOString(), to: toValue.toISOString(), days: { fromDay: dayOf(from)!, toDay: dayOf(toValue)! } };
}

/** Each card with its title where the card directory knows it (after reading the family library once if some are not known). */
async function withTitles<T extends { cardId: string }>(content: readonly T[], cards: AnalyticsApiOptions['cards']): Promise<Array<T & { title?: string }>> {
  if (!cards) return [...content];
  if (content.some((c) => cards.get(c.cardId) === undefined)) await cards.learnFamily();
  return content.map((c) => {
    const title = cards.get(c.cardId)?.title;
    return title ? { ...c, title } : c;
  });
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
