import type { DeviceState } from '../../server/core/device-state';
import type { Hub } from '../../server/hub';

/**
 * Resolves with the player's state in the hub's live model once `holds` is true of it (at once if it
 * already is): the device bus, no polling.
 */
export function deviceStateWhere(hub: Hub, deviceId: string, holds: (state: DeviceState) => boolean): Promise<DeviceState> {
  const known = hub.devices.get(deviceId);
  if (known && holds(known)) return Promise.resolve(known);
  return new Promise((resolve) => {
    const owner = {};
    hub.devices.bus.on(owner, 'state', (state) => {
      if (state.deviceId !== deviceId || !holds(state)) return;
      hub.devices.bus.off(owner);
      resolve(state);
    });
  });
}
