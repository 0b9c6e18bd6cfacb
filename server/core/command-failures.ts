import { DeviceCommandError } from '../yoto/device-command';
import type { DeviceRegistry } from './device-registry';

/** Where a command came from: the home broker, the REST API or a flow. */
export type CommandSurface = 'mqtt' | 'api' | 'node-red';

/**
 * Records a command the player, the cloud or the hub refused as a
 * `command_failed` event, whatever surface it came from: the event log, the
 * home broker (`yoto/<id>/events`), the WebSocket and `yoto-device-in` all hear it.
 */
export function reportCommandFailure(
  registry: Pick<DeviceRegistry, 'has' | 'recordEvent'>,
  deviceId: string,
  request: { command: string; requestId?: string | undefined; surface: CommandSurface },
  error: unknown,
): { code: string; reason: string } {
  const code = error instanceof DeviceCommandError ? error.code : typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : 'error';
  const reason = error instanceof Error ? error.message : String(error);
  if (registry.has(deviceId)) {
    registry.recordEvent(deviceId, 'command_failed', {
      command: request.command,
      code,
      reason,
      surface: request.surface,
      ...(request.requestId ? { requestId: request.requestId } : {}),
    });
  }
  return { code, reason };
}
