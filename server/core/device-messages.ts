import { EVENT_FIELD_TYPES } from '../yoto/mqtt/payload-validation';
import type { YotoEventsMessage, YotoLegacyStatusMessage, YotoResponseMessage } from '../yoto/protocol';

/**
 * Reads raw player payloads (already JSON-parsed, otherwise untrusted) into
 * the protocol's shapes. A payload of the wrong shape is refused with a
 * reason; a field of the wrong type is dropped and named in `ignored`, so one
 * odd field does not cost the rest of the message.
 */
export type ReadResult<T> = { ok: true; value: T; ignored: string[] } | { ok: false; reason: string };

type FieldKind = 'string' | 'number' | 'boolean' | 'number|boolean';

const EVENT_FIELDS: Readonly<Record<keyof YotoEventsMessage, FieldKind>> = EVENT_FIELD_TYPES;

/** The status fields the device model uses; other diagnostics are passed over. */
const STATUS_FIELDS: Record<string, FieldKind> = {
  fwVersion: 'string',
  productType: 'string',
  batteryLevel: 'number',
  charging: 'number|boolean',
  activeCard: 'string',
  cardInserted: 'number',
  volume: 'number',
  userVolume: 'number',
  nightlightMode: 'string',
  day: 'number',
  freeDisk: 'number',
  totalDisk: 'number',
  wifiStrength: 'number',
  ssid: 'string',
  upTime: 'number',
  accelTemp: 'number',
  shutDown: 'string',
};

export type StatusFields = YotoLegacyStatusMessage['status'];

export function readEventsMessage(payload: unknown): ReadResult<YotoEventsMessage> {
  if (!isPlainObject(payload)) return { ok: false, reason: `events payload must be a JSON object, got ${describe(payload)}` };
  const { picked, ignored } = pickFields(payload, EVENT_FIELDS);
  return { ok: true, value: picked as YotoEventsMessage, ignored };
}

/** Both status topics: `{status: {...}}` (data/status and the legacy status). */
export function readStatusMessage(payload: unknown): ReadResult<StatusFields> {
  if (!isPlainObject(payload)) return { ok: false, reason: `status payload must be a JSON object, got ${describe(payload)}` };
  const status = payload['status'];
  if (!isPlainObject(status)) return { ok: false, reason: `status payload must have a "status" object, got ${describe(status)}` };
  const { picked, ignored } = pickFields(status, STATUS_FIELDS);
  return { ok: true, value: picked as StatusFields, ignored };
}

export function readResponseMessage(payload: unknown): ReadResult<YotoResponseMessage> {
  if (!isPlainObject(payload) || !isPlainObject(payload['status'])) {
    return { ok: false, reason: `response payload must be {"status": {...}}, got ${describe(payload)}` };
  }
  const status: Record<string, string> = {};
  const ignored: string[] = [];
  for (const [key, value] of Object.entries(payload['status'])) {
    if (typeof value === 'string') status[key] = value;
    else ignored.push(key);
  }
  return { ok: true, value: { status }, ignored };
}

function pickFields(source: Record<string, unknown>, fields: Record<string, FieldKind>): { picked: Record<string, unknown>; ignored: string[] } {
  const picked: Record<string, unknown> = {};
  const ignored: string[] = [];
  for (const [name, kind] of Object.entries(fields)) {
    const value = source[name];
    if (value === undefined) continue;
    if (fits(value, kind)) picked[name] = value;
    else ignored.push(name);
  }
  return { picked, ignored };
}

function fits(value: unknown, kind: FieldKind): boolean {
  switch (kind) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'number|boolean':
      return typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (Buffer.isBuffer(value)) return 'raw bytes';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
