/**
 * The one typed command API every surface uses (home broker, REST, nodes).
 * The cloud adapter turns each into Yoto MQTT commands; next, previous and
 * seek become `card/start` with the neighbouring key or `secondsIn`.
 */
export type DeviceCommand =
  | { type: 'play'; cardId: string; chapterKey?: string; trackKey?: string; secondsIn?: number; cutOff?: number; anyButtonStop?: boolean }
  /** A card of the family library by its title (the hub finds its id). */
  | { type: 'play-title'; title: string; chapterKey?: string; trackKey?: string; secondsIn?: number }
  /** A card picked at random from a family library group (id or name). */
  | { type: 'play-random'; group: string }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'stop' }
  | { type: 'next' }
  | { type: 'previous' }
  /** seconds into the current track */
  | { type: 'seek'; position: number }
  /** percent 0..100 */
  | { type: 'volume'; percent: number }
  /** 0 cancels */
  | { type: 'sleep'; seconds: number }
  | { type: 'nightlight'; color: { r: number; g: number; b: number } | 'off' }
  /** Steps on the player's 0..16 scale from where it is (negative lowers). */
  | { type: 'volume-step'; steps: number }
  /** An icon (`yoto:#<mediaId>` or a URL) on the screen for `seconds` (shown only while the screen is awake). */
  | { type: 'display-preview'; icon: string; seconds?: number; animated?: boolean }
  | { type: 'bluetooth'; on: boolean }
  | { type: 'reboot' }
  | { type: 'status-request' }
  | { type: 'events-request' };

export type DeviceCommandType = DeviceCommand['type'];

export interface CommandResult {
  deviceId: string;
  command: DeviceCommandType;
  /** How the player confirmed: its `response` ack, or the expected state change. */
  confirmedBy: 'ack' | 'state';
  /** Milliseconds from send to confirmation. */
  latencyMs: number;
}

/** A refusal (FAIL ack, invalid arguments, unknown device) or a timeout. */
export class DeviceCommandError extends Error {
  constructor(
    readonly code: 'refused' | 'timeout' | 'invalid_command' | 'unknown_device' | 'offline' | 'not_playing',
    message: string,
    readonly deviceId: string,
    readonly command: DeviceCommandType,
  ) {
    super(message);
    this.name = 'DeviceCommandError';
  }
}

/** What the core and the surfaces depend on; the cloud adapter implements it. */
export interface DeviceCommander {
  execute(deviceId: string, command: DeviceCommand, options?: { timeoutMs?: number }): Promise<CommandResult>;
}
