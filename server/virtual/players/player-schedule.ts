import { minutesOf, modeAt, parseAlarm, type PlayerAlarm } from '../../settings/model';
import type { YotoDeviceConfig } from '../../yoto/rest/types';

/**
 * What a player's settings mean at a moment of its clock (virtual players
 * keep UTC, their config's timezone being empty): day or night mode, its
 * maximum volume, brightness and night light, and which alarms go off.
 */

export type DayMode = 'day' | 'night';

export interface ModeSettings {
  mode: DayMode;
  /** 0..16 */
  maxVolume: number;
  /** 0..100, or "auto" */
  brightness: number | 'auto';
  /** "0xrrggbb" as the player reports it, or "off" */
  nightlight: string;
}

function minuteOfDay(now: number): number {
  const date = new Date(now);
  return date.getUTCHours() * 60 + date.getUTCMinutes();
}

function int(value: string | undefined, fallback: number): number {
  const number = Number(value);
  return value !== undefined && value !== '' && Number.isFinite(number) ? number : fallback;
}

/** "#rrggbb" of the config as the player's nightlightMode reports it ("0xrrggbb"); "#0" is off. */
export function reportedColour(colour: string | undefined): string {
  if (!colour || !/^#[0-9a-fA-F]{6}$/.test(colour) || /^#0+$/.test(colour)) return 'off';
  return `0x${colour.slice(1).toLowerCase()}`;
}

export function modeSettings(config: YotoDeviceConfig, now: number): ModeSettings {
  const mode = modeAt(minuteOfDay(now), config.dayTime ?? '07:00', config.nightTime ?? '19:30');
  const day = mode === 'day';
  const brightness = day ? config.dayDisplayBrightness : config.nightDisplayBrightness;
  return {
    mode,
    maxVolume: Math.min(16, Math.max(0, int(day ? config.maxVolumeLimit : config.nightMaxVolumeLimit, 16))),
    brightness: brightness === 'auto' ? 'auto' : int(brightness, 100),
    nightlight: reportedColour(day ? config.ambientColour : config.nightAmbientColour),
  };
}

/** Enabled alarms set for this minute and weekday (Monday is the first flag). */
export function alarmsDue(config: YotoDeviceConfig, now: number): PlayerAlarm[] {
  const date = new Date(now);
  const minute = minuteOfDay(now);
  const weekday = (date.getUTCDay() + 6) % 7;
  return (config.alarms ?? []).flatMap((entry, index) => {
    const alarm = parseAlarm(entry, index);
    return alarm && alarm.enabled && alarm.days[weekday] === '1' && minutesOf(alarm.time) === minute ? [alarm] : [];
  });
}

/** Milliseconds to the start of the next minute. */
export function msToNextMinute(now: number): number {
  return 60_000 - (now % 60_000);
}
