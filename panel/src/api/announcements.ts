import { auth } from '../state/auth-store';
import type { Announcement, BrokerAnnouncementMessage } from './types';

/** POST /api/announcements: 202 with the announcement and each player's status. */
export function postAnnouncement(request: BrokerAnnouncementMessage): Promise<Announcement> {
  return auth.json<Announcement>('/api/announcements', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(request),
  });
}

export function getAnnouncement(id: string): Promise<Announcement> {
  return auth.json<Announcement>(`/api/announcements/${encodeURIComponent(id)}`);
}

/** Whether every player is done with it (finished, failed, expired or skipped). */
export function isSettled(announcement: Announcement): boolean {
  return announcement.players.every((player) => player.status !== 'queued' && player.status !== 'playing');
}
