import type { EventEmitter } from 'node:events';
import type { DeviceRegistry } from '../core/device-registry';
import type { StreamServed, StreamServiceEvents } from './index';

export interface StreamFailureAlertOptions {
  /** The stream service's `served` events. */
  events: EventEmitter<StreamServiceEvents>;
  /** Where the alerts go: the event log, the WebSocket, the home broker and the nodes all follow it. */
  registry: Pick<DeviceRegistry, 'get' | 'recordEvent'>;
  /** Milliseconds since the epoch. */
  now?: () => number;
  /**
   * A player that keeps retrying the same broken stream raises one alert per
   * this many milliseconds, not one per request (a different failure of the
   * same stream is news and raises its own). Default five minutes.
   */
  repeatAfterMs?: number;
}

const WHY: Record<string, string> = {
  expired: 'its stream link has expired; deploy the script again',
  revoked: 'its stream link was revoked; deploy the script again',
  wrong_target: 'its stream link is for another stream',
  not_found: 'the audio is no longer on the hub',
  missing_on_disk: "the audio file is missing from the hub's storage",
  storage_unavailable: "the hub's audio storage is unavailable",
};

/**
 * Turns failed player stream requests into `alert` events
 * (`{alert: 'stream_failed', message, status, reason, ...}`) on the player
 * that made them, so the Dashboard, flows and the home broker hear that a
 * card will not play. Only failures that name a player count: the device id
 * comes from the signed stream token, so a forged URL cannot raise an alert.
 * Returns a function that stops listening.
 */
export function raiseStreamFailureAlerts(options: StreamFailureAlertOptions): () => void {
  const now = options.now ?? Date.now;
  const repeatAfterMs = options.repeatAfterMs ?? 5 * 60_000;
  const lastRaised = new Map<string, number>();

  const onServed = (served: StreamServed): void => {
    if (served.status < 400 || served.deviceId === undefined) return;
    const device = options.registry.get(served.deviceId);
    if (!device) return;
    const key = `${served.deviceId} ${served.kind} ${served.id} ${served.status} ${served.reason ?? ''}`;
    const at = now();
    const previous = lastRaised.get(key);
    if (previous !== undefined && at - previous < repeatAfterMs) return;
    // Forget failures outside the window, so the map holds only recent ones however long the hub runs.
    for (const [seen, when] of lastRaised) if (at - when >= repeatAfterMs) lastRaised.delete(seen);
    lastRaised.set(key, at);
    const what = served.kind === 'smart' ? 'a smart stream' : served.kind === 'speech' ? 'spoken audio' : 'an audio stream';
    const why = WHY[served.reason ?? ''] ?? `the hub answered ${served.status}`;
    options.registry.recordEvent(served.deviceId, 'alert', {
      alert: 'stream_failed',
      message: `${device.name} could not play ${what}: ${why}`,
      status: served.status,
      ...(served.reason !== undefined ? { reason: served.reason } : {}),
      stream: served.kind,
      streamId: served.id,
      ...(served.scriptId !== undefined ? { scriptId: served.scriptId } : {}),
    });
  };

  options.events.on('served', onServed);
  return () => {
    options.events.off('served', onServed);
    lastRaised.clear();
  };
}
