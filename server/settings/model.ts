import type { PlayerSettingsView } from '../types/schemas';
import type { YotoDeviceConfig } from '../yoto/rest/types';

/**
 * A player's settings in the hub's own terms (numbers, booleans, "HH:MM",
 * alarms as objects), and the conversions to and from the `config` block of
 * `/device-v2/{id}/config`, where nearly everything is a string and alarms
 * are comma-separated strings. Field names and value formats follow the
 * Yoto config as the maintained clients read it (cdnninja/yoto_api
 * models/config.py and const.py, bcomnes/yoto-nodejs-client).
 */

/**
 * A player's settings in the hub's own terms: the settings view of player-settings.schema.json
 * (its generated type) without what the hub adds around them (player id, capabilities, times).
 */
export type PlayerSettings = Omit<PlayerSettingsView, 'deviceId' | 'capabilities' | 'updatedAt' | 'timestamp'>;

/** One alarm; its id is its position in the player's alarm list (0-based), which changes when an earlier alarm is deleted. */
export type PlayerAlarm = PlayerSettings['alarms'][number];

/** A settings change: any subset of the writable fields. */
export type PlayerSettingsChange = Partial<Omit<PlayerSettings, 'alarms'>> & { alarms?: AlarmInput[] };

/** An alarm as a caller writes it (id is the server's). */
export type AlarmInput = Partial<Omit<PlayerAlarm, 'id'>>;

/** What a model can do, for the surfaces to offer only what exists. */
export type PlayerCapabilities = PlayerSettingsView['capabilities'];

/** The presets of the third-generation Player (cdnninja/yoto_api const.py HEX_COLORS). */
export const GEN3_NIGHT_LIGHT_PRESETS: Readonly<Record<string, string>> = {
  'Sky Blue': '#40bfd9',
  'Apple Green': '#9eff00',
  Lilac: '#f57399',
  'Tambourine Red': '#ff0000',
  'Orange Peel': '#ff3900',
  'Bumblebee Yellow': '#ffb800',
  White: '#ffffff',
};

/** The same presets as earlier generations store them. */
export const GEN2_NIGHT_LIGHT_PRESETS: Readonly<Record<string, string>> = {
  'Sky Blue': '#41c0f0',
  'Apple Green': '#e6ff00',
  Lilac: '#f72a69',
  'Tambourine Red': '#ff0000',
  'Orange Peel': '#ff8c00',
  'Bumblebee Yellow': '#ff8500',
  White: '#ffffff',
};

/** The config stores an unlit night light as "#0" (real data); older configs "#000000" or "off". */
export const CONFIG_LIGHT_OFF = '#0';

export function capabilitiesOf(model: string | undefined, hasNightLight: boolean): PlayerCapabilities {
  const name = (model ?? '').toLowerCase();
  const gen3 = name === 'v3' || name.includes('gen3');
  return {
    nightLight: hasNightLight,
    lightSensor: gen3,
    nightLightPresets: hasNightLight ? { ...(gen3 || name === '' ? GEN3_NIGHT_LIGHT_PRESETS : GEN2_NIGHT_LIGHT_PRESETS) } : {},
  };
}

/** The preset's name for a colour (either generation), or undefined. */
export function presetName(colour: string | undefined): string | undefined {
  if (colour === undefined) return undefined;
  if (colour === 'off') return 'Off';
  const lower = colour.toLowerCase();
  for (const table of [GEN3_NIGHT_LIGHT_PRESETS, GEN2_NIGHT_LIGHT_PRESETS]) {
    for (const [name, hex] of Object.entries(table)) if (hex === lower) return name;
  }
  return undefined;
}

// ---- config -> settings ----

export function settingsFromConfig(config: YotoDeviceConfig, capabilities: PlayerCapabilities): PlayerSettings {
  const settings: PlayerSettings = {
    dayTime: timeOr(config.dayTime, '07:00'),
    nightTime: timeOr(config.nightTime, '19:30'),
    dayMaxVolume: intOr(config.maxVolumeLimit, 16),
    nightMaxVolume: intOr(config.nightMaxVolumeLimit, 10),
    dayBrightness: brightnessOf(config.dayDisplayBrightness),
    nightBrightness: brightnessOf(config.nightDisplayBrightness),
    clockFace: config.clockFace ?? 'digital-sun',
    hourFormat: config.hourFormat === '24' ? 24 : 12,
    shutdownTimeout: intOr(config.shutdownTimeout, 3600),
    headphonesVolumeLimited: boolOf(config.headphonesVolumeLimited),
    bluetoothEnabled: boolOf(config.bluetoothEnabled, true),
    alarms: (config.alarms ?? []).flatMap((entry, index) => {
      const alarm = parseAlarm(entry, index);
      return alarm ? [alarm] : [];
    }),
  };
  if (capabilities.nightLight) {
    settings.dayNightLight = lightOf(config.ambientColour);
    settings.nightNightLight = lightOf(config.nightAmbientColour);
  }
  return settings;
}

function timeOr(value: string | undefined, fallback: string): string {
  return typeof value === 'string' && /^\d{1,2}:\d{2}$/.test(value) ? value.padStart(5, '0') : fallback;
}

function intOr(value: unknown, fallback: number): number {
  const number = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
  return Number.isFinite(number) ? Math.round(number) : fallback;
}

function brightnessOf(value: string | undefined): number | 'auto' {
  if (value === 'auto') return 'auto';
  return intOr(value, 100);
}

/** Real configs carry booleans as true/false, "1"/"0" or 1/0. */
function boolOf(value: unknown, fallback = false): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  if (typeof value === 'string') return value === '1' || value.toLowerCase() === 'true';
  return fallback;
}

function lightOf(value: string | undefined): string {
  if (value === undefined) return 'off';
  const lower = value.toLowerCase();
  if (lower === 'off' || /^#0+$/.test(lower) || /^0x0+$/.test(lower)) return 'off';
  if (/^#[0-9a-f]{6}$/.test(lower)) return lower;
  if (/^0x[0-9a-f]{6}$/.test(lower)) return `#${lower.slice(2)}`;
  return 'off';
}

// ---- alarms: "days,HHMM,sound,...,volume,enabled" ----

/**
 * Reads one alarm string of the config: days (seven 0/1 flags), time as
 * HHMM, the sound id, then fields we keep as they are, the volume and last
 * the enabled flag. An unreadable entry is left out of the list (and kept in
 * the config, since writes change alarms by position).
 */
export function parseAlarm(entry: string, index: number): PlayerAlarm | undefined {
  const parts = entry.split(',');
  if (parts.length < 3) return undefined;
  const [days = '', hhmm = '', soundId = ''] = parts;
  if (!/^[01]{7}$/.test(days) || !/^\d{4}$/.test(hhmm)) return undefined;
  const hours = Number(hhmm.slice(0, 2));
  const minutes = Number(hhmm.slice(2));
  if (hours > 23 || minutes > 59) return undefined;
  const alarm: PlayerAlarm = {
    id: index,
    time: `${hhmm.slice(0, 2)}:${hhmm.slice(2)}`,
    days,
    soundId,
    enabled: parts.length >= 4 ? parts[parts.length - 1] === '1' : true,
  };
  if (parts.length >= 6) {
    const volume = Number(parts[parts.length - 2]);
    if (parts[parts.length - 2] !== '' && Number.isInteger(volume)) alarm.volume = volume;
  }
  return alarm;
}

/**
 * Writes an alarm back, on top of the entry it replaces so that fields the
 * hub does not understand keep their values.
 */
export function formatAlarm(alarm: Omit<PlayerAlarm, 'id'>, previous?: string): string {
  const base = previous?.split(',') ?? [];
  const parts = base.length >= 7 ? [...base] : ['', '', '', '', '', '', ''];
  parts[0] = alarm.days;
  parts[1] = alarm.time.replace(':', '');
  parts[2] = alarm.soundId;
  parts[parts.length - 2] = alarm.volume !== undefined ? String(alarm.volume) : '';
  parts[parts.length - 1] = alarm.enabled ? '1' : '0';
  return parts.join(',');
}

// ---- settings change -> config change ----

export interface FieldProblem {
  path: string;
  message: string;
}

export class SettingsError extends Error {
  constructor(
    message: string,
    readonly details: FieldProblem[],
  ) {
    super(message);
    this.name = 'SettingsError';
  }
}

const TIME = /^([01]\d|2[0-3]):[0-5]\d$/;

/** A colour given as "#rrggbb", a preset name of the player's generation, or "off". */
function configColour(value: unknown, capabilities: PlayerCapabilities): string | undefined {
  if (typeof value !== 'string') return undefined;
  if (value.toLowerCase() === 'off') return CONFIG_LIGHT_OFF;
  if (/^#[0-9a-fA-F]{6}$/.test(value)) return value.toLowerCase();
  const preset = Object.entries(capabilities.nightLightPresets).find(([name]) => name.toLowerCase() === value.toLowerCase());
  return preset?.[1];
}

/**
 * Checks a change against the player's capabilities and turns it into the
 * config keys it touches; nothing else is in the result, so a merge keeps
 * every other setting. Throws SettingsError listing every bad field.
 */
export function configChange(change: PlayerSettingsChange, capabilities: PlayerCapabilities): YotoDeviceConfig {
  const out: YotoDeviceConfig = {};
  const problems: FieldProblem[] = [];
  const problem = (path: string, message: string): void => {
    problems.push({ path: `/${path}`, message });
  };
  const volume = (key: 'dayMaxVolume' | 'nightMaxVolume', target: 'maxVolumeLimit' | 'nightMaxVolumeLimit'): void => {
    const value = change[key];
    if (value === undefined) return;
    if (!Number.isInteger(value) || value < 0 || value > 16) return problem(key, 'must be a whole number from 0 to 16');
    out[target] = String(value);
  };
  const brightness = (key: 'dayBrightness' | 'nightBrightness', target: 'dayDisplayBrightness' | 'nightDisplayBrightness'): void => {
    const value = change[key];
    if (value === undefined) return;
    if (value === 'auto') {
      if (!capabilities.lightSensor) return problem(key, 'cannot be "auto": this player has no light sensor (only the third-generation Player has one)');
      out[target] = 'auto';
      return;
    }
    if (!Number.isInteger(value) || value < 0 || value > 100) return problem(key, 'must be a whole number from 0 to 100, or "auto"');
    out[target] = String(value);
  };
  const light = (key: 'dayNightLight' | 'nightNightLight', target: 'ambientColour' | 'nightAmbientColour'): void => {
    const value = change[key];
    if (value === undefined) return;
    if (!capabilities.nightLight) return problem(key, 'this player has no night light');
    const colour = configColour(value, capabilities);
    if (!colour) return problem(key, `must be "#rrggbb", "off" or a preset: ${Object.keys(capabilities.nightLightPresets).join(', ')}`);
    out[target] = colour;
  };
  for (const key of ['dayTime', 'nightTime'] as const) {
    const value = change[key];
    if (value === undefined) continue;
    if (typeof value !== 'string' || !TIME.test(value)) problem(key, 'must be a time like "07:00" (24-hour)');
    else out[key] = value;
  }
  volume('dayMaxVolume', 'maxVolumeLimit');
  volume('nightMaxVolume', 'nightMaxVolumeLimit');
  brightness('dayBrightness', 'dayDisplayBrightness');
  brightness('nightBrightness', 'nightDisplayBrightness');
  light('dayNightLight', 'ambientColour');
  light('nightNightLight', 'nightAmbientColour');
  if (change.clockFace !== undefined) {
    if (typeof change.clockFace !== 'string' || change.clockFace.length === 0 || change.clockFace.length > 64) problem('clockFace', 'must be a clock face name, e.g. "digital-sun"');
    else out.clockFace = change.clockFace;
  }
  if (change.hourFormat !== undefined) {
    if (change.hourFormat !== 12 && change.hourFormat !== 24) problem('hourFormat', 'must be 12 or 24');
    else out.hourFormat = String(change.hourFormat);
  }
  if (change.shutdownTimeout !== undefined) {
    const value = change.shutdownTimeout;
    if (!Number.isInteger(value) || value < 0 || value > 86_400) problem('shutdownTimeout', 'must be whole seconds from 0 to 86400');
    else out.shutdownTimeout = String(value);
  }
  if (change.headphonesVolumeLimited !== undefined) {
    if (typeof change.headphonesVolumeLimited !== 'boolean') problem('headphonesVolumeLimited', 'must be true or false');
    else out.headphonesVolumeLimited = change.headphonesVolumeLimited;
  }
  if (change.bluetoothEnabled !== undefined) {
    if (typeof change.bluetoothEnabled !== 'boolean') problem('bluetoothEnabled', 'must be true or false');
    else out.bluetoothEnabled = change.bluetoothEnabled ? '1' : '0';
  }
  if (change.alarms !== undefined) {
    if (!Array.isArray(change.alarms)) problem('alarms', 'must be a list of alarms');
    else {
      const alarms: string[] = [];
      change.alarms.forEach((input, index) => {
        const alarm = completeAlarm(input, undefined, `alarms/${index}`, problems);
        if (alarm) alarms.push(formatAlarm(alarm));
      });
      out.alarms = alarms;
    }
  }
  if (problems.length > 0) throw new SettingsError(problems.map((p) => `${p.path} ${p.message}`).join('; '), problems);
  return out;
}

/** An alarm input on top of an existing alarm (or the defaults of a new one), checked. */
export function completeAlarm(input: AlarmInput, base: PlayerAlarm | undefined, path: string, problems: FieldProblem[]): Omit<PlayerAlarm, 'id'> | undefined {
  const before = problems.length;
  const problem = (field: string, message: string): void => {
    problems.push({ path: `/${path ? `${path}/` : ''}${field}`, message });
  };
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    problems.push({ path: `/${path}`, message: 'must be an object {time, days?, soundId?, volume?, enabled?}' });
    return undefined;
  }
  const time = input.time ?? base?.time;
  if (time === undefined) problem('time', 'is required, e.g. "07:00"');
  else if (typeof time !== 'string' || !TIME.test(time)) problem('time', 'must be a time like "07:00" (24-hour)');
  const days = input.days ?? base?.days ?? '1111111';
  if (typeof days !== 'string' || !/^[01]{7}$/.test(days)) problem('days', 'must be seven 0/1 flags, Monday first, e.g. "1111100"');
  const soundId = input.soundId ?? base?.soundId ?? '';
  if (typeof soundId !== 'string' || soundId.length > 64 || soundId.includes(',')) problem('soundId', 'must be a card or tone id without commas');
  const volume = input.volume ?? base?.volume;
  if (volume !== undefined && (!Number.isInteger(volume) || volume < 0 || volume > 16)) problem('volume', 'must be a whole number from 0 to 16');
  const enabled = input.enabled ?? base?.enabled ?? true;
  if (typeof enabled !== 'boolean') problem('enabled', 'must be true or false');
  if (problems.length > before) return undefined;
  return { time: time!, days, soundId, ...(volume !== undefined ? { volume } : {}), enabled };
}

/** The day/night mode the times put a moment in ("HH:MM" of the player's clock). */
export function modeAt(minutesOfDay: number, dayTime: string, nightTime: string): 'day' | 'night' {
  const day = minutesOf(dayTime);
  const night = minutesOf(nightTime);
  if (day === night) return 'day';
  return day < night ? (minutesOfDay >= day && minutesOfDay < night ? 'day' : 'night') : minutesOfDay >= night && minutesOfDay < day ? 'night' : 'day';
}

export function minutesOf(time: string): number {
  const [hours = '0', minutes = '0'] = time.split(':');
  return Number(hours) * 60 + Number(minutes);
}
