import { HARDWARE_VOLUME_MAX, hardwareVolumeToPercent, percentToHardwareVolume, type YotoEventsMessage } from '../yoto/protocol';
import type { PlayerStatus } from '../yoto/mqtt/player-messages';
import {
  CARD_SLOTS,
  connectionStatus,
  isDevicePlaybackStatus,
  modelHasNightLight,
  playbackState,
  type CloudDeviceInfo,
  type DeviceState,
  type DeviceTelemetry,
  type DeviceVolume,
  type PlaybackInfo,
} from './device-state';

/**
 * Pure merges of one message into the last known state. Each returns a new
 * state (the old one is left as it was); `status` and `playback.state` are
 * derived again by `withDerivedFields`.
 */

const NO_CARD = 'none';

/** Fields that belong to the card playing; a new card (or none) starts without them. */
const CARD_FIELDS = ['cardTitle', 'cardAuthor', 'cardCover', 'chapterKey', 'chapterTitle', 'trackKey', 'trackTitle', 'position', 'duration', 'source'] as const;

/** What the house is told of a card: its title, author and cover (server/cards/card-directory.ts). */
export interface CardDescription {
  title: string;
  author?: string;
  cover?: string;
}

/** The card's title, author and cover on the playback, while that card is the one playing (else the same state). */
export function applyCardDescription(state: DeviceState, cardId: string, card: CardDescription): DeviceState {
  const playback = state.playback;
  if (playback.cardId !== cardId) return state;
  if (playback.cardTitle === card.title && playback.cardAuthor === card.author && playback.cardCover === card.cover) return state;
  const next: PlaybackInfo = { ...playback, cardTitle: card.title };
  if (card.author !== undefined) next.cardAuthor = card.author;
  else delete next.cardAuthor;
  if (card.cover !== undefined) next.cardCover = card.cover;
  else delete next.cardCover;
  return { ...state, playback: next };
}

export function applyEvents(state: DeviceState, message: YotoEventsMessage): DeviceState {
  const playback = mergePlayback(state.playback, message);
  const volume = message.volume !== undefined || message.volumeMax !== undefined ? volumeFromLevel(state.volume, message) : state.volume;
  const next: DeviceState = { ...state, playback };
  if (volume) next.volume = volume;
  return deriveInPlace(next);
}

export function applyStatus(state: DeviceState, status: PlayerStatus): DeviceState {
  const next: DeviceState = { ...state, telemetry: mergeTelemetry(state.telemetry, status) };
  if (status.fwVersion) next.firmware = status.fwVersion;
  if (status.productType && !next.model) {
    // No cloud list has named the model: the player's own word decides whether it has a night light.
    next.model = status.productType;
    next.hasNightLight = modelHasNightLight({ deviceType: next.model, deviceFamily: next.deviceFamily });
  }
  if (status.batteryLevel !== undefined) next.battery = clampRound(status.batteryLevel, 0, 100);
  if (status.charging !== undefined) next.charging = status.charging;
  if (status.headphones !== undefined) next.headphones = status.headphones;
  if (status.bluetoothHp !== undefined) next.bluetoothAudio = status.bluetoothHp;
  // A number outside the known ones (newer firmware) leaves the last known slot.
  const cardSlot = status.cardInserted === undefined ? undefined : CARD_SLOTS[status.cardInserted];
  if (cardSlot !== undefined) next.cardSlot = cardSlot;
  if (status.userVolume !== undefined) next.volume = volumeFromPercent(state.volume, status.userVolume);
  if (status.nightlightMode !== undefined) next.nightlight = status.nightlightMode;
  // 1 day, 0 night; -1 (not known yet, e.g. right after power on) leaves the last known mode.
  if (status.day === 1) next.dayMode = 'day';
  else if (status.day === 0) next.dayMode = 'night';
  if (status.activeCard !== undefined && state.playback.hasCard === undefined) {
    // Only a first guess: the events topic is the source of truth for what plays.
    next.playback = withCard(state.playback, status.activeCard);
  }
  return withDerivedFields(next);
}

export function applyCloudInfo(state: DeviceState, info: CloudDeviceInfo): DeviceState {
  const next: DeviceState = { ...state };
  if (info.name) next.name = info.name;
  if (info.deviceType) next.model = info.deviceType;
  if (info.deviceFamily) next.deviceFamily = info.deviceFamily;
  next.hasNightLight = modelHasNightLight({
    deviceType: next.model,
    deviceFamily: next.deviceFamily,
    hasNightLight: info.hasNightLight,
  });
  return withDerivedFields(next);
}

export function withDerivedFields(state: DeviceState): DeviceState {
  return deriveInPlace({ ...state });
}

/** withDerivedFields of a state nobody else holds yet (just made by a merge): completed in place, not copied. */
export function deriveInPlace(state: DeviceState): DeviceState {
  const derived = playbackState(state.playback);
  if (derived !== state.playback.state) state.playback = withOptional(state.playback, 'state', derived);
  state.status = connectionStatus(state);
  return state;
}

/**
 * The playback after an events message. A message that says nothing of playback (a volume
 * change: the commonest message there is) leaves the same object, so whoever compares
 * playback by identity sees it unchanged; otherwise one new object, filled in place.
 */
function mergePlayback(previous: PlaybackInfo, message: YotoEventsMessage): PlaybackInfo {
  if (!PLAYBACK_MESSAGE_FIELDS.some((field) => message[field] !== undefined)) return previous;
  const playback = message.cardId !== undefined ? withCard(previous, message.cardId) : { ...previous };
  if (isDevicePlaybackStatus(message.playbackStatus)) playback.deviceStatus = message.playbackStatus;
  assignDefined(playback, 'chapterKey', message.chapterKey);
  assignDefined(playback, 'chapterTitle', message.chapterTitle);
  assignDefined(playback, 'trackKey', message.trackKey);
  assignDefined(playback, 'trackTitle', message.trackTitle);
  assignDefined(playback, 'position', message.position === undefined ? undefined : Math.max(0, message.position));
  assignDefined(playback, 'duration', message.trackLength === undefined ? undefined : Math.max(0, message.trackLength));
  assignDefined(playback, 'source', message.source);
  assignDefined(playback, 'streaming', message.streaming);
  assignDefined(playback, 'repeatAll', message.repeatAll);
  assignDefined(playback, 'sleepTimerActive', message.sleepTimerActive);
  assignDefined(playback, 'sleepTimerSeconds', message.sleepTimerSeconds === undefined ? undefined : Math.max(0, message.sleepTimerSeconds));
  return playback;
}

/** The fields of an events message mergePlayback reads. */
const PLAYBACK_MESSAGE_FIELDS = [
  'cardId',
  'playbackStatus',
  'chapterKey',
  'chapterTitle',
  'trackKey',
  'trackTitle',
  'position',
  'trackLength',
  'source',
  'streaming',
  'repeatAll',
  'sleepTimerActive',
  'sleepTimerSeconds',
] as const satisfies ReadonlyArray<keyof YotoEventsMessage>;

/** Sets `key` on an object nobody else holds yet, unless the message left it out. */
function assignDefined<K extends keyof PlaybackInfo>(playback: PlaybackInfo, key: K, value: PlaybackInfo[K] | undefined): void {
  if (value !== undefined) playback[key] = value;
}

function withCard(previous: PlaybackInfo, rawCardId: string): PlaybackInfo {
  const cardId = rawCardId === NO_CARD || rawCardId === '' ? undefined : rawCardId;
  if (cardId === previous.cardId && previous.hasCard !== undefined) return { ...previous };
  const playback: PlaybackInfo = { ...previous, hasCard: cardId !== undefined };
  if (cardId !== previous.cardId) {
    for (const field of CARD_FIELDS) delete playback[field];
  }
  if (cardId === undefined) {
    delete playback.cardId;
    // A card pulled out stops playback even when the message does not say so.
    if (playback.deviceStatus !== undefined) playback.deviceStatus = 'stopped';
  } else {
    playback.cardId = cardId;
  }
  return playback;
}

function volumeFromLevel(previous: DeviceVolume | undefined, message: YotoEventsMessage): DeviceVolume | undefined {
  const maxLevel = message.volumeMax === undefined ? previous?.maxLevel : clampRound(message.volumeMax, 0, HARDWARE_VOLUME_MAX);
  const level = message.volume === undefined ? previous?.level : clampRound(message.volume, 0, HARDWARE_VOLUME_MAX);
  if (level === undefined) return previous;
  const percent = level === previous?.level ? previous.percent : hardwareVolumeToPercent(level);
  return { percent, level, ...(maxLevel === undefined ? {} : { maxLevel }) };
}

function volumeFromPercent(previous: DeviceVolume | undefined, rawPercent: number): DeviceVolume {
  const percent = clampRound(rawPercent, 0, 100);
  const level = percentToHardwareVolume(percent);
  // The two scales round differently: a percent that maps to the level already known is the same volume.
  if (previous && previous.level === level) return previous;
  return { percent, level, ...(previous?.maxLevel === undefined ? {} : { maxLevel: previous.maxLevel }) };
}

function mergeTelemetry(previous: DeviceTelemetry, status: PlayerStatus): DeviceTelemetry {
  return {
    ...previous,
    ...defined({
      wifiStrength: status.wifiStrength === undefined ? undefined : Math.min(0, Math.round(status.wifiStrength)),
      ssid: status.ssid,
      temperature: status.accelTemp,
      freeDisk: status.freeDisk === undefined ? undefined : Math.max(0, Math.round(status.freeDisk)),
      totalDisk: status.totalDisk === undefined ? undefined : Math.max(0, Math.round(status.totalDisk)),
      uptime: status.upTime === undefined ? undefined : Math.max(0, Math.round(status.upTime)),
    }),
  };
}

/** Whether a status message carried any diagnostics worth publishing as telemetry. */
export function hasTelemetry(status: PlayerStatus): boolean {
  return [status.wifiStrength, status.accelTemp, status.freeDisk, status.upTime].some((value) => value !== undefined);
}

function clampRound(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.round(value)));
}

function defined<T extends Record<string, unknown>>(fields: T): Partial<T> {
  const result: Partial<T> = {};
  for (const key of Object.keys(fields) as Array<keyof T>) {
    if (fields[key] !== undefined) result[key] = fields[key];
  }
  return result;
}

function withOptional<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): T {
  const copy = { ...target };
  if (value === undefined) delete copy[key];
  else copy[key] = value;
  return copy;
}

/** Deep equality of plain data (objects, arrays, primitives), ignoring key order. */
export function sameData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  return sameFields(a as Record<string, unknown>, b as Record<string, unknown>);
}

/**
 * sameData of two records leaving out the `skip` fields (a state's times), without copying
 * either: the registry compares every message's state with the last one.
 */
export function sameDataExcept(a: object, b: object, skip: ReadonlySet<string>): boolean {
  return a === b || sameFields(a as Record<string, unknown>, b as Record<string, unknown>, skip);
}

/** Same defined fields with the same data (an undefined field counts as absent). */
function sameFields(a: Record<string, unknown>, b: Record<string, unknown>, skip?: ReadonlySet<string>): boolean {
  let defined = 0;
  for (const key in a) {
    const value = a[key];
    if (value === undefined || skip?.has(key)) continue;
    if (!sameData(value, b[key])) return false;
    defined++;
  }
  for (const key in b) {
    if (b[key] !== undefined && !skip?.has(key)) defined--;
  }
  return defined === 0;
}
