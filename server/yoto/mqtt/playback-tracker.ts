import type { PlaybackStatus, YotoEventsMessage } from '../protocol';
import type { YotoDeviceMessage, YotoMqttClient } from './yoto-mqtt-client';

/** What a player is playing, assembled from its partial `data/events`. */
export interface DevicePlayback {
  /** "none" when idle */
  cardId: string;
  chapterKey?: string;
  chapterTitle?: string;
  trackKey?: string;
  trackTitle?: string;
  trackLength?: number;
  position?: number;
  playbackStatus?: PlaybackStatus | string;
  streaming?: boolean;
  /** 0..16 hardware scale */
  volume?: number;
  volumeMax?: number;
  sleepTimerActive?: boolean;
  sleepTimerSeconds?: number;
  /** When the last event arrived (ms since the epoch). */
  updatedAt: number;
}

const CARD_SCOPED: Array<keyof DevicePlayback> = ['chapterKey', 'chapterTitle', 'trackKey', 'trackTitle', 'trackLength', 'position'];

const KNOWN_FIELDS: Record<string, true> = {
  cardId: true,
  chapterKey: true,
  chapterTitle: true,
  trackKey: true,
  trackTitle: true,
  trackLength: true,
  position: true,
  playbackStatus: true,
  streaming: true,
  volume: true,
  volumeMax: true,
  sleepTimerActive: true,
  sleepTimerSeconds: true,
};

/** Merges a partial event into the playback it updates; a card change clears the card's fields. */
export function mergePlaybackEvent(previous: DevicePlayback | undefined, event: YotoEventsMessage, at: number): DevicePlayback {
  const next: DevicePlayback = { ...(previous ?? { cardId: 'none' }), updatedAt: at };
  if (event.cardId !== undefined && event.cardId !== next.cardId) {
    for (const field of CARD_SCOPED) delete next[field];
  }
  for (const [field, value] of Object.entries(event)) {
    if (Object.hasOwn(KNOWN_FIELDS, field) && value !== undefined) (next as unknown as Record<string, unknown>)[field] = value;
  }
  if (next.cardId === 'none') for (const field of CARD_SCOPED) delete next[field];
  return next;
}

/**
 * Keeps the latest playback of every player a YotoMqttClient follows. The
 * device commander reads it for next, previous and seek when no richer device
 * model is at hand.
 */
export class PlaybackTracker {
  private readonly playbacks = new Map<string, DevicePlayback>();
  private readonly onMessage = (message: YotoDeviceMessage): void => {
    if (message.kind !== 'events') return;
    this.playbacks.set(message.deviceId, mergePlaybackEvent(this.playbacks.get(message.deviceId), message.payload, message.receivedAt.getTime()));
  };

  constructor(private readonly client: YotoMqttClient) {
    client.on('message', this.onMessage);
  }

  get(deviceId: string): DevicePlayback | undefined {
    return this.playbacks.get(deviceId);
  }

  stop(): void {
    this.client.off('message', this.onMessage);
    this.playbacks.clear();
  }
}
