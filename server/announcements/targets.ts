import type { DeviceRegistry } from '../core/device-registry';
import type { BrokerAnnouncementMessage } from '../types/schemas';

export type TargetsResult =
  | { ok: true; targets: string[] }
  | { ok: false; code: 'unknown_player'; message: string; missing: Array<{ index: number; deviceId: string }> }
  | { ok: false; code: 'no_player_online'; message: string };

/**
 * The players an announcement goes to, for a sender who may use the players `mayUse` accepts:
 * the ones it lists (each must be a player the hub sees and the sender may use), or else every
 * online player the sender may use. An offline player it lists is a target: it is reported
 * (skipped, reason offline), not refused here.
 */
export function announcementTargets(
  request: Pick<BrokerAnnouncementMessage, 'device_ids'>,
  registry: Pick<DeviceRegistry, 'list' | 'has'>,
  mayUse: (deviceId: string) => boolean = () => true,
): TargetsResult {
  if (request.device_ids) {
    const missing = request.device_ids.map((deviceId, index) => ({ deviceId, index })).filter(({ deviceId }) => !registry.has(deviceId) || !mayUse(deviceId));
    if (missing.length > 0) return { ok: false, code: 'unknown_player', message: `unknown player(s): ${missing.map((m) => m.deviceId).join(', ')}`, missing };
    return { ok: true, targets: [...request.device_ids] };
  }
  const targets = registry.list().filter((state) => state.online && mayUse(state.deviceId)).map((state) => state.deviceId);
  if (targets.length === 0) return { ok: false, code: 'no_player_online', message: 'no player is online to announce on' };
  return { ok: true, targets };
}

/**
 * A payload of yoto/<id>/announce: the announcement JSON, or anything else (plain text, as Home
 * Assistant's MQTT notify sends) taken as `{text: payload}`.
 */
export function announcePayload(raw: Buffer): unknown {
  const text = raw.toString('utf8');
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed;
  } catch {
    // not JSON: plain text to say
  }
  return { text: text.trim() };
}
