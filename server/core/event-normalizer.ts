import type { DeviceEvent } from '../types/schemas';
import type { DeviceState, PlaybackState } from './device-state';

export type DeviceEventType = DeviceEvent['type'];

/** An event before it gets its id, device and time. `data` uses camelCase keys. */
export interface PendingEvent {
  type: DeviceEventType;
  data: Record<string, unknown>;
}

export interface TransitionContext {
  /** Battery percent below which `battery_low` is reported. */
  batteryLowPercent: number;
  /** Why presence changed (e.g. "silence", "cloud", "shutdown", "message"), reported with online/offline. */
  presenceReason?: string;
  /** The player's raw `shutDown` value, reported with `shutdown`. */
  shutDownValue?: string;
}

const ACTIVE: ReadonlySet<PlaybackState | undefined> = new Set<PlaybackState | undefined>(['playing', 'paused', 'loading']);
const ENDED: ReadonlySet<PlaybackState | undefined> = new Set<PlaybackState | undefined>(['stopped', 'idle']);

/**
 * The events a change of state means, in the order a listener would tell the
 * story: the player came online, a card went in, playback started, ... It is
 * a pure function of the two states, so replaying the same messages always
 * gives the same events, and a duplicate message (no change) gives none.
 */
export function transitionEvents(previous: DeviceState, next: DeviceState, context: TransitionContext): PendingEvent[] {
  return [
    ...presenceOnline(previous, next, context),
    ...cardEvents(previous, next),
    ...playbackEvents(previous, next),
    ...trackEvents(previous, next),
    ...volumeEvents(previous, next),
    ...batteryEvents(previous, next, context),
    ...shutdownEvents(previous, next, context),
    ...presenceOffline(previous, next, context),
  ];
}

function presenceOnline(previous: DeviceState, next: DeviceState, context: TransitionContext): PendingEvent[] {
  if (previous.online || !next.online) return [];
  return [{ type: 'online', data: withReason({ lastSeen: next.lastSeen }, context) }];
}

function presenceOffline(previous: DeviceState, next: DeviceState, context: TransitionContext): PendingEvent[] {
  if (!previous.online || next.online) return [];
  return [{ type: 'offline', data: withReason({ lastSeen: next.lastSeen }, context) }];
}

function shutdownEvents(previous: DeviceState, next: DeviceState, context: TransitionContext): PendingEvent[] {
  if (previous.shutDown || !next.shutDown) return [];
  return [{ type: 'shutdown', data: defined({ shutDown: context.shutDownValue, battery: next.battery }) }];
}

function cardEvents(previous: DeviceState, next: DeviceState): PendingEvent[] {
  // The first time the hub learns whether a card is in is not an insertion.
  if (previous.playback.hasCard === undefined) return [];
  const before = previous.playback.cardId;
  const after = next.playback.cardId;
  if (before === after) return [];
  const events: PendingEvent[] = [];
  if (before !== undefined) events.push({ type: 'card_removed', data: { cardId: before } });
  if (after !== undefined) events.push({ type: 'card_inserted', data: defined({ cardId: after, source: next.playback.source }) });
  return events;
}

function playbackEvents(previous: DeviceState, next: DeviceState): PendingEvent[] {
  const before = previous.playback.state;
  const after = next.playback.state;
  if (before === undefined || before === after) return [];
  const data = playbackData(next);
  // Loading is not playing yet: a start is reported when the audio actually plays.
  if (after === 'playing') return [{ type: 'playback_started', data: { ...data, resumed: before === 'paused' } }];
  if (after === 'paused') return [{ type: 'playback_paused', data }];
  if (ENDED.has(after) && ACTIVE.has(before)) {
    return [{ type: 'playback_stopped', data: defined({ cardId: previous.playback.cardId, chapterKey: previous.playback.chapterKey, trackKey: previous.playback.trackKey }) }];
  }
  return [];
}

function trackEvents(previous: DeviceState, next: DeviceState): PendingEvent[] {
  const before = previous.playback;
  const after = next.playback;
  if (before.cardId === undefined || before.cardId !== after.cardId) return [];
  if (before.trackKey === undefined && before.chapterKey === undefined) return [];
  if (before.trackKey === after.trackKey && before.chapterKey === after.chapterKey) return [];
  return [{ type: 'track_changed', data: { ...playbackData(next), ...defined({ previousChapterKey: before.chapterKey, previousTrackKey: before.trackKey }) } }];
}

function volumeEvents(previous: DeviceState, next: DeviceState): PendingEvent[] {
  if (!previous.volume || !next.volume || previous.volume.level === next.volume.level) return [];
  return [{ type: 'volume_changed', data: { volume: next.volume.percent, level: next.volume.level, previousVolume: previous.volume.percent } }];
}

function batteryEvents(previous: DeviceState, next: DeviceState, context: TransitionContext): PendingEvent[] {
  const threshold = context.batteryLowPercent;
  if (next.battery === undefined || next.battery >= threshold) return [];
  if (previous.battery !== undefined && previous.battery < threshold) return [];
  return [{ type: 'battery_low', data: defined({ battery: next.battery, threshold, charging: next.charging }) }];
}

function playbackData(state: DeviceState): Record<string, unknown> {
  const playback = state.playback;
  return defined({
    cardId: playback.cardId,
    chapterKey: playback.chapterKey,
    chapterTitle: playback.chapterTitle,
    trackKey: playback.trackKey,
    trackTitle: playback.trackTitle,
    position: playback.position,
    duration: playback.duration,
  });
}

function withReason(data: Record<string, unknown>, context: TransitionContext): Record<string, unknown> {
  return defined({ ...data, reason: context.presenceReason });
}

function defined(fields: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) result[key] = value;
  return result;
}
