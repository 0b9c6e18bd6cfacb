import type { YotoCard } from '../card';
import { DeviceCommandError, type DeviceCommand, type DeviceCommandType } from '../device-command';
import {
  cardUri,
  HARDWARE_VOLUME_MAX,
  percentToHardwareVolume,
  SHUTDOWN_RUNNING,
  type CardStartPayload,
  type CommandName,
  type YotoEventsMessage,
} from '../protocol';
import { describeMissingKeys, findTrack, neighbourTrack, type TrackPosition } from './card-navigation';

/** What the commander knows of a player's playback; the core's device model provides it. */
export interface CommanderPlayback {
  /** "none" when idle */
  cardId?: string;
  chapterKey?: string;
  trackKey?: string;
  /** Seconds */
  position?: number;
  /** Seconds */
  trackLength?: number;
  playbackStatus?: string;
  /** 0..16: the player's maximum-volume cap; it never goes above it. */
  volumeMax?: number;
}

/** What the player said since the command was sent. */
export interface ObservedSinceSend {
  /** The playback when the command was sent. */
  baseline: CommanderPlayback | undefined;
  /** Every `data/events` field received since, merged. */
  events: YotoEventsMessage;
  statusSeen: boolean;
  eventsSeen: boolean;
  /** `shutDown` of a legacy status received since. */
  shutDown?: string;
}

export interface CommandPlan {
  mqttCommand: CommandName;
  body: string;
  /** True once what the player published shows the command took effect. */
  isConfirmed?: (observed: ObservedSinceSend) => boolean;
  /** Said along with a FAIL ack, to tell the user what to fix. */
  refusalHint?: string;
}

export interface PlanContext {
  deviceId: string;
  playback: CommanderPlayback | undefined;
  /** The player's volume on the 0..16 scale and its current maximum, for a volume step. */
  volume?: { level: number; max: number } | undefined;
  getCard: (cardId: string) => Promise<YotoCard | undefined>;
  trackingBody: () => string;
}

const CARD_ID = /^[A-Za-z0-9]+$/;

function invalid(context: PlanContext, command: DeviceCommand, message: string): DeviceCommandError {
  return new DeviceCommandError('invalid_command', message, context.deviceId, command.type);
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function isKey(value: unknown): boolean {
  return value === undefined || (typeof value === 'string' && value.length > 0);
}

function cardStartBody(payload: CardStartPayload): string {
  const body: CardStartPayload = { uri: payload.uri };
  if (payload.chapterKey !== undefined) body.chapterKey = payload.chapterKey;
  if (payload.trackKey !== undefined) body.trackKey = payload.trackKey;
  if (payload.secondsIn !== undefined) body.secondsIn = payload.secondsIn;
  // Players take whole seconds (as the working clients send them).
  if (payload.cutOff !== undefined) body.cutOff = Math.round(payload.cutOff);
  if (payload.anyButtonStop !== undefined) body.anyButtonStop = payload.anyButtonStop;
  return JSON.stringify(body);
}

/** The merged view: what was known at send time, overlaid with what arrived since. */
function current(observed: ObservedSinceSend): CommanderPlayback {
  return { ...observed.baseline, ...observed.events };
}

/** Confirmed when the player reports the target card (and keys) playing after the command. */
function startedPlaying(cardId: string, chapterKey?: string, trackKey?: string) {
  return (observed: ObservedSinceSend): boolean => {
    const { events } = observed;
    const moved = events.cardId !== undefined || events.chapterKey !== undefined || events.trackKey !== undefined;
    const now = current(observed);
    return (
      moved &&
      now.cardId === cardId &&
      now.playbackStatus === 'playing' &&
      (chapterKey === undefined || now.chapterKey === chapterKey) &&
      (trackKey === undefined || now.trackKey === trackKey)
    );
  };
}

async function planPlay(command: Extract<DeviceCommand, { type: 'play' }>, context: PlanContext): Promise<CommandPlan> {
  if (typeof command.cardId !== 'string' || !CARD_ID.test(command.cardId)) throw invalid(context, command, `"${String(command.cardId)}" is not a card id`);
  if (!isKey(command.chapterKey) || !isKey(command.trackKey)) throw invalid(context, command, 'chapterKey and trackKey must be non-empty strings');
  if (command.secondsIn !== undefined && (!isFiniteNumber(command.secondsIn) || command.secondsIn < 0)) throw invalid(context, command, 'secondsIn must be a number of seconds, 0 or more');
  if (command.cutOff !== undefined && (!isFiniteNumber(command.cutOff) || command.cutOff <= 0)) throw invalid(context, command, 'cutOff must be a positive number of seconds');
  const card = await context.getCard(command.cardId).catch(() => undefined);
  const hint = card ? describeMissingKeys(card, command.chapterKey, command.trackKey) : undefined;
  return {
    mqttCommand: 'card/start',
    body: cardStartBody({
      uri: cardUri(command.cardId),
      chapterKey: command.chapterKey,
      trackKey: command.trackKey,
      secondsIn: command.secondsIn === undefined ? undefined : Math.round(command.secondsIn),
      cutOff: command.cutOff,
      anyButtonStop: command.anyButtonStop,
    }),
    isConfirmed: startedPlaying(command.cardId, command.chapterKey, command.trackKey),
    ...(hint ? { refusalHint: hint } : {}),
  };
}

/** The card and track the player is on, for commands relative to them. */
async function currentTrack(command: DeviceCommand, context: PlanContext): Promise<{ card: YotoCard; at: TrackPosition }> {
  const cardId = context.playback?.cardId;
  if (!cardId || cardId === 'none') {
    throw new DeviceCommandError('not_playing', `${context.deviceId} has no card playing, so there is nothing to ${command.type}`, context.deviceId, command.type);
  }
  const card = await context.getCard(cardId).catch(() => undefined);
  if (!card) throw invalid(context, command, `card ${cardId} is not in the library, so its tracks are unknown`);
  const at = findTrack(card, context.playback?.chapterKey, context.playback?.trackKey);
  if (!at) throw invalid(context, command, `the player's track (${context.playback?.chapterKey}/${context.playback?.trackKey}) is not on card ${cardId}`);
  return { card, at };
}

async function planStep(command: Extract<DeviceCommand, { type: 'next' | 'previous' }>, context: PlanContext): Promise<CommandPlan> {
  const { card, at } = await currentTrack(command, context);
  if (card.content.config?.disableTrackNav) throw invalid(context, command, `card ${card.cardId} turns track navigation off (an interactive story moves by its buttons)`);
  const target = neighbourTrack(card, at, command.type === 'next' ? 1 : -1);
  if (!target) throw invalid(context, command, command.type === 'next' ? 'already on the last track of the card' : 'already on the first track of the card');
  return {
    mqttCommand: 'card/start',
    body: cardStartBody({ uri: cardUri(card.cardId), chapterKey: target.chapter.key, trackKey: target.track.key }),
    isConfirmed: startedPlaying(card.cardId, target.chapter.key, target.track.key),
  };
}

async function planSeek(command: Extract<DeviceCommand, { type: 'seek' }>, context: PlanContext): Promise<CommandPlan> {
  if (!isFiniteNumber(command.position) || command.position < 0) throw invalid(context, command, 'position must be a number of seconds, 0 or more');
  const { card, at } = await currentTrack(command, context);
  const length = context.playback?.trackLength ?? at.track.duration;
  if (length !== undefined && command.position > length) throw invalid(context, command, `position ${command.position}s is past the end of the track (${length}s)`);
  return {
    mqttCommand: 'card/start',
    body: cardStartBody({ uri: cardUri(card.cardId), chapterKey: at.chapter.key, trackKey: at.track.key, secondsIn: Math.round(command.position) }),
  };
}

function isColour(value: unknown): value is { r: number; g: number; b: number } {
  if (typeof value !== 'object' || value === null) return false;
  const { r, g, b } = value as Record<string, unknown>;
  return [r, g, b].every((c) => Number.isInteger(c) && (c as number) >= 0 && (c as number) <= 255);
}

/** Turns one typed command into the Yoto MQTT command that carries it. */
export async function planCommand(command: DeviceCommand, context: PlanContext): Promise<CommandPlan> {
  switch (command.type) {
    case 'play':
      return planPlay(command, context);
    case 'next':
    case 'previous':
      return planStep(command, context);
    case 'seek':
      return planSeek(command, context);
    case 'pause':
      return { mqttCommand: 'card/pause', body: context.trackingBody(), isConfirmed: (o) => o.events.playbackStatus === 'paused' };
    case 'resume':
      return { mqttCommand: 'card/resume', body: context.trackingBody(), isConfirmed: (o) => o.events.playbackStatus === 'playing' };
    case 'stop':
      return { mqttCommand: 'card/stop', body: context.trackingBody(), isConfirmed: (o) => o.events.playbackStatus === 'stopped' || o.events.cardId === 'none' };
    case 'volume': {
      if (!isFiniteNumber(command.percent) || command.percent < 0 || command.percent > 100) throw invalid(context, command, 'volume must be a percentage from 0 to 100');
      const level = percentToHardwareVolume(command.percent);
      // A player with a maximum-volume cap stops at the cap: reaching it confirms the command.
      const reached = (o: ObservedSinceSend): number => {
        const cap = o.events.volumeMax ?? o.baseline?.volumeMax;
        return cap !== undefined ? Math.min(level, cap) : level;
      };
      return { mqttCommand: 'volume/set', body: JSON.stringify({ volume: Math.round(command.percent) }), isConfirmed: (o) => o.events.volume === reached(o) };
    }
    case 'sleep': {
      if (!isFiniteNumber(command.seconds) || command.seconds < 0) throw invalid(context, command, 'sleep timer seconds must be 0 (off) or more');
      const seconds = Math.round(command.seconds);
      return { mqttCommand: 'sleep-timer/set', body: JSON.stringify({ seconds }), isConfirmed: (o) => o.events.sleepTimerActive === seconds > 0 };
    }
    case 'nightlight': {
      const colour = command.color === 'off' ? { r: 0, g: 0, b: 0 } : command.color;
      if (!isColour(colour)) throw invalid(context, command, 'night light colour must be "off" or {r, g, b} with whole numbers from 0 to 255');
      return { mqttCommand: 'ambients/set', body: JSON.stringify({ r: colour.r, g: colour.g, b: colour.b }) };
    }
    case 'volume-step': {
      if (!Number.isInteger(command.steps) || command.steps < -16 || command.steps > 16) throw invalid(context, command, 'steps must be a whole number from -16 to 16');
      const volume = context.volume;
      if (!volume) throw invalid(context, command, `${context.deviceId} has not reported its volume yet, so there is nothing to step from`);
      const level = Math.min(volume.max, Math.max(0, volume.level + command.steps));
      const percent = Math.round((level / HARDWARE_VOLUME_MAX) * 100);
      return { mqttCommand: 'volume/set', body: JSON.stringify({ volume: percent }), isConfirmed: (o) => o.events.volume === level };
    }
    case 'display-preview': {
      if (typeof command.icon !== 'string' || command.icon.length === 0 || command.icon.length > 512) throw invalid(context, command, 'icon must be an icon reference such as "yoto:#<mediaId>"');
      const seconds = command.seconds ?? 10;
      if (!Number.isInteger(seconds) || seconds < 1 || seconds > 300) throw invalid(context, command, 'seconds must be a whole number from 1 to 300');
      return { mqttCommand: 'display/preview', body: JSON.stringify({ uri: command.icon, timeout: seconds, animated: command.animated ? 1 : 0 }) };
    }
    case 'bluetooth':
      return command.on
        ? { mqttCommand: 'bluetooth/on', body: JSON.stringify({ action: 'on', mode: true }), refusalHint: 'Bluetooth is switched off in the player\'s settings (bluetoothEnabled)' }
        : { mqttCommand: 'bluetooth/off', body: context.trackingBody() };
    case 'reboot':
      return { mqttCommand: 'reboot', body: context.trackingBody(), isConfirmed: (o) => o.shutDown !== undefined && o.shutDown !== SHUTDOWN_RUNNING };
    case 'status-request':
      return { mqttCommand: 'status/request', body: context.trackingBody(), isConfirmed: (o) => o.statusSeen };
    case 'events-request':
      return { mqttCommand: 'events/request', body: context.trackingBody(), isConfirmed: (o) => o.eventsSeen };
    default: {
      // Reached only by untyped callers (a flow, a REST body): report the type they sent.
      const unknown: { type?: unknown } = command;
      throw new DeviceCommandError('invalid_command', `unknown command ${JSON.stringify(unknown.type)}`, context.deviceId, unknown.type as DeviceCommandType);
    }
  }
}
