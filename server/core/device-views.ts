import { isoTime } from '../time/clock';
import type { DeviceState, DeviceTelemetry } from './device-state';
import type {
  BrokerDiscoveryMessage,
  BrokerEventMessage,
  BrokerPlaybackMessage,
  BrokerStatusMessage,
  BrokerTelemetryMessage,
  DeviceEvent,
} from '../types/schemas';

/**
 * What every surface shows of the device model: the payloads of the
 * yoto/{id}/... topics, in the schemas' snake_case shapes. The home broker
 * bridge, the WebSocket gateway, the REST API and the nodes all send these,
 * and a state's status and playback views are computed once (states are
 * immutable values), whoever asks first.
 *
 * The caches hold the latest few values by identity, not in WeakMaps: every player
 * message makes a state and an event that live a few hundred milliseconds, and V8's
 * young-generation collection treats each key of a WeakMap as an ephemeron of its own,
 * which made those collections several times longer at fleet scale (bench/scenarios/fleet.ts).
 */

type Untimed<T> = Omit<T, 'timestamp'>;

export interface DeviceViews {
  status: Untimed<BrokerStatusMessage>;
  playback: Untimed<BrokerPlaybackMessage>;
}

/** A state's views, and their JSON text once a surface has asked for it. */
interface ComputedViews extends DeviceViews {
  text: { status?: string; playback?: string };
}

/** A player's two latest states and their views: a change is compared with the state before it, whose views are here too. */
interface ViewSlots {
  state: DeviceState;
  views: ComputedViews;
  previousState: DeviceState | undefined;
  previousViews: ComputedViews | undefined;
}

const computed = new Map<string, ViewSlots>();
/** More players than a hub follows: beyond it the oldest player's slots go (they are made again when asked). */
const MAX_PLAYERS_CACHED = 10_000;

/** Forgets the views kept for the player of `state` if they are its: the registry that held it removed the player or stopped. */
export function forgetDeviceViews(state: DeviceState): void {
  const slots = computed.get(state.deviceId);
  if (slots && (slots.state === state || slots.previousState === state)) computed.delete(state.deviceId);
}

/** The status and playback views of a state, without their timestamps: computed once per state while it is one of its player's two latest. */
export function deviceViews(state: DeviceState): DeviceViews {
  return computedViews(state);
}

function computedViews(state: DeviceState): ComputedViews {
  const slots = computed.get(state.deviceId);
  if (slots?.state === state) return slots.views;
  if (slots?.previousState === state) return slots.previousViews!;
  const views = slots ? viewsAfter(state, slots.state, slots.views) : { status: statusView(state), playback: playbackView(state), text: {} };
  if (slots) {
    // A state older than the latest (held by someone since) is not kept: it would push out the
    // latest, and each change after it would find neither of its two states. (Should the clock
    // step back, new states are not kept until it has caught up: made again when asked, as right.)
    if (state.updatedAt < slots.state.updatedAt) return views;
    slots.previousState = slots.state;
    slots.previousViews = slots.views;
    slots.state = state;
    slots.views = views;
    return views;
  }
  if (computed.size >= MAX_PLAYERS_CACHED) computed.delete(computed.keys().next().value!);
  computed.set(state.deviceId, { state, views, previousState: undefined, previousViews: undefined });
  return views;
}

/**
 * statusPayload or playbackPayload as JSON text: the same text as JSON.stringify of the payload,
 * the timestamp last. The view's own text is made once per state, for the home broker and the
 * WebSocket alike, and no payload object is copied.
 */
export function viewPayloadJson(state: DeviceState, view: keyof DeviceViews, timestamp: Date): string {
  const views = computedViews(state);
  const fields = (views.text[view] ??= JSON.stringify(views[view]));
  return `${fields.slice(0, -1)}${fields.length > 2 ? ',' : ''}"timestamp":"${isoTime(timestamp)}"}`;
}

/**
 * The views of a player's new state, sharing with its latest state's views the one a change left
 * as it was (a volume change leaves the status view), its JSON text included: a surface comparing
 * the two finds the same object at once.
 */
function viewsAfter(state: DeviceState, latest: DeviceState, latestViews: ComputedViews): ComputedViews {
  const sameStatus = sameFields(state, latest, STATUS_VIEW_FIELDS);
  const samePlayback = state.playback === latest.playback && state.volume?.percent === latest.volume?.percent;
  return {
    status: sameStatus ? latestViews.status : statusView(state),
    playback: samePlayback ? latestViews.playback : playbackView(state),
    text: { status: sameStatus ? latestViews.text.status : undefined, playback: samePlayback ? latestViews.text.playback : undefined },
  };
}

/** Whether two states hold the same values (by identity) in `fields`. */
export function sameFields(a: DeviceState, b: DeviceState, fields: readonly (keyof DeviceState)[]): boolean {
  for (const field of fields) if (a[field] !== b[field]) return false;
  return true;
}

/** Every field of the state statusView() reads: a state equal to another in these has the same status view. */
const STATUS_VIEW_FIELDS = [
  'status',
  'battery',
  'firmware',
  'charging',
  'headphones',
  'bluetoothAudio',
  'cardSlot',
  'online',
  'name',
  'model',
  'hasNightLight',
  'nightlight',
  'offlineSince',
  'dayMode',
] as const satisfies ReadonlyArray<keyof DeviceState>;

/** Real keys carry spaces and other characters ("TEMPLATE PASSAGE", "01-INT"): the card's own spelling is kept. */
const TRACK_KEY = /^(?=\S)[^\u0000-\u001f\u007f]{0,99}[^\s\u0000-\u001f\u007f]$/;
const CARD_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * yoto/{id}/status. `lastSeen` is left out on purpose: it changes with every
 * message and would republish this retained topic each time.
 */
export function statusPayload(state: DeviceState, timestamp: Date): BrokerStatusMessage {
  // The schema types have index signatures, which Omit<> turns into plain records: the fields are all there.
  return { ...deviceViews(state).status, timestamp: isoTime(timestamp) } as BrokerStatusMessage;
}

/** Reads only the fields in STATUS_VIEW_FIELDS (viewsAfter shares the view between states equal in them). */
function statusView(state: DeviceState): Untimed<BrokerStatusMessage> {
  const payload: Untimed<BrokerStatusMessage> = { status: state.status };
  if (state.battery !== undefined) payload.battery = state.battery;
  if (state.firmware !== undefined) payload.firmware = state.firmware;
  if (state.charging !== undefined) payload.charging = state.charging;
  if (state.headphones !== undefined) payload.headphones = state.headphones;
  if (state.bluetoothAudio !== undefined) payload.bluetooth_audio = state.bluetoothAudio;
  if (state.cardSlot !== undefined) payload.card_slot = state.cardSlot;
  payload['online'] = state.online;
  payload['name'] = state.name;
  if (state.model !== undefined) payload['model'] = state.model;
  if (state.hasNightLight && state.nightlight !== undefined) payload['nightlight'] = state.nightlight;
  if (state.offlineSince !== undefined) payload['offline_since'] = state.offlineSince;
  if (state.dayMode !== undefined) payload['day_mode'] = state.dayMode;
  return payload;
}

/** yoto/{id}/playback. A player never heard from counts as idle (no card known). */
export function playbackPayload(state: DeviceState, timestamp: Date): BrokerPlaybackMessage {
  return { ...deviceViews(state).playback, timestamp: isoTime(timestamp) } as BrokerPlaybackMessage;
}

/** Reads only `playback` and the volume's percent (viewsAfter shares the view between states equal in them). */
function playbackView(state: DeviceState): Untimed<BrokerPlaybackMessage> {
  const { playback } = state;
  const payload: Untimed<BrokerPlaybackMessage> = { state: playback.state ?? 'idle' };
  if (playback.cardId !== undefined && CARD_ID.test(playback.cardId)) payload.card_id = playback.cardId;
  if (playback.cardTitle !== undefined) payload.card_title = playback.cardTitle.slice(0, 255);
  if (playback.cardAuthor !== undefined) payload.card_author = playback.cardAuthor.slice(0, 255);
  if (playback.cardCover !== undefined) payload.cover = playback.cardCover;
  const title = playback.trackTitle ?? playback.chapterTitle;
  if (title !== undefined) payload.title = title.slice(0, 255);
  if (playback.chapterKey !== undefined && TRACK_KEY.test(playback.chapterKey)) payload.chapter_key = playback.chapterKey;
  if (playback.trackKey !== undefined && TRACK_KEY.test(playback.trackKey)) payload.track_key = playback.trackKey;
  if (playback.position !== undefined) payload.position = playback.position;
  if (playback.duration !== undefined) payload.duration = playback.duration;
  if (state.volume !== undefined) payload.volume = state.volume.percent;
  return payload;
}

export function telemetryPayload(telemetry: DeviceTelemetry, timestamp: Date): BrokerTelemetryMessage {
  const payload: BrokerTelemetryMessage = { timestamp: timestamp.toISOString() };
  if (telemetry.wifiStrength !== undefined && telemetry.wifiStrength >= -127) payload.wifi_strength = telemetry.wifiStrength;
  if (telemetry.temperature !== undefined) payload.temperature = telemetry.temperature;
  if (telemetry.freeDisk !== undefined) payload.free_disk = telemetry.freeDisk;
  if (telemetry.uptime !== undefined) payload.uptime = telemetry.uptime;
  return payload;
}

/** yoto/{id}/events: the event's data in snake_case beside its type and time. */
export function eventPayload(event: DeviceEvent): BrokerEventMessage {
  // One object filled in place (no spread of a snake-cased copy): every event of every player comes through here.
  const payload: Record<string, unknown> = {};
  const { data } = event;
  for (const key of Object.keys(data)) payload[snakeCase(key)] = data[key];
  payload['device_id'] = event.deviceId;
  payload['type'] = event.type;
  payload['timestamp'] = event.timestamp;
  return payload as BrokerEventMessage;
}

/** The latest event's JSON text: the surfaces that send an event (bridge, WebSocket, nodes) ask for it one after the other. */
let lastEvent: { event: DeviceEvent; text: string } | undefined;

/** eventPayload() as JSON text, made once per event however many surfaces send it in a row (events are immutable values). */
export function eventPayloadJson(event: DeviceEvent): string {
  if (lastEvent?.event === event) return lastEvent.text;
  const text = JSON.stringify(eventPayload(event));
  lastEvent = { event, text };
  return text;
}

/** Whether two views (flat objects of primitives, as deviceViews() makes them) hold the same fields and values. */
export function sameView(a: object, b: object): boolean {
  if (a === b) return true;
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  let count = 0;
  for (const key in left) {
    if (left[key] !== right[key] || !(key in right)) return false;
    count++;
  }
  for (const _key in right) count--;
  return count === 0;
}

export function discoveryPayload(states: readonly DeviceState[], timestamp: Date): BrokerDiscoveryMessage {
  return {
    devices: states.map((state) => ({
      device_id: state.deviceId,
      name: state.name.slice(0, 100) || state.deviceId,
      online: state.online,
      model: (state.model ?? state.deviceFamily ?? 'unknown').slice(0, 100) || 'unknown',
    })),
    timestamp: timestamp.toISOString(),
  };
}

export function snakeCaseKeys(data: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) result[snakeCase(key)] = value;
  return result;
}

/** Event data keys are few and repeat with every event: each is converted once. */
const snakeCased = new Map<string, string>();
const SNAKE_CACHE_LIMIT = 1000;

function snakeCase(key: string): string {
  let snake = snakeCased.get(key);
  if (snake === undefined) {
    snake = key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
    if (snakeCased.size < SNAKE_CACHE_LIMIT) snakeCased.set(key, snake);
  }
  return snake;
}
