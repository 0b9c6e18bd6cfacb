import { ManualClock } from '../../server/time/clock';
import { DeviceRegistry, type DeviceRegistryOptions } from '../../server/core/device-registry';
import type { DeviceEvent, PlaybackSession } from '../../server/types/schemas';
import type { DeviceTopicKind } from '../../server/yoto/protocol';
import { playerMessage } from '../helpers/player-message';

export interface RegistryHarness {
  registry: DeviceRegistry;
  clock: ManualClock;
  /** What reached the event log, in order. */
  logged: DeviceEvent[];
  /** Every save of a playback session, in order. */
  saved: PlaybackSession[];
  /** Delivers a message stamped with the clock's time. */
  send(deviceId: string, kind: DeviceTopicKind, payload: unknown): void;
  types(deviceId?: string): string[];
}

/** A registry on a manual clock, with the event log and playback history as plain lists. */
export function registryHarness(options: Omit<DeviceRegistryOptions, 'clock' | 'eventLog' | 'history'> = {}): RegistryHarness {
  const clock = new ManualClock(Date.UTC(2026, 0, 10, 8, 0, 0));
  const logged: DeviceEvent[] = [];
  const saved: PlaybackSession[] = [];
  const registry = new DeviceRegistry({
    ...options,
    clock,
    eventLog: { append: (event) => logged.push(event) },
    history: { save: (session) => saved.push(session) },
  });
  return {
    registry,
    clock,
    logged,
    saved,
    send: (deviceId, kind, payload) => registry.ingest(playerMessage(deviceId, kind, payload, new Date(clock.now()))),
    types: (deviceId) => logged.filter((event) => deviceId === undefined || event.deviceId === deviceId).map((event) => event.type),
  };
}
