import { silentLogger, type Logger } from '../log/logger';
import { DeviceBus } from './device-bus';
import type { DeviceEvent, PlaybackSession } from '../types/schemas';
import type { DeviceTopicKind, YotoEventsMessage } from '../yoto/protocol';
import { isoTime, realClock, type Clock, type ClockTimer } from '../time/clock';
import type { PlayerStatus, ReceivedPlayerMessage } from '../yoto/mqtt/player-messages';
import { initialState, type CloudDeviceInfo, type DeviceState, type DeviceTelemetry } from './device-state';
import { forgetDeviceViews } from './device-views';
import { transitionEvents, type DeviceEventType, type TransitionContext } from './event-normalizer';
import { PlaybackSessionTracker, type PlaybackHistorySink } from './playback-sessions';
import { applyCardDescription, applyCloudInfo, applyEvents, applyStatus, deriveInPlace, hasTelemetry, sameDataExcept, withDerivedFields, type CardDescription } from './state-merge';

/** Where normalized events go: the hub's EventLog (only `append` is used). */
export interface EventSink {
  append(event: DeviceEvent): void;
}

export interface DeviceRegistryOptions {
  /** Where the registry publishes; the hub passes the one bus every consumer subscribes to. Default: a bus of its own. */
  bus?: DeviceBus;
  /** Receives every event published on the bus, first (before any other consumer). */
  eventLog?: EventSink;
  history?: PlaybackHistorySink;
  logger?: Logger;
  clock?: Clock;
  /** A player not heard from for this long is offline. 0 turns silence detection off. Default 10 minutes. */
  silenceTimeoutMs?: number;
  /** A player offline for longer than this raises an `alert` event. 0 turns it off. Default one hour. */
  offlineAlertMs?: number;
  /** `battery_low` is reported when the battery falls below this percent. Default 20. */
  batteryLowPercent?: number;
}

/** A message of another hub instance's device bus, as server/cluster carries it. */
export type RemoteBusMessage =
  | { topic: 'device-added'; state: DeviceState }
  | { topic: 'state'; state: DeviceState }
  | { topic: 'device-removed'; deviceId: string }
  | { topic: 'event'; event: DeviceEvent }
  | { topic: 'telemetry'; deviceId: string; telemetry: DeviceTelemetry; at: Date }
  | { topic: 'session'; session: PlaybackSession };

/** What the registry publishes on its bus. */
export type { DeviceBusEvents as DeviceRegistryEvents } from './device-bus';

export interface DeviceRegistryStats {
  devices: number;
  messages: number;
  /** Messages refused (a device id that is not one, an unknown kind), logged. */
  malformed: number;
  /** The same event seen on both events topics, counted once. */
  duplicates: number;
  events: number;
  eventLogFailures: number;
}

export const DEFAULT_SILENCE_TIMEOUT_MS = 10 * 60 * 1000;
export const DEFAULT_OFFLINE_ALERT_MS = 60 * 60 * 1000;
export const DEFAULT_BATTERY_LOW_PERCENT = 20;

/** The legacy `shutDown` value of a running player. */
const RUNNING = 'nA';
const DEVICE_ID = /^[A-Za-z0-9_-]{1,128}$/;
/** How many recent events payloads are remembered to spot the copy on the other events topic. */
const DUPLICATE_WINDOW = 8;

interface DeviceRecord {
  state: DeviceState;
  /** Clock time of the last message, for silence detection. */
  lastHeardAt: number;
  /** The cloud list's last word on presence: only a change of it moves presence. */
  cloudOnline: boolean | undefined;
  /** The last events messages, by topic kind; `key` (the payload as JSON) is made only once two kinds are compared. */
  recentEvents: Array<{ payload: unknown; kind: DeviceTopicKind; key?: string }>;
  /** Whether `device-added` went out: a player first heard from by a message is announced with that message merged. */
  announced: boolean;
  silenceTimer?: ClockTimer;
  alertTimer?: ClockTimer;
}

interface PresenceChange {
  online?: boolean;
  shutDown?: boolean;
  reason?: string;
  shutDownValue?: string;
}

/**
 * The live model of every player. Raw messages from the cloud adapter and the
 * cloud's device list go in; merged states, normalized events (also written
 * to the event log), playback sessions and presence (online, offline, shut
 * down, silent too long) come out. Bad input is logged and counted, never thrown.
 */
export class DeviceRegistry {
  /** Every change, event, telemetry report and session of the model goes out here. */
  readonly bus: DeviceBus;
  private readonly devices = new Map<string, DeviceRecord>();
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly silenceTimeoutMs: number;
  private readonly offlineAlertMs: number;
  private readonly batteryLowPercent: number;
  private readonly sessions: PlaybackSessionTracker;
  private stopped = false;
  /** Another hub instance leads (README "Several hub instances"): its changes arrive by applyRemote, and this one times nothing. */
  private following = false;
  /** Set while another instance's messages are delivered: the instance they came from wrote their events to the event log already. */
  private replaying = false;
  private readonly counters = { messages: 0, malformed: 0, duplicates: 0, events: 0, eventLogFailures: 0 };

  constructor(private readonly options: DeviceRegistryOptions = {}) {
    this.logger = options.logger ?? silentLogger;
    this.bus = options.bus ?? new DeviceBus(this.logger);
    // The event log hears every event first, whoever published it (the registry, the story follower, a command result).
    this.bus.on(this, 'event', (event) => this.logEvent(event));
    this.clock = options.clock ?? realClock;
    this.silenceTimeoutMs = options.silenceTimeoutMs ?? DEFAULT_SILENCE_TIMEOUT_MS;
    this.offlineAlertMs = options.offlineAlertMs ?? DEFAULT_OFFLINE_ALERT_MS;
    this.batteryLowPercent = options.batteryLowPercent ?? DEFAULT_BATTERY_LOW_PERCENT;
    this.sessions = new PlaybackSessionTracker((session) => this.saveSession(session), () => this.clock.now());
  }

  get(deviceId: string): DeviceState | undefined {
    return this.devices.get(deviceId)?.state;
  }

  has(deviceId: string): boolean {
    return this.devices.has(deviceId);
  }

  list(): DeviceState[] {
    return [...this.devices.values()].map((record) => record.state);
  }

  /** The listening session playing now on this player, if any. */
  currentSession(deviceId: string): PlaybackSession | undefined {
    return this.sessions.current(deviceId);
  }

  stats(): DeviceRegistryStats {
    return { devices: this.devices.size, ...this.counters };
  }

  /** Adds players from the cloud's device list and updates the ones known (name, model, presence). */
  upsertDevices(list: readonly CloudDeviceInfo[]): void {
    const at = this.now();
    for (const info of list) {
      if (!this.acceptsId(info?.deviceId, 'device list')) continue;
      const record = this.devices.get(info.deviceId);
      if (record) this.updateFromCloud(record, info, at);
      else this.add(info.deviceId, at, info);
    }
  }

  /** Like upsertDevices, and removes the players the list no longer has. */
  syncDevices(list: readonly CloudDeviceInfo[]): void {
    this.upsertDevices(list);
    const listed = new Set(list.map((info) => info?.deviceId));
    for (const deviceId of [...this.devices.keys()]) {
      if (!listed.has(deviceId)) this.removeDevice(deviceId);
    }
  }

  /**
   * What a card the player plays is (its title, author and cover, looked up by server/cards):
   * kept on the playback while that card plays, and gone with it. A player that has moved on to
   * another card meanwhile is left as it is.
   */
  describeCard(deviceId: string, cardId: string, card: CardDescription): void {
    const record = this.devices.get(deviceId);
    if (this.stopped || this.following || !record) return;
    const next = applyCardDescription(record.state, cardId, card);
    if (next !== record.state) this.change(record, next, this.now(), {});
  }

  removeDevice(deviceId: string): boolean {
    const record = this.devices.get(deviceId);
    if (!record) return false;
    this.clearTimers(record);
    this.sessions.end(deviceId, this.now(), 'removed');
    this.devices.delete(deviceId);
    this.bus.emit('device-removed', deviceId, record.state);
    forgetDeviceViews(record.state);
    return true;
  }

  /**
   * One message from the cloud adapter, already read field by field into its
   * typed form (server/yoto/mqtt/player-messages.ts): nothing is checked again here.
   */
  ingest(message: ReceivedPlayerMessage): void {
    if (this.stopped) return;
    this.counters.messages++;
    const { deviceId, receivedAt } = message;
    if (!this.acceptsId(deviceId, message.kind)) return;
    const at = receivedAt instanceof Date && !Number.isNaN(receivedAt.getTime()) ? receivedAt : this.now();
    switch (message.kind) {
      case 'events':
      case 'legacyEvents':
        return this.ingestEvents(deviceId, message.kind, message.payload, at);
      case 'status':
      case 'legacyStatus':
      case 'fullStatus':
        return this.ingestStatus(deviceId, message.kind, message.payload, at);
      case 'response':
        return this.ingestResponse(deviceId, at);
      case 'presence':
        return this.ingestPresence(deviceId, message.payload.state === 'online', at);
      default:
        return this.refuse(deviceId, String((message as { kind: unknown }).kind), 'unknown message kind');
    }
  }

  /**
   * Records an event that did not come from a state change (a command the
   * player refused, a story node entered): written to the event log and
   * emitted like the others.
   */
  recordEvent(deviceId: string, type: DeviceEventType, data: Record<string, unknown> = {}, at: Date = this.now()): DeviceEvent {
    return this.bus.publishEvent(deviceId, type, data, at);
  }

  /**
   * Several hub instances (server/cluster): while another instance leads, this registry
   * takes its states as they are (applyRemote) and runs no presence timer of its own, so
   * nothing is derived twice. `following(false)` when this instance becomes the leader.
   */
  follow(following: boolean): void {
    this.following = following;
    if (following) for (const record of this.devices.values()) this.clearTimers(record);
  }

  /**
   * Messages the device bus of another hub instance delivered together: the model is updated
   * to what they say and they go out on this bus, as one batch, as they went out there. Nothing
   * is derived from them (the events they caused come along), written to the event log or saved
   * (the other instance did that), and what this bus delivers meanwhile counts as theirs.
   */
  applyRemote(messages: readonly RemoteBusMessage[]): void {
    if (this.stopped) return;
    const wasReplaying = this.replaying;
    this.replaying = true;
    try {
      this.bus.batch(() => {
        for (const message of messages) this.applyOne(message);
      });
    } finally {
      this.replaying = wasReplaying;
    }
  }

  private applyOne(message: RemoteBusMessage): void {
    switch (message.topic) {
      case 'device-added':
      case 'state': {
        const { state } = message;
        const record = this.devices.get(state.deviceId);
        if (!record) {
          this.devices.set(state.deviceId, { state, lastHeardAt: this.clock.now(), cloudOnline: state.online, recentEvents: [], announced: true });
          this.bus.emit('device-added', state);
          return;
        }
        const previous = record.state;
        record.state = state;
        record.announced = true;
        if (message.topic === 'state') this.bus.emit('state', state, previous);
        return;
      }
      case 'device-removed': {
        const record = this.devices.get(message.deviceId);
        if (!record) return;
        this.clearTimers(record);
        this.devices.delete(message.deviceId);
        this.bus.emit('device-removed', message.deviceId, record.state);
        forgetDeviceViews(record.state);
        return;
      }
      case 'event':
        this.bus.emit('event', message.event);
        return;
      case 'telemetry':
        this.bus.emit('telemetry', message.deviceId, message.telemetry, message.at);
        return;
      case 'session':
        this.bus.emit('session', message.session);
        return;
    }
  }

  private logEvent(event: DeviceEvent): void {
    this.counters.events++;
    if (this.replaying) return;
    try {
      this.options.eventLog?.append(event);
    } catch (error) {
      this.counters.eventLogFailures++;
      this.logger.error('could not write a device event to the event log', { deviceId: event.deviceId, type: event.type, err: error });
    }
  }

  /** Cancels every timer and forgets the players' views; later messages are ignored. Listeners belong to whoever added them. */
  stop(): void {
    this.stopped = true;
    this.bus.off(this);
    for (const record of this.devices.values()) {
      this.clearTimers(record);
      forgetDeviceViews(record.state);
    }
  }

  private ingestEvents(deviceId: string, kind: DeviceTopicKind, payload: YotoEventsMessage, at: Date): void {
    const record = this.recordFor(deviceId, at);
    const duplicate = this.isDuplicate(record, kind, payload);
    if (duplicate) this.counters.duplicates++;
    const presence = messagePresence(record.state);
    const merged = duplicate ? { ...record.state } : applyEvents(record.state, payload);
    this.commit(record, presenceInPlace(merged, presence), at, presence);
  }

  private ingestStatus(deviceId: string, kind: 'status' | 'legacyStatus' | 'fullStatus', status: PlayerStatus, at: Date): void {
    const record = this.recordFor(deviceId, at);
    const presence = kind === 'status' ? messagePresence(record.state) : legacyStatusPresence(record.state, status);
    this.commit(record, presenceInPlace(applyStatus(record.state, status), presence), at, presence);
    if (hasTelemetry(status)) this.bus.emit('telemetry', deviceId, record.state.telemetry, at);
  }

  /** `device/{id}/presence`: the broker says at once when a player comes or goes (its last will). */
  private ingestPresence(deviceId: string, online: boolean, at: Date): void {
    const record = this.recordFor(deviceId, at);
    const presence: PresenceChange = online ? { online: true, shutDown: false, reason: 'presence' } : { online: false, reason: 'presence' };
    this.commit(record, withPresence(record.state, presence), at, presence);
  }

  private ingestResponse(deviceId: string, at: Date): void {
    // Acknowledgements belong to whoever sent the command; here they only prove the player is there.
    const record = this.recordFor(deviceId, at);
    const presence = messagePresence(record.state);
    this.commit(record, withPresence(record.state, presence), at, presence);
  }

  /**
   * Takes the merged state (a new object of the caller's, as withPresence or presenceInPlace leave it: completed
   * in place): a message that changed nothing only refreshes `lastSeen`.
   */
  private commit(record: DeviceRecord, merged: DeviceState, at: Date, presence: PresenceChange): void {
    const previous = record.state;
    record.lastHeardAt = this.clock.now();
    merged.lastSeen = isoTime(at);
    const next = deriveInPlace(merged);
    if (sameDataExcept(previous, next, TIMES)) {
      record.state = { ...previous, lastSeen: next.lastSeen };
      this.watchSilence(record);
      this.announce(record);
      return;
    }
    this.change(record, next, at, presence);
  }

  /** Makes `next` (a new state nobody holds yet) the state, then tells everyone what changed. */
  private change(record: DeviceRecord, next: DeviceState, at: Date, presence: PresenceChange): void {
    const previous = record.state;
    const state = next;
    state.updatedAt = isoTime(at);
    if (state.online) delete state.offlineSince;
    else if (previous.online || !state.offlineSince) state.offlineSince = isoTime(at);
    record.state = state;
    const context: TransitionContext = { batteryLowPercent: this.batteryLowPercent };
    if (presence.reason) context.presenceReason = presence.reason;
    if (presence.shutDownValue) context.shutDownValue = presence.shutDownValue;
    const events = transitionEvents(previous, state, context);
    this.sessions.observe(state, at);
    this.watchPresence(record, previous);
    // The change and the events it causes go out together, before anything their listeners publish in turn.
    this.bus.batch(() => {
      if (record.announced) this.bus.emit('state', state, previous);
      else this.announce(record);
      for (const event of events) this.recordEvent(state.deviceId, event.type, event.data, at);
    });
  }

  private updateFromCloud(record: DeviceRecord, info: CloudDeviceInfo, at: Date): void {
    let next = applyCloudInfo(record.state, info);
    const presence = cloudPresence(record, info);
    record.cloudOnline = info.online ?? record.cloudOnline;
    next = withDerivedFields(withPresence(next, presence));
    if (sameDataExcept(record.state, next, TIMES)) return;
    if (presence.online) record.lastHeardAt = this.clock.now();
    this.change(record, next, at, presence);
  }

  private add(deviceId: string, at: Date, info?: CloudDeviceInfo): DeviceRecord {
    const record: DeviceRecord = {
      // A player first heard from by its own message is there: that is not news.
      state: initialState(deviceId, at, info, info ? undefined : true),
      lastHeardAt: this.clock.now(),
      cloudOnline: info?.online,
      recentEvents: [],
      announced: false,
    };
    this.devices.set(deviceId, record);
    this.watchPresence(record, undefined);
    if (info) this.announce(record);
    return record;
  }

  private announce(record: DeviceRecord): void {
    if (record.announced) return;
    record.announced = true;
    this.bus.emit('device-added', record.state);
  }

  private recordFor(deviceId: string, at: Date): DeviceRecord {
    return this.devices.get(deviceId) ?? this.add(deviceId, at);
  }

  /** The same event arrives on data/events and on the undocumented events topic: only the first copy counts. */
  private isDuplicate(record: DeviceRecord, kind: DeviceTopicKind, payload: unknown): boolean {
    // A player that publishes on one events topic only (the usual case) never has its messages turned into JSON.
    const recent = record.recentEvents;
    let key: string | undefined;
    for (let i = 0; i < recent.length; i++) {
      const entry = recent[i]!;
      if (entry.kind === kind) continue;
      key ??= JSON.stringify(payload);
      entry.key ??= JSON.stringify(entry.payload);
      if (entry.key === key) {
        recent.splice(i, 1);
        return true;
      }
    }
    recent.push(key === undefined ? { payload, kind } : { payload, kind, key });
    if (recent.length > DUPLICATE_WINDOW) recent.shift();
    return false;
  }

  private watchPresence(record: DeviceRecord, previous: DeviceState | undefined): void {
    const { state } = record;
    if (state.online) {
      this.cancelAlert(record);
      this.watchSilence(record);
    } else if (!previous || previous.online) {
      this.clearTimers(record);
      this.scheduleOfflineAlert(record);
    }
  }

  private watchSilence(record: DeviceRecord): void {
    if (this.stopped || this.following || this.silenceTimeoutMs <= 0 || record.silenceTimer || !record.state.online) return;
    record.silenceTimer = this.clock.setTimeout(() => this.checkSilence(record), this.silenceTimeoutMs);
  }

  private checkSilence(record: DeviceRecord): void {
    record.silenceTimer = undefined;
    if (!record.state.online || this.devices.get(record.state.deviceId) !== record) return;
    const silentFor = this.clock.now() - record.lastHeardAt;
    if (silentFor < this.silenceTimeoutMs) {
      record.silenceTimer = this.clock.setTimeout(() => this.checkSilence(record), this.silenceTimeoutMs - silentFor);
      return;
    }
    const presence: PresenceChange = { online: false, reason: 'silence' };
    this.change(record, withDerivedFields(withPresence(record.state, presence)), this.now(), presence);
  }

  private scheduleOfflineAlert(record: DeviceRecord): void {
    if (this.stopped || this.following || this.offlineAlertMs <= 0) return;
    record.alertTimer = this.clock.setTimeout(() => this.raiseOfflineAlert(record), this.offlineAlertMs);
  }

  private raiseOfflineAlert(record: DeviceRecord): void {
    record.alertTimer = undefined;
    const { state } = record;
    if (state.online || this.devices.get(state.deviceId) !== record) return;
    const thresholdSeconds = Math.round(this.offlineAlertMs / 1000);
    this.recordEvent(state.deviceId, 'alert', {
      alert: 'offline_too_long',
      message: `${state.name} has been offline for more than ${describeDuration(this.offlineAlertMs)}`,
      thresholdSeconds,
      ...(state.offlineSince ? { offlineSince: state.offlineSince } : {}),
      ...(state.lastSeen ? { lastSeen: state.lastSeen } : {}),
    });
  }

  private cancelAlert(record: DeviceRecord): void {
    if (!record.alertTimer) return;
    record.alertTimer.cancel();
    record.alertTimer = undefined;
  }

  private clearTimers(record: DeviceRecord): void {
    this.cancelAlert(record);
    record.silenceTimer?.cancel();
    record.silenceTimer = undefined;
  }

  private saveSession(session: PlaybackSession): void {
    try {
      this.options.history?.save(session);
    } catch (error) {
      this.logger.error('could not save a playback session', { deviceId: session.deviceId, err: error });
    }
    this.bus.emit('session', session);
  }

  private acceptsId(deviceId: unknown, kind: string): deviceId is string {
    if (typeof deviceId === 'string' && DEVICE_ID.test(deviceId)) return true;
    this.refuse(typeof deviceId === 'string' ? deviceId : String(deviceId), kind, 'device id must be 1 to 128 letters, digits, "-" or "_"');
    return false;
  }

  private refuse(deviceId: string, kind: string, reason: string): void {
    this.counters.malformed++;
    this.logger.warn('malformed player message ignored', { deviceId, kind, reason });
  }

  /** The registry's clock, as a Date (events published on its bus carry this time). */
  now(): Date {
    return new Date(this.clock.now());
  }
}

/** Any message proves the player is there, unless it said it is shutting down. */
function messagePresence(state: DeviceState): PresenceChange {
  return state.shutDown ? {} : { online: true, reason: 'message' };
}

/** The legacy status is the only source of `shutDown`: "nA" while running, anything else when powering off. */
function legacyStatusPresence(state: DeviceState, status: PlayerStatus): PresenceChange {
  const value = status.shutDown;
  if (value === undefined) return messagePresence(state);
  if (value === RUNNING) return { online: true, shutDown: false, reason: 'message' };
  return { online: false, shutDown: true, reason: 'shutdown', shutDownValue: value };
}

/** Only a change in the cloud's view moves presence, so a stale list cannot undo what messages showed. */
function cloudPresence(record: DeviceRecord, info: CloudDeviceInfo): PresenceChange {
  if (info.online === undefined || info.online === record.cloudOnline) return {};
  if (!info.online) return { online: false, reason: 'cloud' };
  // The cloud lags behind a shutdown: only once it has seen the player gone does "online" mean it came back.
  if (record.state.shutDown && record.cloudOnline !== false) return {};
  return { online: true, shutDown: false, reason: 'cloud' };
}

/** A copy of the state with the presence a message or timer implies. */
function withPresence(state: DeviceState, presence: PresenceChange): DeviceState {
  return presenceInPlace({ ...state }, presence);
}

/** withPresence of a state nobody else holds yet (a merge's new object): set in place, not copied again. */
function presenceInPlace(next: DeviceState, presence: PresenceChange): DeviceState {
  if (presence.online !== undefined) next.online = presence.online;
  if (presence.shutDown !== undefined) next.shutDown = presence.shutDown;
  return next;
}

/** The fields that change with every message or change: left out when asking whether a message changed anything. */
const TIMES: ReadonlySet<string> = new Set(['lastSeen', 'updatedAt', 'offlineSince']);

function describeDuration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes >= 60 && minutes % 60 === 0) return minutes === 60 ? 'an hour' : `${minutes / 60} hours`;
  if (minutes >= 1) return minutes === 1 ? 'a minute' : `${minutes} minutes`;
  return `${Math.round(ms / 1000)} seconds`;
}
