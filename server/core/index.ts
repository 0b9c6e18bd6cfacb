export { DeviceRegistry, DEFAULT_BATTERY_LOW_PERCENT, DEFAULT_OFFLINE_ALERT_MS, DEFAULT_SILENCE_TIMEOUT_MS } from './device-registry';
export type { DeviceRegistryEvents, DeviceRegistryOptions, DeviceRegistryStats, EventSink } from './device-registry';
export type {
  CloudDeviceInfo,
  ConnectionStatus,
  DeviceState,
  DeviceTelemetry,
  DeviceVolume,
  PlaybackInfo,
  PlaybackState,
} from './device-state';
export { connectionStatus, initialState, modelHasNightLight, playbackState, protocolPlayback } from './device-state';
export type { DeviceEventType } from './event-normalizer';
export type { PlaybackHistorySink, SessionEnd } from './playback-sessions';
export { DeviceBus, type DeviceBusEvents, type DeviceBusStats, type BusOwner } from './device-bus';
export { deviceViews, discoveryPayload, eventPayload, playbackPayload, statusPayload, telemetryPayload, type DeviceViews } from './device-views';
export { reportCommandFailure, type CommandSurface } from './command-failures';
