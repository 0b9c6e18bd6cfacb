import type {
  DeviceTopicKind,
  YotoEventsMessage,
  YotoLegacyStatusMessage,
  YotoResponseMessage,
  YotoStatusMessage,
} from '../protocol';

/**
 * Structural checks for what players publish. Players add fields with new
 * firmware, so unknown fields pass; a known field with the wrong type, or a
 * payload that is not the expected object, is malformed.
 */
export type ParsedPayload =
  | { kind: 'events'; payload: YotoEventsMessage }
  | { kind: 'legacyEvents'; payload: YotoEventsMessage }
  | { kind: 'status'; payload: YotoStatusMessage }
  | { kind: 'legacyStatus'; payload: YotoLegacyStatusMessage }
  | { kind: 'response'; payload: YotoResponseMessage };

export type ParseOutcome = { ok: true; parsed: ParsedPayload } | { ok: false; reason: string };

type FieldType = 'number' | 'string' | 'boolean';

/** The type of every field a player's events message may carry (shared with the device model). */
export const EVENT_FIELD_TYPES: Readonly<Record<keyof YotoEventsMessage, FieldType>> = {
  repeatAll: 'boolean',
  streaming: 'boolean',
  volume: 'number',
  volumeMax: 'number',
  playbackWait: 'boolean',
  sleepTimerActive: 'boolean',
  sleepTimerSeconds: 'number',
  eventUtc: 'number',
  trackLength: 'number',
  position: 'number',
  cardId: 'string',
  source: 'string',
  cardUpdatedAt: 'string',
  chapterTitle: 'string',
  chapterKey: 'string',
  trackTitle: 'string',
  trackKey: 'string',
  playbackStatus: 'string',
};

const STATUS_FIELDS: Record<string, FieldType> = {
  statusVersion: 'number',
  fwVersion: 'string',
  productType: 'string',
  batteryLevel: 'number',
  freeDisk: 'number',
  charging: 'number',
  activeCard: 'string',
  cardInserted: 'number',
  playingStatus: 'number',
  volume: 'number',
  userVolume: 'number',
  nightlightMode: 'string',
  shutDown: 'string',
  upTime: 'number',
  utcTime: 'number',
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function wrongField(object: Record<string, unknown>, fields: Record<string, FieldType>): string | undefined {
  for (const [name, type] of Object.entries(fields)) {
    const value = object[name];
    if (value !== undefined && typeof value !== type) return `${name} should be a ${type}, got ${JSON.stringify(value)}`;
  }
  return undefined;
}

function parseJson(buffer: Buffer): { ok: true; value: unknown } | { ok: false; reason: string } {
  if (buffer.length === 0) return { ok: false, reason: 'empty payload' };
  try {
    return { ok: true, value: JSON.parse(buffer.toString('utf8')) };
  } catch (error) {
    return { ok: false, reason: `not JSON: ${(error as Error).message}` };
  }
}

function checkEvents(value: unknown): string | undefined {
  if (!isRecord(value)) return 'events payload is not a JSON object';
  return wrongField(value, EVENT_FIELD_TYPES);
}

function checkStatus(value: unknown): string | undefined {
  if (!isRecord(value) || !isRecord(value.status)) return 'status payload has no "status" object';
  return wrongField(value.status, STATUS_FIELDS);
}

function checkResponse(value: unknown): string | undefined {
  if (!isRecord(value) || !isRecord(value.status)) return 'response payload has no "status" object';
  for (const [key, result] of Object.entries(value.status)) {
    if (typeof result !== 'string') return `response field ${key} should be a string`;
  }
  return undefined;
}

/** Parses and checks one player message; never throws. */
export function parsePlayerPayload(kind: DeviceTopicKind, buffer: Buffer): ParseOutcome {
  const json = parseJson(buffer);
  if (!json.ok) return json;
  const value = json.value;
  switch (kind) {
    case 'events':
    case 'legacyEvents': {
      const problem = checkEvents(value);
      return problem ? { ok: false, reason: problem } : { ok: true, parsed: { kind, payload: value as YotoEventsMessage } };
    }
    case 'status': {
      const problem = checkStatus(value);
      return problem ? { ok: false, reason: problem } : { ok: true, parsed: { kind, payload: value as YotoStatusMessage } };
    }
    case 'legacyStatus': {
      const problem = checkStatus(value);
      return problem ? { ok: false, reason: problem } : { ok: true, parsed: { kind, payload: value as YotoLegacyStatusMessage } };
    }
    case 'response': {
      const problem = checkResponse(value);
      return problem ? { ok: false, reason: problem } : { ok: true, parsed: { kind, payload: value as YotoResponseMessage } };
    }
  }
}
