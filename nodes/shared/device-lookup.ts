import type { DeviceState } from '../../server/core/device-state';

/** What the Yoto nodes tell about a player: `msg.device` and the editor's device list. */
export interface DeviceSummary {
  id: string;
  name: string;
  model: string | undefined;
  online: boolean;
  battery: number | undefined;
}

export function deviceSummary(state: DeviceState): DeviceSummary {
  return { id: state.deviceId, name: state.name, model: state.model ?? state.deviceFamily, online: state.online, battery: state.battery };
}

/**
 * Which player a node acts on: its own Player setting when set, otherwise
 * `msg.device` (an id, a name, or the summary a yoto-device-in sends, with
 * `id`). So "when A starts, change B" and "answer the player that spoke" both
 * read naturally. An empty string when neither names one.
 */
export function playerRef(configured: string | undefined, fromMsg: unknown): string {
  if (configured && configured.trim()) return configured;
  if (typeof fromMsg === 'string') return fromMsg;
  if (typeof fromMsg === 'object' && fromMsg !== null && typeof (fromMsg as { id?: unknown }).id === 'string') return (fromMsg as { id: string }).id;
  return '';
}

/**
 * The player a user means by `ref`: its id, else its name (ignoring case and
 * surrounding spaces). A name two players share matches neither, so a command
 * never goes to the wrong one.
 */
export function findDevice(devices: readonly DeviceState[], ref: string): DeviceState | undefined {
  const wanted = ref.trim();
  if (!wanted) return undefined;
  const byId = devices.find((state) => state.deviceId === wanted);
  if (byId) return byId;
  const byName = devices.filter((state) => state.name.trim().toLowerCase() === wanted.toLowerCase());
  return byName.length === 1 ? byName[0] : undefined;
}

/** "Living Room (vliving0room0yoto0player), Kids Bedroom (...)": for error messages. */
export function describeDevices(devices: readonly DeviceState[]): string {
  return devices.length === 0 ? 'none' : devices.map((state) => `${state.name} (${state.deviceId})`).join(', ');
}
