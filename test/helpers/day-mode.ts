import type { Hub } from '../../server/hub';
import type { BrokerWatcher } from './broker-watcher';
import { deviceStateWhere } from './device-state';

/**
 * Puts a player in day or night mode for the whole day, whatever the time the suite runs at
 * (the virtual players' night is 19:30-07:00 UTC by default, and night mode refuses normal
 * announcements and caps the volume): PATCH /api/devices/:id/settings with day and night times
 * that put now in the mode asked, then waits for the player's status topic to show it.
 */
export async function keepMode(hubUrl: string, token: string, house: BrokerWatcher, deviceId: string, mode: 'day' | 'night'): Promise<void> {
  const times = mode === 'day' ? { dayTime: '00:00', nightTime: '23:59' } : { dayTime: '23:59', nightTime: '00:00' };
  const from = house.mark;
  const answer = await fetch(`${hubUrl}/api/devices/${deviceId}/settings`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(times),
  });
  if (!answer.ok) throw new Error(`PATCH settings of ${deviceId}: ${answer.status} ${await answer.text()}`);
  const status = house.latest(`yoto/${deviceId}/status`).get(`yoto/${deviceId}/status`);
  if (status !== undefined && (JSON.parse(status) as { day_mode?: string }).day_mode === mode) return;
  await house.nextOn(`yoto/${deviceId}/status`, (json) => json['day_mode'] === mode, from);
}

/** Resolves once the hub's live model has the player in `mode` (at once if it already is): the device bus, no polling. */
export async function liveMode(hub: Hub, deviceId: string, mode: 'day' | 'night'): Promise<void> {
  await deviceStateWhere(hub, deviceId, (state) => state.dayMode === mode);
}
