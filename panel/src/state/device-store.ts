import type { BrokerEventMessage, BrokerPlaybackMessage, BrokerStatusMessage, WsServerMessage } from '../api/types';
import { ChangeNotifier } from './change-notifier';

/** What the panel knows of one player, from the WebSocket. */
export interface DeviceEntry {
  deviceId: string;
  name: string;
  model?: string;
  status?: BrokerStatusMessage;
  /** The last playback the hub confirmed. */
  playback?: BrokerPlaybackMessage;
  /** What a command just sent should change, shown until the next `device.playback` confirms (or replaces) it. */
  optimistic?: Partial<BrokerPlaybackMessage>;
  /** When `playback` arrived (ms since epoch), to advance the position while playing. */
  playbackAt?: number;
}

export interface RecentEvent {
  deviceId: string;
  event: BrokerEventMessage;
}

export type ConnectionState = 'idle' | 'connecting' | 'open' | 'reconnecting';

const MAX_EVENTS = 50;
/** Made on the first name compareNames cannot order itself. */
let collator: Intl.Collator | undefined;
/** ICU's root order, which English uses, orders plain ASCII names as compareAscii does. */
const ENGLISH = /^en(-|$)/i.test(globalThis.navigator?.language ?? '');
const PLAIN = /^[ 0-9A-Za-z]*$/;

/**
 * Players' names in the page's language order, as `new Intl.Collator()` (and String.localeCompare)
 * orders them. A page's first Intl object loads ICU's data, 15-40 ms of main thread on this
 * machine, which the Dashboard's first render paid to sort the players. In an English browser,
 * names of ASCII letters, digits and spaces (the usual player names) are ordered without it;
 * any other name, or another language, goes to the collator. The two agree on every pair of such
 * names (checked against ICU 78 on 300,000 random pairs), so one sort may use both.
 */
export function compareNames(a: string, b: string): number {
  if (ENGLISH && PLAIN.test(a) && PLAIN.test(b)) return compareAscii(a, b);
  collator ??= new Intl.Collator();
  return collator.compare(a, b);
}

/** ICU's root order of [ 0-9A-Za-z]: space, digits, letters (case aside), over the whole name; then, at the first difference in case, lowercase first. */
function compareAscii(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const difference = primaryWeight(a.charCodeAt(i)) - primaryWeight(b.charCodeAt(i));
    if (difference !== 0) return difference < 0 ? -1 : 1;
  }
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    // The same letter in another case: the lowercase one (the higher code) goes first.
    if (x !== y) return x > y ? -1 : 1;
  }
  return 0;
}

/** Space 1, digits 2-11, letters 12-37 whatever their case. */
function primaryWeight(code: number): number {
  if (code === 32) return 1;
  if (code <= 57) return code - 46;
  return (code | 32) - 85;
}
export const BATTERY_LOW_PERCENT = 20;

/** Every player's live state, held in one place; views read it and re-render when it changes. */
export class DeviceStore extends ChangeNotifier {
  readonly devices = new Map<string, DeviceEntry>();
  events: RecentEvent[] = [];
  connection: ConnectionState = 'idle';
  /** True once the hub sent its first complete picture (`subscribed`). */
  synced = false;
  lastError: string | undefined;

  /** list()'s answer until the next change. */
  private sorted: DeviceEntry[] | undefined;

  /** Every player by name. Sorted once per change (200 players: ~1,500 comparisons). */
  list(): DeviceEntry[] {
    this.sorted ??= [...this.devices.values()].sort((a, b) => compareNames(a.name, b.name));
    return [...this.sorted];
  }

  protected override notify(): void {
    this.sorted = undefined;
    super.notify();
  }

  get(deviceId: string): DeviceEntry | undefined {
    return this.devices.get(deviceId);
  }

  /** The playback to show: the confirmed one with any pending command applied on top. */
  playbackOf(entry: DeviceEntry): Partial<BrokerPlaybackMessage> {
    return { ...entry.playback, ...entry.optimistic };
  }

  setConnection(state: ConnectionState): void {
    if (this.connection === state) return;
    this.connection = state;
    if (state !== 'open') this.synced = false;
    this.notify();
  }

  setOptimistic(deviceId: string, patch: Partial<BrokerPlaybackMessage>): void {
    const entry = this.devices.get(deviceId);
    if (!entry) return;
    this.devices.set(deviceId, { ...entry, optimistic: { ...entry.optimistic, ...patch } });
    this.notify();
  }

  clearOptimistic(deviceId: string): void {
    const entry = this.devices.get(deviceId);
    if (!entry?.optimistic) return;
    const { optimistic: _dropped, ...rest } = entry;
    this.devices.set(deviceId, rest);
    this.notify();
  }

  apply(message: WsServerMessage): void {
    if (this.merge(message)) this.notify();
  }

  /** Applies the messages in order and tells the views once. */
  applyAll(messages: readonly WsServerMessage[]): void {
    let changed = false;
    for (const message of messages) changed = this.merge(message) || changed;
    if (changed) this.notify();
  }

  /** Merges one message into the state; false when it changes nothing the views show. */
  private merge(message: WsServerMessage): boolean {
    switch (message.type) {
      case 'device.status': {
        const entry = this.entry(message.deviceId);
        entry.status = message.data;
        if (typeof message.data['name'] === 'string' && message.data['name']) entry.name = message.data['name'];
        if (typeof message.data['model'] === 'string') entry.model = message.data['model'];
        break;
      }
      case 'device.playback': {
        const entry = this.entry(message.deviceId);
        entry.playback = message.data;
        entry.playbackAt = Date.now();
        // The player's own word replaces whatever a command predicted.
        delete entry.optimistic;
        break;
      }
      case 'device.event':
        this.events = [{ deviceId: message.deviceId, event: message.event }, ...this.events].slice(0, MAX_EVENTS);
        break;
      case 'device.removed':
        this.devices.delete(message.deviceId);
        break;
      case 'subscribed':
        this.synced = true;
        break;
      case 'error':
        this.lastError = message.error.message;
        break;
      default:
        return false;
    }
    return true;
  }

  reset(): void {
    this.devices.clear();
    this.events = [];
    this.synced = false;
    this.notify();
  }

  /** A fresh copy of the player's entry, stored in its place: entries are never changed in place, so views passed one see a new object. */
  private entry(deviceId: string): DeviceEntry {
    const entry: DeviceEntry = { ...(this.devices.get(deviceId) ?? { deviceId, name: deviceId }) };
    this.devices.set(deviceId, entry);
    return entry;
  }
}

/** Online as the status says (connected or idle). */
export function isOnline(entry: DeviceEntry): boolean {
  return entry.status?.status === 'connected' || entry.status?.status === 'idle';
}

/** The position now: the last reported one, advanced by the time since while playing. */
export function livePosition(entry: DeviceEntry, playback: Partial<BrokerPlaybackMessage>, now = Date.now()): number | undefined {
  if (playback.position === undefined) return undefined;
  let position = playback.position;
  if (playback.state === 'playing' && entry.playbackAt !== undefined && !entry.optimistic) position += (now - entry.playbackAt) / 1000;
  return playback.duration !== undefined ? Math.min(position, playback.duration) : position;
}

export interface DeviceAlert {
  deviceId: string;
  name: string;
  kind: 'offline' | 'battery_low' | 'stream_failed';
  message: string;
}

/**
 * A `device.event` that says a stream failed. The event log has no type of its
 * own for it (schemas/event.schema.json): the hub raises it as an `alert`
 * whose `alert` names a stream (e.g. `stream_failed`), or a `command_failed`
 * whose code or reason is about a stream.
 */
export function isStreamFailure(event: BrokerEventMessage): boolean {
  const text = (key: string): string => (typeof event[key] === 'string' ? event[key] : '');
  if (event.type === 'stream_failed') return true;
  if (event.type === 'alert') return /stream/i.test(text('alert'));
  if (event.type === 'command_failed') return /stream/i.test(`${text('code')} ${text('reason')}`);
  return false;
}

/** Alerts to show: offline and battery low from each player's status, stream failures from the recent events (the newest per player, until it plays again). */
export function alertsOf(entries: DeviceEntry[], events: readonly RecentEvent[] = []): DeviceAlert[] {
  const alerts: DeviceAlert[] = [];
  for (const entry of entries) {
    if (!entry.status) continue;
    if (!isOnline(entry)) alerts.push({ deviceId: entry.deviceId, name: entry.name, kind: 'offline', message: `${entry.name} is offline` });
    const battery = entry.status.battery;
    if (battery !== undefined && battery <= BATTERY_LOW_PERCENT && !entry.status.charging) {
      alerts.push({ deviceId: entry.deviceId, name: entry.name, kind: 'battery_low', message: `${entry.name} battery low (${battery}%)` });
    }
  }
  const names = new Map(entries.map((entry) => [entry.deviceId, entry.name]));
  const seen = new Set<string>();
  // Newest first: a player that started playing again since its last failure has no alert.
  for (const { deviceId, event } of events) {
    if (seen.has(deviceId)) continue;
    if (event.type === 'playback_started') seen.add(deviceId);
    if (!isStreamFailure(event)) continue;
    seen.add(deviceId);
    const name = names.get(deviceId) ?? deviceId;
    // The hub's stream_failed alerts carry a whole sentence naming the player; other failures only a reason.
    const reason = typeof event['reason'] === 'string' ? event['reason'] : '';
    const said = typeof event['message'] === 'string' ? event['message'] : '';
    const message = said.includes(name) ? said : `${name}: ${said || `a stream failed${reason ? ` (${reason})` : ''}`}`;
    alerts.push({ deviceId, name, kind: 'stream_failed', message });
  }
  return alerts;
}

export const devices = new DeviceStore();
