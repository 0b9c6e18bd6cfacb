import type { CommanderPlayback } from '../yoto/commands/command-plan';
/**
 * The live model of one player: everything the hub knows about it, merged
 * from partial messages. States are immutable values: every change makes a new
 * one, so a state handed to a listener never changes under its feet.
 */

/** How the house sees a player (the `status` of yoto/{id}/status). */
export type ConnectionStatus = 'connected' | 'idle' | 'disconnected' | 'shutdown';

/** What the player is doing; `idle` means no card. */
export type PlaybackState = 'playing' | 'paused' | 'stopped' | 'loading' | 'idle';

export const DEVICE_PLAYBACK_STATUSES = ['playing', 'paused', 'stopped', 'loading'] as const;
export type DevicePlaybackStatus = (typeof DEVICE_PLAYBACK_STATUSES)[number];

/**
 * The card slot as the player reports it: 0 no card, 1 a physical card, 2 a card played remotely
 * (yoto.dev, "get device status"); 3, undocumented, is what firmware sends while Yoto Radio or
 * another stream plays (seen by yoto_api).
 */
export const CARD_SLOTS = ['none', 'physical', 'remote', 'streaming'] as const;
export type CardSlot = (typeof CARD_SLOTS)[number];

export interface DeviceVolume {
  /** 0..100, what the Yoto app and `volume/set` use. */
  percent: number;
  /** 0..16, the hardware scale of the player's events. */
  level: number;
  /** 0..16: the highest level the player currently allows (its volume limit). */
  maxLevel?: number;
}

export interface PlaybackInfo {
  /** Undefined until the player has told. */
  state?: PlaybackState;
  /** Whether a card is in (or started remotely); undefined until known. */
  hasCard?: boolean;
  /** The card playing; absent when there is none. */
  cardId?: string;
  /** The card's title, author and cover image URL, as the family library or the card itself says (looked up once the card plays). */
  cardTitle?: string;
  cardAuthor?: string;
  cardCover?: string;
  /** The player's own playbackStatus, which stays `stopped` when the card goes. */
  deviceStatus?: DevicePlaybackStatus;
  chapterKey?: string;
  chapterTitle?: string;
  trackKey?: string;
  trackTitle?: string;
  /** Seconds into the track. */
  position?: number;
  /** Seconds: the track's length. */
  duration?: number;
  /** What started the card, e.g. "card", "remote", "MQTT". */
  source?: string;
  streaming?: boolean;
  repeatAll?: boolean;
  sleepTimerActive?: boolean;
  sleepTimerSeconds?: number;
}

export interface DeviceTelemetry {
  /** dBm */
  wifiStrength?: number;
  ssid?: string;
  /** Degrees Celsius */
  temperature?: number;
  /** Bytes */
  freeDisk?: number;
  /** Bytes */
  totalDisk?: number;
  /** Seconds since the player started. */
  uptime?: number;
}

export interface DeviceState {
  deviceId: string;
  name: string;
  /** deviceType from the cloud's device list, else the productType the player reports (e.g. "mini", "v3"). */
  model?: string;
  deviceFamily?: string;
  hasNightLight: boolean;
  /** Presence: from the cloud's device list, from messages, from shutDown and from silence. */
  online: boolean;
  /** The legacy status said the player is powering off (`shutDown` other than "nA"). */
  shutDown: boolean;
  status: ConnectionStatus;
  /** When the hub last heard from the player (ISO 8601). */
  lastSeen?: string;
  /** Since when the player is offline (ISO 8601); absent while online. */
  offlineSince?: string;
  firmware?: string;
  /** Percent */
  battery?: number;
  charging?: boolean;
  /** Wired headphones are plugged in (the player's `headphones`; Yoto's REST `isAudioDeviceConnected`). */
  headphones?: boolean;
  /** Bluetooth headphones or a speaker are connected (the player's `bluetoothHp`; REST `isBluetoothAudioConnected`). */
  bluetoothAudio?: boolean;
  /** What is in the card slot (the player's `cardInserted`; REST `cardInsertionState`). */
  cardSlot?: CardSlot;
  volume?: DeviceVolume;
  /** The night light as the player reports it ("off" or a colour). */
  nightlight?: string;
  /** Day or night mode, as the player's status says (its settings' times decide). */
  dayMode?: 'day' | 'night';
  playback: PlaybackInfo;
  telemetry: DeviceTelemetry;
  /** When the state last changed (ISO 8601). */
  updatedAt: string;
}

/** What the Yoto cloud's device list (GET /device-v2/devices/mine) says about a player. */
export interface CloudDeviceInfo {
  deviceId: string;
  name: string;
  online?: boolean;
  deviceType?: string;
  deviceFamily?: string;
  /** Known for virtual players; otherwise guessed from the model (the Mini has none). */
  hasNightLight?: boolean;
}

export function connectionStatus(state: Pick<DeviceState, 'online' | 'shutDown' | 'playback'>): ConnectionStatus {
  if (state.shutDown) return 'shutdown';
  if (!state.online) return 'disconnected';
  const playing = state.playback.state;
  return playing === 'idle' || playing === 'stopped' ? 'idle' : 'connected';
}

/** `idle` when there is no card and nothing plays, otherwise what the player says. */
export function playbackState(playback: PlaybackInfo): PlaybackState | undefined {
  const status = playback.deviceStatus;
  if (playback.hasCard === false && (status === undefined || status === 'stopped')) return 'idle';
  return status;
}

export function isDevicePlaybackStatus(value: unknown): value is DevicePlaybackStatus {
  return typeof value === 'string' && (DEVICE_PLAYBACK_STATUSES as readonly string[]).includes(value);
}

/** Yoto Minis have no night light; every other model does. */
export function modelHasNightLight(info: Pick<CloudDeviceInfo, 'deviceType' | 'deviceFamily' | 'hasNightLight'>): boolean {
  if (info.hasNightLight !== undefined) return info.hasNightLight;
  const model = `${info.deviceType ?? ''} ${info.deviceFamily ?? ''}`.toLowerCase();
  return !model.includes('mini');
}

/** A player as first learnt of: from the cloud's list, or (with `online`) from a message of its own. */
export function initialState(deviceId: string, at: Date, info?: CloudDeviceInfo, online = info?.online ?? false): DeviceState {
  const state: DeviceState = {
    deviceId,
    name: info?.name ?? deviceId,
    hasNightLight: modelHasNightLight(info ?? {}),
    online,
    shutDown: false,
    status: 'disconnected',
    playback: {},
    telemetry: {},
    updatedAt: at.toISOString(),
  };
  if (info?.deviceType) state.model = info.deviceType;
  if (info?.deviceFamily) state.deviceFamily = info.deviceFamily;
  if (!state.online) state.offlineSince = at.toISOString();
  state.status = connectionStatus(state);
  return state;
}

/**
 * The player's playback in the Yoto protocol's own terms (`cardId: "none"`
 * when idle, `trackLength`, `playbackStatus`): what a command sender needs to
 * work out next, previous and seek.
 */
export function protocolPlayback(state: DeviceState): CommanderPlayback {
  const { playback } = state;
  const result: CommanderPlayback = {};
  if (playback.cardId !== undefined) result.cardId = playback.cardId;
  else if (playback.hasCard === false) result.cardId = 'none';
  if (playback.chapterKey !== undefined) result.chapterKey = playback.chapterKey;
  if (playback.trackKey !== undefined) result.trackKey = playback.trackKey;
  if (playback.position !== undefined) result.position = playback.position;
  if (playback.duration !== undefined) result.trackLength = playback.duration;
  if (playback.deviceStatus !== undefined) result.playbackStatus = playback.deviceStatus;
  if (state.volume?.maxLevel !== undefined) result.volumeMax = state.volume.maxLevel;
  return result;
}
