import { readPlayerPayload, type ReadPlayerPayload, type ReceivedPlayerMessage } from '../../server/yoto/mqtt';
import type { DeviceTopicKind } from '../../server/yoto/protocol';

/**
 * A raw player payload read by the adapter's own reader (the one check a
 * payload gets), ready for DeviceRegistry.ingest: tests that feed the core
 * directly go through the same reading as live traffic.
 */
export function playerMessage(deviceId: string, kind: DeviceTopicKind, payload: unknown, receivedAt: Date = new Date()): ReceivedPlayerMessage & Pick<ReadPlayerPayload, 'dropped' | 'extra'> {
  const read = readPlayerPayload(kind, payload);
  if (!read.ok) throw new Error(`the adapter refuses this ${kind} payload: ${read.reason}`);
  return { ...read.message, deviceId, receivedAt };
}
