import express, { type Router } from 'express';
import type { DeviceRegistry } from '../core/device-registry';
import { ApiError } from '../http/api-error';
import { mayAccess, requestUser, type RequestUser } from '../http/request-user';
import type { Announcement, BrokerAnnouncementMessage } from '../types/schemas';
import { getValidator } from '../validation';
import type { Announcer } from './announcer';
import { announcementTargets } from './targets';

export interface AnnouncementRoutesOptions {
  announcer: Pick<Announcer, 'announce' | 'list' | 'get'>;
  registry: Pick<DeviceRegistry, 'list' | 'has'>;
  /** The one ownership rule for players (`hub.canSeeDevice`). */
  canUse(user: RequestUser, deviceId: string): boolean;
  /** A library file (its owner), or undefined when there is no such file. */
  file(fileId: string): { userId: string } | undefined;
}

/**
 * /api/announcements: POST takes an announcement (the yoto/broadcast/announcements JSON) with the
 * rules of device commands: a member announces on their own players (others answer 404, like a
 * player that does not exist) and with their own library files. 202 with the announcement and
 * each player's status; GET lists the recent ones with their outcome per player.
 */
export function announcementRoutes(options: AnnouncementRoutesOptions): Router {
  const { announcer, registry, canUse } = options;
  const validator = getValidator();
  const router = express.Router();

  /** The announcement as `user` may see it: only their players' entries; undefined when none is theirs. */
  const visible = (user: RequestUser, record: Announcement): Announcement | undefined => {
    if (user.role === 'admin') return record;
    const players = record.players.filter((entry) => canUse(user, entry.deviceId));
    return players.length > 0 ? { ...record, players } : undefined;
  };

  const checkFile = (user: RequestUser, fileId: string, path: string): void => {
    const file = options.file(fileId);
    if (!file || !mayAccess(user, file.userId)) {
      // The id is not echoed: whether another user's file exists is not the caller's to learn.
      throw new ApiError(404, 'not_found', 'audio file not found', [{ path, message: 'is not a library file you may use' }]);
    }
  };

  router.post('/', (req, res) => {
    const user = requestUser(res);
    const request = validator.validate('broker-announcement', req.body) as BrokerAnnouncementMessage;
    if (request.audio_file_id !== undefined) checkFile(user, request.audio_file_id, '/audio_file_id');
    if (typeof request.chime === 'string') checkFile(user, request.chime, '/chime');
    const targets = announcementTargets(request, registry, (deviceId) => canUse(user, deviceId));
    if (!targets.ok && targets.code === 'unknown_player') {
      throw new ApiError(404, 'not_found', 'device not found', targets.missing.map(({ index }) => ({ path: `/device_ids/${index}`, message: 'is not a player you may use' })));
    }
    if (!targets.ok) throw new ApiError(409, targets.code, `${targets.message}; name the players in device_ids to be told why each did not play`);
    const handle = announcer.announce(request, targets.targets, 'api');
    res.status(202).location(`${req.baseUrl}/${handle.id}`).json(handle.view());
  });

  router.get('/', (_req, res) => {
    const user = requestUser(res);
    const announcements = announcer.list().flatMap((record) => visible(user, record) ?? []);
    res.json({ announcements });
  });

  router.get('/:id', (req, res) => {
    const user = requestUser(res);
    const record = announcer.get(req.params.id);
    const shown = record ? visible(user, record) : undefined;
    if (!shown) throw ApiError.notFound('announcement');
    res.json(shown);
  });

  return router;
}
