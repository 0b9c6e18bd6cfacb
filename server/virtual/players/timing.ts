import { EVENTS_PUSH_WINDOW_MS, STATUS_PUSH_INTERVAL_MS } from '../../yoto/protocol';

/** How a virtual player's time passes; tests and demos can speed parts of it up. */
export interface VirtualPlayerTiming {
  /** While playing, a position event this often. */
  positionReportMs: number;
  /** Unprompted data/status and legacy diagnostics this often. */
  statusIntervalMs: number;
  /** Events are pushed only this long after the last events/request, as the real cloud does. */
  eventsPushWindowMs: number;
  /** From the reboot command to the player being back. */
  rebootMs: number;
  /** How often the battery level is updated. */
  batteryTickMs: number;
  playingDrainPercentPerHour: number;
  idleDrainPercentPerHour: number;
  chargePercentPerHour: number;
  /** Length of an uploaded track whose card gives no duration. */
  defaultTrackSeconds: number;
  /** A stream that sends nothing for this long has failed. */
  streamTimeoutMs: number;
}

export const DEFAULT_TIMING: VirtualPlayerTiming = {
  positionReportMs: 5_000,
  statusIntervalMs: STATUS_PUSH_INTERVAL_MS,
  eventsPushWindowMs: EVENTS_PUSH_WINDOW_MS,
  rebootMs: 3_000,
  batteryTickMs: 60_000,
  playingDrainPercentPerHour: 10,
  idleDrainPercentPerHour: 2,
  chargePercentPerHour: 60,
  defaultTrackSeconds: 60,
  streamTimeoutMs: 10_000,
};
