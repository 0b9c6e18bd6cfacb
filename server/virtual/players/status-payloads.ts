import type { VirtualPlayerSpec } from '../contracts';
import { hardwareVolumeToPercent, type YotoLegacyStatusMessage, type YotoStatusMessage } from '../../yoto/protocol';

/**
 * Status messages with exactly the fields (and field order) a real Yoto Mini
 * publishes, from shared/fixtures/yoto-mqtt-captured.jsonl. Values that a
 * virtual player has no reason to vary are the captured ones.
 */
export interface PlayerVitals {
  spec: VirtualPlayerSpec;
  batteryLevel: number;
  charging: boolean;
  activeCard: string;
  /** 0 none, 1 physical, 2 remote */
  cardInserted: 0 | 1 | 2;
  /** 0 idle, 1 playing, 2 paused */
  playingStatus: 0 | 1 | 2;
  /** 0..16 */
  volumeLevel: number;
  /** 0..16 */
  volumeMax: number;
  nightlight: string;
  /** 1 day mode, 0 night mode, -1 not yet known */
  day: 1 | 0 | -1;
  dayBright: number;
  nightBright: number;
  timeFormat: string;
  bluetoothHp: 0 | 1;
  /** Wired headphones plugged in. */
  headphones: 0 | 1;
  upTimeSeconds: number;
  /** Unix seconds; 0 right after power on, before the clock is synced. */
  utcTime: number;
  shutDown: string;
}

const TOTAL_DISK = 31385600;
const FREE_DISK = 25160368;

function batteryMillivolts(level: number): number {
  return Math.round(3300 + level * 8.2);
}

function temperature(spec: VirtualPlayerSpec): string {
  return spec.deviceType === 'mini' ? '0:0:0' : '0:21:0';
}

function ambientLight(spec: VirtualPlayerSpec): number {
  return spec.deviceType === 'mini' ? 0 : 120;
}

/** `device/{id}/data/status`; a requested status also carries nightlightMode and temp. */
export function dataStatus(v: PlayerVitals, requested: boolean): YotoStatusMessage {
  return {
    status: {
      statusVersion: 1,
      fwVersion: v.spec.firmware,
      productType: v.spec.deviceType,
      batteryLevel: v.batteryLevel,
      als: ambientLight(v.spec),
      freeDisk: FREE_DISK,
      shutdownTimeout: 3600,
      dbatTimeout: 60,
      charging: v.charging ? 1 : 0,
      activeCard: v.activeCard,
      cardInserted: v.cardInserted,
      playingStatus: v.playingStatus,
      headphones: v.headphones,
      dnowBrightness: v.day === 0 ? v.nightBright : v.dayBright,
      dayBright: v.dayBright,
      nightBright: v.nightBright,
      bluetoothHp: v.bluetoothHp,
      volume: hardwareVolumeToPercent(v.volumeMax),
      userVolume: hardwareVolumeToPercent(v.volumeLevel),
      timeFormat: v.timeFormat,
      ...(requested ? { nightlightMode: v.nightlight, temp: temperature(v.spec) } : {}),
      day: v.day,
    },
  };
}

/** The battery part of both `device/{id}/status` forms. */
function batteryFields(v: PlayerVitals): Pick<YotoLegacyStatusMessage['status'], 'battery' | 'powerCaps' | 'batteryLevel' | 'batteryTemp' | 'batteryData' | 'batteryLevelRaw'> {
  return {
    battery: batteryMillivolts(v.batteryLevel),
    powerCaps: '',
    batteryLevel: v.batteryLevel,
    batteryTemp: 0,
    batteryData: '0:0:0',
    batteryLevelRaw: Math.max(0, v.batteryLevel - 2),
  };
}

/** `device/{id}/status` in full: sent at power on and power off (the only source of shutDown). */
export function legacyFullStatus(v: PlayerVitals): YotoLegacyStatusMessage {
  return {
    status: {
      statusVersion: 3,
      fwVersion: v.spec.firmware,
      shutDown: v.shutDown,
      totalDisk: TOTAL_DISK,
      productType: v.spec.deviceType,
      wifiStrength: -40,
      ssid: 'VirtualYoto',
      rtcResetReasonPRO: 5,
      rtcResetReasonAPP: 14,
      rtcWakeupCause: 901,
      espResetReason: 8,
      sd_info: '0xad, 0x4c53(LS), USD00, 16, 1100876108, 04-2023, 1, 0, 1461, 50000000',
      ...batteryFields(v),
      free: 3885908,
      freeDMA: 59254,
      free32: 82098,
      upTime: v.upTimeSeconds,
      utcTime: v.utcTime,
      aliveTime: 12455380 + v.upTimeSeconds,
      accelTemp: 11,
      batteryProfile: 'HPT-FD80X-2000-64',
      freeDisk: FREE_DISK,
      failReason: 0,
      failData: 0,
      shutdownTimeout: 3600,
      utcOffset: 0,
      nfcErrs: '0.00%-0.00%',
      dbatTimeout: 60,
      charging: v.charging ? 1 : 0,
      powerSrc: v.charging ? 2 : 0,
      activeCard: v.activeCard,
      cardInserted: v.cardInserted,
      playingStatus: v.playingStatus,
      headphones: v.headphones,
      wifiRestarts: 1,
      qiOtp: 0,
      buzzErrors: 0,
      dnowBrightness: v.day === 0 ? v.nightBright : v.dayBright,
      dayBright: v.dayBright,
      nightBright: v.nightBright,
      errorsLogged: 9,
      twdt: 0,
      bluetoothHp: v.bluetoothHp,
      nightlightMode: v.nightlight,
      bgDownload: 0,
      bytesPS: 0,
      day: v.day,
      temp: temperature(v.spec),
      als: ambientLight(v.spec),
      volume: hardwareVolumeToPercent(v.volumeMax),
      userVolume: hardwareVolumeToPercent(v.volumeLevel),
      timeFormat: v.timeFormat,
      chgStatLevel: 0,
      missedLogs: 0,
      nfcLock: 0,
      batteryFullPct: 80,
    },
  };
}

/** `device/{id}/status` diagnostics: what a player sends between full statuses. */
export function legacyDiagnostics(v: PlayerVitals): YotoLegacyStatusMessage {
  return {
    status: {
      ...batteryFields(v),
      free: 3907880,
      freeDMA: 64038,
      free32: 86882,
      upTime: v.upTimeSeconds,
      utcTime: v.utcTime,
      aliveTime: 12455380 + v.upTimeSeconds,
      accelTemp: 10,
    },
  };
}
