import { DeviceRegistry } from '../../server/core/device-registry';
import { protocolPlayback, type DeviceState } from '../../server/core/device-state';
import type { Clock } from '../../server/time/clock';
import type { YotoDeviceMessage, YotoMqttClient } from '../../server/yoto/mqtt';

/** What a player is playing, flattened the way the protocol names it (volume on the 0..16 scale). */
export interface FollowedPlayback {
  cardId?: string;
  chapterKey?: string;
  chapterTitle?: string;
  trackKey?: string;
  trackTitle?: string;
  position?: number;
  trackLength?: number;
  playbackStatus?: string;
  volume?: number;
  volumeMax?: number;
  sleepTimerActive?: boolean;
  sleepTimerSeconds?: number;
}

export function flatPlayback(state: DeviceState): FollowedPlayback {
  const view: FollowedPlayback = { ...protocolPlayback(state) };
  if (state.playback.chapterTitle !== undefined) view.chapterTitle = state.playback.chapterTitle;
  if (state.playback.trackTitle !== undefined) view.trackTitle = state.playback.trackTitle;
  if (state.volume?.level !== undefined) view.volume = state.volume.level;
  if (state.volume?.maxLevel !== undefined) view.volumeMax = state.volume.maxLevel;
  if (state.playback.sleepTimerActive !== undefined) view.sleepTimerActive = state.playback.sleepTimerActive;
  if (state.playback.sleepTimerSeconds !== undefined) view.sleepTimerSeconds = state.playback.sleepTimerSeconds;
  return view;
}

/**
 * The production device model (the core's DeviceRegistry) fed by an adapter,
 * the way the hub wires them: tests read what the hub would know of a player.
 */
export class FollowedPlayers {
  readonly registry: DeviceRegistry;
  private readonly onMessage = (message: YotoDeviceMessage): void => this.registry.ingest(message);

  constructor(private readonly client: YotoMqttClient, clock?: Clock) {
    this.registry = new DeviceRegistry({ silenceTimeoutMs: 0, offlineAlertMs: 0, ...(clock ? { clock } : {}) });
    client.on('message', this.onMessage);
  }

  get(deviceId: string): FollowedPlayback | undefined {
    const state = this.registry.get(deviceId);
    return state ? flatPlayback(state) : undefined;
  }

  stop(): void {
    this.client.off('message', this.onMessage);
    this.registry.stop();
  }
}
