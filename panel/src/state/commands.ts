import type { BrokerCommandMessage, BrokerPlaybackMessage } from '../api/types';
import { auth } from './auth-store';
import { devices } from './device-store';

/** Fired (bubbling, composed) by any control that wants a player to do something; the app shell sends it. */
export interface DeviceCommandDetail {
  deviceId: string;
  command: BrokerCommandMessage;
  /** Resolved when the hub answered (the optimistic state stays until the next device.playback). */
  done?: (error?: Error) => void;
}

export const DEVICE_COMMAND_EVENT = 'yoto-device-command';

export function deviceCommandEvent(detail: DeviceCommandDetail): CustomEvent<DeviceCommandDetail> {
  return new CustomEvent(DEVICE_COMMAND_EVENT, { detail, bubbles: true, composed: true });
}

/** What a command should change on screen before the player confirms it. */
export function predictedPlayback(command: BrokerCommandMessage): Partial<BrokerPlaybackMessage> | undefined {
  switch (command.command) {
    case 'play':
      return { state: 'loading', ...(command.card_id ? { card_id: command.card_id } : {}) };
    case 'pause':
      return { state: 'paused' };
    case 'resume':
      return { state: 'playing' };
    case 'stop':
      return { state: 'stopped' };
    case 'volume':
      return { volume: command.volume };
    default:
      return undefined;
  }
}

/** POST /api/devices/:id/command with an optimistic update; a refused command undoes it. */
export async function sendDeviceCommand(deviceId: string, command: BrokerCommandMessage): Promise<void> {
  const predicted = predictedPlayback(command);
  if (predicted) devices.setOptimistic(deviceId, predicted);
  try {
    await auth.json(`/api/devices/${encodeURIComponent(deviceId)}/command`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(command),
    });
  } catch (error) {
    if (predicted) devices.clearOptimistic(deviceId);
    throw error;
  }
}
