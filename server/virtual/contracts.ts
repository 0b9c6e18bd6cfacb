import type { YotoCard } from '../yoto/card';

/**
 * Seams inside the virtual Yoto cloud: its REST side (cards, devices, tokens,
 * control API) and its simulated players meet only through these interfaces.
 */

/** The virtual cloud's card store, read by players when a card is inserted or started. */
export interface VirtualCardLibrary {
  get(cardId: string): YotoCard | undefined;
}

/** The client id the hub uses with its own virtual cloud: the only app that cloud approves by default. */
export const HUB_VIRTUAL_CLIENT_ID = 'yoto-smart-stream-hub';

export type VirtualDeviceType = 'v3' | 'mini';

export interface VirtualPlayerSpec {
  deviceId: string;
  name: string;
  /** "v3" (Yoto Player, third generation) or "mini" (Yoto Mini) */
  deviceType: VirtualDeviceType;
  /** As GET /device-v2/devices/mine reports it, e.g. "v3" or "mini" */
  deviceFamily: string;
  hasNightLight: boolean;
  firmware: string;
}

export const DEFAULT_VIRTUAL_PLAYERS: VirtualPlayerSpec[] = [
  { deviceId: 'vliving0room0yoto0player', name: 'Living Room', deviceType: 'v3', deviceFamily: 'v3', hasNightLight: true, firmware: 'v2.23.2' },
  { deviceId: 'vkids0bedroom0yoto0mini0', name: 'Kids Bedroom', deviceType: 'mini', deviceFamily: 'mini', hasNightLight: false, firmware: 'v2.23.2' },
];

/** The third player of a home that has three (the default fleet of the hub's virtual cloud). */
export const THIRD_VIRTUAL_PLAYER: VirtualPlayerSpec = {
  deviceId: 'vplay0room0yoto0player00', name: 'Playroom', deviceType: 'v3', deviceFamily: 'v3', hasNightLight: true, firmware: 'v2.23.2',
};

/**
 * A fleet of `count` players: Living Room, Kids Bedroom, Playroom, then
 * numbered players (alternating Player and Mini), with 24-character ids like real ones.
 */
export function virtualFleetSpecs(count: number): VirtualPlayerSpec[] {
  const named = [...DEFAULT_VIRTUAL_PLAYERS, THIRD_VIRTUAL_PLAYER];
  const specs = named.slice(0, Math.max(0, count));
  for (let n = specs.length + 1; n <= count; n++) {
    const mini = n % 2 === 0;
    // Fixed width before the padding, so player 100 and player 1000 get different ids.
    const number = String(n).padStart(6, '0');
    specs.push({
      deviceId: `vplayer${number}`.padEnd(24, '0'),
      name: `Player ${n}`,
      deviceType: mini ? 'mini' : 'v3',
      deviceFamily: mini ? 'mini' : 'v3',
      hasNightLight: !mini,
      firmware: 'v2.23.2',
    });
  }
  return specs;
}

export type PlayerButton = 'left' | 'right';

export interface VirtualPlayerSnapshot {
  deviceId: string;
  name: string;
  deviceType: VirtualDeviceType;
  online: boolean;
  poweredOn: boolean;
  cardId: string;
  chapterKey?: string;
  trackKey?: string;
  playbackStatus: 'playing' | 'paused' | 'stopped' | 'loading';
  position: number;
  trackLength?: number;
  volumePercent: number;
  batteryLevel: number;
  charging: boolean;
  sleepTimerSeconds?: number;
  nightlight: string;
  /** The last stream URL the player failed to fetch, with why. */
  lastStreamError?: { url: string; reason: string; at: string };
  /** Day or night mode, from its settings' times (absent until it has booted). */
  dayMode?: 'day' | 'night';
  /** Screen brightness of the current mode: 0..100 or "auto". */
  brightness?: number | 'auto';
  /** The current maximum volume, 0..16 (the day or night limit). */
  maxVolumeLevel: number;
  /** Whether the screen is awake (while playing, and for the dim timeout after an action). */
  screenOn: boolean;
  /** The icon a display/preview put on the screen, until when. */
  display?: { icon: string; until: string };
  /** Bluetooth audio switched on by a command (the virtual player's paired headphones connect at once). */
  bluetooth: boolean;
  /** Wired headphones plugged in (control API). */
  headphones: boolean;
  /** The last alarm that went off. */
  lastAlarm?: { time: string; soundId: string; at: string };
}

/** What the control API (/virtual/devices/{id}/...) drives. */
export interface VirtualPlayerControl {
  readonly deviceId: string;
  snapshot(): VirtualPlayerSnapshot;
  press(button: PlayerButton): Promise<void>;
  /** Turn the wheel/buttons: steps on the 0..16 hardware scale, negative to lower. */
  turnVolume(steps: number): Promise<void>;
  insertCard(cardId: string): Promise<void>;
  removeCard(): Promise<void>;
  powerOff(): Promise<void>;
  powerOn(): Promise<void>;
  /** Puts the player on (or off) its charger. */
  setCharging(charging: boolean): Promise<void>;
  /** Plugs wired headphones in (or pulls them out). */
  setHeadphones(plugged: boolean): Promise<void>;
}

export interface VirtualFleet {
  players(): VirtualPlayerControl[];
  player(deviceId: string): VirtualPlayerControl | undefined;
}
