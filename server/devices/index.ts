export { createDevicesApi, deviceView, commandError, eventTypeNames } from './devices-api';
export type { DevicesApiOptions, DeviceView, DeviceStatusView, EventsPage, ScriptPlayer } from './devices-api';
export { findDeviceRecord, visibleDeviceIds } from './ownership';
export { QueryReader } from './query-params';
