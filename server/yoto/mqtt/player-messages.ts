import type {
  DeviceTopicKind,
  YotoEventsMessage,
  YotoPresenceMessage,
  YotoResponseMessage,
} from '../protocol';

/**
 * The one place a player's MQTT payload is checked. Each known field is read
 * on its own, liberally, as the real players and cloud send it (0/1 or
 * "true" for booleans, numbers as strings, disk sizes in KiB); a field that
 * still cannot be read is dropped and named in `dropped`, and the rest of the
 * message is kept. Unknown fields (new firmware) are passed over. Only a
 * payload that is not JSON, or not an object of the topic's shape, is refused
 * whole. The core consumes the typed result and checks nothing again.
 */

/** Status fields as the core uses them: booleans and bytes already converted. */
export interface PlayerStatus {
  statusVersion?: number;
  fwVersion?: string;
  productType?: string;
  /** Percent */
  batteryLevel?: number;
  charging?: boolean;
  /** "none" when no card is in */
  activeCard?: string;
  /** 0 none, 1 physical, 2 remote */
  cardInserted?: number;
  playingStatus?: number;
  headphones?: boolean;
  bluetoothHp?: boolean;
  /** Percent: the system (maximum) volume */
  volume?: number;
  /** Percent: the user's volume */
  userVolume?: number;
  /** "off", or a colour such as "#40bfd9" */
  nightlightMode?: string;
  /** Bytes (players report KiB) */
  freeDisk?: number;
  /** Bytes (players report KiB) */
  totalDisk?: number;
  /** dBm */
  wifiStrength?: number;
  ssid?: string;
  /** Seconds since the player started */
  upTime?: number;
  utcTime?: number;
  utcOffset?: number;
  /** Degrees Celsius: the accelerometer's, or the device side of `temp` */
  accelTemp?: number;
  batteryTemp?: number;
  /** "battery:device" degrees, e.g. "24:18"; "0" or "notSupported" when unknown */
  temp?: string;
  /** Millivolts */
  battery?: number;
  batteryLevelRaw?: number;
  /** 0 battery, 1 USB, 2 dock (wireless) */
  powerSrc?: number;
  als?: number;
  /** -1 unknown, 0 night, 1 day */
  day?: number;
  dnowBrightness?: number;
  shutdownTimeout?: number;
  /** "nA" while running; anything else means shutting down (legacy status only) */
  shutDown?: string;
}

export type PlayerPayload =
  | { kind: 'events'; payload: YotoEventsMessage }
  | { kind: 'legacyEvents'; payload: YotoEventsMessage }
  | { kind: 'status'; payload: PlayerStatus }
  | { kind: 'legacyStatus'; payload: PlayerStatus }
  | { kind: 'fullStatus'; payload: PlayerStatus }
  | { kind: 'response'; payload: YotoResponseMessage }
  | { kind: 'presence'; payload: YotoPresenceMessage };

/**
 * A payload read into its typed form, with the known fields that could not be
 * read (`dropped`) and the fields the hub has no name for yet, kept as sent (`extra`).
 */
export type ReadPlayerPayload = PlayerPayload & { dropped: string[]; extra: Record<string, unknown> };

/** What the core ingests: a typed payload from one player, stamped when it arrived. */
export type ReceivedPlayerMessage = PlayerPayload & { deviceId: string; receivedAt: Date };

export type ReadOutcome = { ok: true; message: ReadPlayerPayload } | { ok: false; reason: string };

type FieldReader = (value: unknown) => unknown;

const asString: FieldReader = (value) => {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
};

const asNumber: FieldReader = (value) => {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && value.trim() !== '') {
    const number = Number(value.trim());
    return Number.isFinite(number) ? number : undefined;
  }
  return undefined;
};

/** true/false, 0/1 (any number: non-zero is true) and "true"/"false"/"1"/"0"/"yes"/"no". */
const asBoolean: FieldReader = (value) => {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value !== 0 : undefined;
  if (typeof value === 'string') {
    const text = value.trim().toLowerCase();
    if (text === 'true' || text === '1' || text === 'yes') return true;
    if (text === 'false' || text === '0' || text === 'no') return false;
  }
  return undefined;
};

const KIB = 1024;
const kibToBytes: FieldReader = (value) => {
  const kib = asNumber(value);
  return typeof kib === 'number' && kib >= 0 ? Math.round(kib * KIB) : undefined;
};

const EVENT_FIELDS: Readonly<Record<keyof YotoEventsMessage, FieldReader>> = {
  repeatAll: asBoolean,
  streaming: asBoolean,
  volume: asNumber,
  volumeMax: asNumber,
  playbackWait: asBoolean,
  sleepTimerActive: asBoolean,
  sleepTimerSeconds: asNumber,
  eventUtc: asNumber,
  trackLength: asNumber,
  position: asNumber,
  cardId: asString,
  source: asString,
  cardUpdatedAt: asString,
  chapterTitle: asString,
  chapterKey: asString,
  trackTitle: asString,
  trackKey: asString,
  playbackStatus: asString,
  requestId: asString,
};

const STATUS_FIELDS: Readonly<Record<keyof PlayerStatus, FieldReader>> = {
  statusVersion: asNumber,
  fwVersion: asString,
  productType: asString,
  batteryLevel: asNumber,
  charging: asBoolean,
  activeCard: asString,
  cardInserted: asNumber,
  playingStatus: asNumber,
  headphones: asBoolean,
  bluetoothHp: asBoolean,
  volume: asNumber,
  userVolume: asNumber,
  nightlightMode: asString,
  freeDisk: kibToBytes,
  totalDisk: kibToBytes,
  wifiStrength: asNumber,
  ssid: asString,
  upTime: asNumber,
  utcTime: asNumber,
  utcOffset: asNumber,
  accelTemp: asNumber,
  batteryTemp: asNumber,
  temp: asString,
  battery: asNumber,
  batteryLevelRaw: asNumber,
  powerSrc: asNumber,
  als: asNumber,
  day: asNumber,
  dnowBrightness: asNumber,
  shutdownTimeout: asNumber,
  shutDown: asString,
};

const PRESENCE_STATES = new Set(['online', 'offline']);

function readFields<T>(source: Record<string, unknown>, fields: Readonly<Record<string, FieldReader>>): { value: T; dropped: string[]; extra: Record<string, unknown> } {
  const value: Record<string, unknown> = {};
  const dropped: string[] = [];
  const extra: Record<string, unknown> = {};
  // for...in, not Object.entries: no array of pairs per message.
  for (const name in source) {
    if (!Object.hasOwn(source, name)) continue;
    const raw = source[name];
    if (!Object.hasOwn(fields, name)) {
      extra[name] = raw;
      continue;
    }
    if (raw === undefined || raw === null) continue;
    const field = fields[name]!(raw);
    if (field === undefined) dropped.push(name);
    else value[name] = field;
  }
  return { value: value as T, dropped, extra };
}

/** Reads one player payload (already JSON-parsed) of a topic kind. Never throws. */
export function readPlayerPayload(kind: DeviceTopicKind, json: unknown): ReadOutcome {
  switch (kind) {
    case 'events':
    case 'legacyEvents': {
      if (!isPlainObject(json)) return { ok: false, reason: `events payload must be a JSON object, got ${describe(json)}` };
      const { value, dropped, extra } = readFields<YotoEventsMessage>(json, EVENT_FIELDS);
      return { ok: true, message: { kind, payload: value, dropped, extra } };
    }
    case 'status':
    case 'legacyStatus':
    case 'fullStatus': {
      if (!isPlainObject(json)) return { ok: false, reason: `status payload must be a JSON object, got ${describe(json)}` };
      // The documented shape is {status: {...}}; a bare status object is read the same way.
      const status = json['status'] === undefined ? json : json['status'];
      if (!isPlainObject(status)) return { ok: false, reason: `status payload must have a "status" object, got ${describe(status)}` };
      const { value, dropped, extra } = readFields<PlayerStatus>(status, STATUS_FIELDS);
      // A full status may echo the request it answers beside its status object.
      for (const [name, raw] of Object.entries(json)) if (name !== 'status' && status !== json) extra[name] = raw;
      return { ok: true, message: { kind, payload: value, dropped, extra } };
    }
    case 'response': {
      if (!isPlainObject(json) || !isPlainObject(json['status'])) {
        return { ok: false, reason: `response payload must be {"status": {...}}, got ${describe(json)}` };
      }
      const status: Record<string, string> = {};
      const dropped: string[] = [];
      for (const [key, value] of Object.entries(json['status'])) {
        const text = asString(value);
        if (typeof text === 'string') status[key] = text;
        else dropped.push(key);
      }
      return { ok: true, message: { kind, payload: { status }, dropped, extra: {} } };
    }
    case 'presence': {
      if (!isPlainObject(json)) return { ok: false, reason: `presence payload must be a JSON object, got ${describe(json)}` };
      const state = typeof json['state'] === 'string' ? json['state'].trim().toLowerCase() : undefined;
      if (state === undefined || !PRESENCE_STATES.has(state)) {
        return { ok: false, reason: `presence payload must say "state": "online" or "offline", got ${JSON.stringify(json['state'])}` };
      }
      const dropped: string[] = [];
      const ts = json['ts'] === undefined || json['ts'] === null ? undefined : asNumber(json['ts']);
      if (json['ts'] !== undefined && json['ts'] !== null && ts === undefined) dropped.push('ts');
      const payload: YotoPresenceMessage = { state: state as YotoPresenceMessage['state'], ...(typeof ts === 'number' ? { ts } : {}) };
      const extra = Object.fromEntries(Object.entries(json).filter(([name]) => name !== 'state' && name !== 'ts'));
      return { ok: true, message: { kind, payload, dropped, extra } };
    }
  }
}

/** Parses the raw bytes of a player message and reads them. Never throws. */
export function parsePlayerPayload(kind: DeviceTopicKind, buffer: Buffer): ReadOutcome {
  if (buffer.length === 0) return { ok: false, reason: 'empty payload' };
  let json: unknown;
  try {
    json = JSON.parse(buffer.toString('utf8'));
  } catch (error) {
    return { ok: false, reason: `not JSON: ${(error as Error).message}` };
  }
  return readPlayerPayload(kind, json);
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
