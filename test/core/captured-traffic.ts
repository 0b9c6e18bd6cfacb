import * as fs from 'node:fs';
import * as path from 'node:path';
import { fixturesDir } from '../helpers/fixtures';
import { parseDeviceTopic, type DeviceTopicKind } from '../../server/yoto/protocol';

/** One line of shared/fixtures/yoto-mqtt-captured.jsonl: real traffic from a Yoto Mini. */
export interface CapturedMessage {
  source: string;
  receivedAt: string | null;
  topic: string;
  payload: unknown;
  deviceId: string;
  kind: DeviceTopicKind;
}

export const CAPTURED_DEVICE_ID = 'y2iYT7ItkMRWbuMzTDuGjgmS';

export function capturedMessages(): CapturedMessage[] {
  const text = fs.readFileSync(path.join(fixturesDir, 'yoto-mqtt-captured.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const raw = JSON.parse(line) as { source: string; receivedAt: string | null; topic: string; payload: unknown };
      const parsed = parseDeviceTopic(raw.topic);
      if (!parsed) throw new Error(`fixture topic ${raw.topic} is not a device topic`);
      return { ...raw, ...parsed };
    });
}

/** The first captured legacy status: the full one, with `shutDown: "nA"`. */
export function capturedFullLegacyStatus(): { status: Record<string, unknown> } {
  const message = capturedMessages().find((m) => m.kind === 'legacyStatus' && JSON.stringify(m.payload).includes('shutDown'));
  if (!message) throw new Error('no full legacy status in the fixture');
  return structuredClone(message.payload) as { status: Record<string, unknown> };
}
