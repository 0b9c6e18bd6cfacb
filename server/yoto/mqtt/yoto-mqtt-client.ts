import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { silentLogger, type Logger } from '../../log/logger';
import {
  commandTopic,
  deviceTopics,
  EVENTS_REREQUEST_MS,
  MAX_FILTERS_PER_SUBSCRIBE,
  mqttUsername,
  parseDeviceTopic,
  STATUS_REQUEST_MS,
  type CommandName,
  type DeviceTopicKind,
} from '../protocol';
import { realClock, type Clock, type ClockTimer } from '../../time/clock';
import { mqttLogOption } from './mqtt-log';
import { sendWithoutDelay } from './no-delay';
import { untilConnected } from './until-connected';
import { parsePlayerPayload, type ReadPlayerPayload } from './player-messages';

export type YotoMqttState = 'stopped' | 'connecting' | 'connected' | 'reconnecting';

/** One message a player published, read field by field into its kind's typed form (`dropped`: the fields that could not be read). */
export type YotoDeviceMessage = ReadPlayerPayload & { deviceId: string; topic: string; receivedAt: Date };

export interface MalformedMessage {
  deviceId: string;
  kind: DeviceTopicKind;
  topic: string;
  reason: string;
  receivedAt: Date;
}

export interface YotoMqttClientEvents {
  state: [state: YotoMqttState];
  /** The broker confirmed the subscriptions for these players (after each connect and each addDevice). */
  subscribed: [deviceIds: string[]];
  message: [message: YotoDeviceMessage];
  malformed: [message: MalformedMessage];
  /** The broker refused the CONNECT (CONNACK code 4: bad credentials, 5: not authorized). */
  refused: [refusal: { code: number; message: string }];
}

export interface YotoMqttStats {
  state: YotoMqttState;
  url: string;
  clientId: string;
  devices: number;
  /** Connection attempts made (each with a freshly fetched token). */
  connectAttempts: number;
  /** Successful connections (the first one and every reconnection). */
  connections: number;
  tokenFetches: number;
  tokenFailures: number;
  /** CONNECTs the broker refused (each makes the next attempt use a refreshed token). */
  refusals: number;
  /** SUBSCRIBE packets sent (at most MAX_FILTERS_PER_SUBSCRIBE topic filters each). */
  subscribePackets: number;
  statusRequests: number;
  messagesIn: number;
  messagesOut: number;
  malformed: number;
  /** Known fields that could not be read (a wrong type no liberal reading fixes), dropped from otherwise kept messages. */
  droppedFields: number;
  /** Messages for a device the client no longer follows, or for topics it does not use. */
  ignored: number;
  byKind: Record<DeviceTopicKind, number>;
  eventsRequests: number;
  connectedSince?: string;
  lastError?: string;
}

export interface YotoMqttClientOptions {
  /** `wss://...amazonaws.com` for the real cloud, `mqtt://host:port` for the virtual one. */
  url: string;
  /** Called before EVERY connection attempt: a token is never reused across attempts. */
  tokenProvider: () => Promise<string>;
  /**
   * The broker refused a CONNECT made with this token: refresh it before the next
   * attempt (a refused token is stale or revoked even when it has not expired).
   */
  tokenRejected?: (token: string) => Promise<unknown>;
  /** Unique per hub, letters and digits only; never `DASH<deviceId>`, which would kick the official app off. */
  clientId?: string;
  logger?: Logger;
  clock?: Clock;
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number };
  connectTimeoutMs?: number;
  keepaliveSeconds?: number;
  eventsRerequestMs?: number;
  /** How often each player is asked for its status (default STATUS_REQUEST_MS, a minute). */
  statusRequestMs?: number;
  /** Also follow `device/{id}/events`, the undocumented duplicate of data/events. */
  includeLegacyEvents?: boolean;
  /**
   * The virtual cloud on an external home broker: that broker cannot check a virtual-cloud token,
   * so the adapter logs in with the broker's own user (YOTO_BROKER_USERNAME / _PASSWORD) instead.
   */
  homeBrokerLogin?: { username: string; password: string };
  /** Extra mqtt.js options; the client id, credentials and reconnection stay the adapter's. */
  mqttOptions?: Partial<IClientOptions>;
}

/** `presence` makes a player's coming and going immediate; `fullStatus` answers the extended status request. */
const SUBSCRIBED_KINDS: DeviceTopicKind[] = ['events', 'status', 'legacyStatus', 'response', 'presence', 'fullStatus'];

/**
 * The cloud adapter's connection to the Yoto MQTT broker (AWS IoT, or the
 * virtual cloud's broker). It follows a changing list of players, turns their
 * messages into typed events, keeps their event push alive, and reconnects
 * with a fresh token every time.
 */
export class YotoMqttClient extends EventEmitter<YotoMqttClientEvents> {
  readonly clientId: string;
  readonly url: string;
  private readonly tokenProvider: () => Promise<string>;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly options: YotoMqttClientOptions;
  private readonly followed = new Set<string>();
  private readonly rerequestTimers = new Map<string, ClockTimer>();
  private statusTimer: ClockTimer | undefined;
  /** A refresh of a token the broker refused: the next attempt waits for it. */
  private pendingRefresh: Promise<void> | undefined;
  private client: MqttClient | undefined;
  private currentState: YotoMqttState = 'stopped';
  private running = false;
  /** Bumped by every attempt and by stop(), so a late callback of an old attempt does nothing. */
  private attempt = 0;
  private reconnectTimer: ClockTimer | undefined;
  private reconnectDelay: number;
  private trackingSeq = 0;
  private readonly counters: Omit<YotoMqttStats, 'state' | 'url' | 'clientId' | 'devices'> = {
    connectAttempts: 0,
    connections: 0,
    tokenFetches: 0,
    tokenFailures: 0,
    refusals: 0,
    subscribePackets: 0,
    statusRequests: 0,
    messagesIn: 0,
    messagesOut: 0,
    malformed: 0,
    droppedFields: 0,
    ignored: 0,
    byKind: { events: 0, status: 0, legacyStatus: 0, response: 0, legacyEvents: 0, fullStatus: 0, presence: 0 },
    eventsRequests: 0,
  };

  constructor(options: YotoMqttClientOptions) {
    super();
    this.options = options;
    this.url = options.url;
    this.tokenProvider = options.tokenProvider;
    // Letters and digits only: AWS IoT and the working clients use such ids; others are refused by some policies.
    this.clientId = options.clientId ?? `yotohub${randomBytes(12).toString('hex')}`;
    this.logger = (options.logger ?? silentLogger).child({ component: 'yoto-mqtt', clientId: this.clientId });
    this.clock = options.clock ?? realClock;
    this.reconnectDelay = this.initialReconnectDelay;
  }

  get state(): YotoMqttState {
    return this.currentState;
  }

  get isConnected(): boolean {
    return this.currentState === 'connected';
  }

  stats(): YotoMqttStats {
    return {
      state: this.currentState,
      url: this.url,
      clientId: this.clientId,
      devices: this.followed.size,
      ...this.counters,
      byKind: { ...this.counters.byKind },
    };
  }

  /** Starts connecting and keeps the connection up until stop(); does not wait. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.reconnectDelay = this.initialReconnectDelay;
    void this.connectOnce();
  }

  /** Resolves once connected (at once if already connected). */
  whenConnected(): Promise<void> {
    return untilConnected(this, 'state', this.isConnected);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.attempt++;
    this.reconnectTimer?.cancel();
    this.reconnectTimer = undefined;
    this.cancelRerequests();
    const client = this.client;
    this.client = undefined;
    if (client) await this.dispose(client);
    this.counters.connectedSince = undefined;
    this.setState('stopped');
  }

  devices(): string[] {
    return [...this.followed];
  }

  hasDevice(deviceId: string): boolean {
    return this.followed.has(deviceId);
  }

  /** Follows a player: subscribes to its topics and asks it for its events and status. */
  addDevice(deviceId: string): void {
    if (!deviceId || deviceId.includes('/') || deviceId.includes('+') || deviceId.includes('#')) {
      throw new Error(`invalid device id ${JSON.stringify(deviceId)}`);
    }
    if (this.followed.has(deviceId)) return;
    this.followed.add(deviceId);
    const client = this.client;
    if (client && this.isConnected) void this.subscribeAndGreet(client, [deviceId]);
  }

  removeDevice(deviceId: string): void {
    if (!this.followed.delete(deviceId)) return;
    this.rerequestTimers.get(deviceId)?.cancel();
    this.rerequestTimers.delete(deviceId);
    const client = this.client;
    if (client && this.isConnected) {
      client.unsubscribeAsync(this.topicsFor(deviceId)).catch((error: unknown) => this.logger.warn('unsubscribe failed', { deviceId, err: error }));
    }
  }

  /** Follows exactly these players. */
  setDevices(deviceIds: Iterable<string>): void {
    const wanted = new Set(deviceIds);
    for (const deviceId of [...this.followed]) if (!wanted.has(deviceId)) this.removeDevice(deviceId);
    for (const deviceId of wanted) this.addDevice(deviceId);
  }

  /** A body for commands without a payload; the player echoes it in `req_body`. */
  trackingBody(): string {
    return `${this.clientId}-${++this.trackingSeq}`;
  }

  /** Publishes `body` on `device/{id}/command/{command}` at QoS 1; resolves on PUBACK. */
  async publishCommand(deviceId: string, command: CommandName, body: string): Promise<void> {
    const client = this.client;
    if (!client || !this.isConnected) throw new Error('not connected to the Yoto MQTT broker');
    await client.publishAsync(commandTopic(deviceId, command), body, { qos: 1 });
    this.counters.messagesOut++;
  }

  async requestEvents(deviceId: string): Promise<void> {
    await this.publishCommand(deviceId, 'events/request', this.trackingBody());
    this.counters.eventsRequests++;
  }

  async requestStatus(deviceId: string): Promise<void> {
    await this.publishCommand(deviceId, 'status/request', this.trackingBody());
    this.counters.statusRequests++;
  }

  /** Asks for the extended status, answered on `status/full`. */
  async requestFullStatus(deviceId: string): Promise<void> {
    await this.publishCommand(deviceId, 'status', JSON.stringify({ requestId: this.trackingBody() }));
  }

  private get initialReconnectDelay(): number {
    return this.options.reconnect?.initialDelayMs ?? 1000;
  }

  private async connectOnce(): Promise<void> {
    const attempt = ++this.attempt;
    this.setState(this.counters.connections > 0 ? 'reconnecting' : 'connecting');
    this.counters.connectAttempts++;
    const token = await this.fetchToken();
    if (attempt !== this.attempt || !this.running) return;
    if (token === undefined) {
      this.scheduleReconnect();
      return;
    }
    const client = mqtt.connect(this.url, {
      keepalive: this.options.keepaliveSeconds ?? 60,
      connectTimeout: this.options.connectTimeoutMs ?? 15_000,
      ...mqttLogOption(),
      ...this.options.mqttOptions,
      clientId: this.clientId,
      username: this.options.homeBrokerLogin?.username ?? mqttUsername(this.clientId),
      password: this.options.homeBrokerLogin?.password ?? token,
      clean: true,
      // Reconnection is ours: mqtt.js would reconnect with the old, possibly expired token.
      reconnectPeriod: 0,
      resubscribe: false,
    });
    this.client = client;
    sendWithoutDelay(client);
    client.on('connect', () => this.onConnected(client));
    client.on('message', (topic, payload) => {
      if (client === this.client) this.onMessage(topic, payload);
    });
    client.on('error', (error) => this.onClientError(client, error, token));
    client.on('close', () => this.onClosed(client));
  }

  private async fetchToken(): Promise<string | undefined> {
    this.counters.tokenFetches++;
    try {
      const pending = this.pendingRefresh;
      this.pendingRefresh = undefined;
      await pending;
      const token = await this.tokenProvider();
      if (!token) throw new Error('the token provider returned an empty token');
      return token;
    } catch (error) {
      this.counters.tokenFailures++;
      this.counters.lastError = `token: ${(error as Error).message}`;
      this.logger.warn('could not get an access token for the Yoto MQTT broker', { err: error });
      return undefined;
    }
  }

  private onConnected(client: MqttClient): void {
    if (client !== this.client) return;
    this.counters.connections++;
    this.counters.connectedSince = new Date(this.clock.now()).toISOString();
    this.counters.lastError = undefined;
    this.reconnectDelay = this.initialReconnectDelay;
    this.setState('connected');
    this.startStatusRequests();
    void this.subscribeAndGreet(client, [...this.followed]);
  }

  private onClientError(client: MqttClient, error: Error, token: string): void {
    this.counters.lastError = error.message;
    this.logger.warn('Yoto MQTT connection error', { url: this.url, err: error });
    const code = (error as Error & { code?: unknown }).code;
    if (client === this.client && !client.connected && (code === 4 || code === 5)) this.onRefused(code, error.message, token);
    // A refused CONNECT (expired token) does not always close the socket at once.
    if (client === this.client && !client.connected) this.onClosed(client);
  }

  /** A refused CONNECT: the next attempt waits for a refreshed token. */
  private onRefused(code: number, message: string, token: string): void {
    this.counters.refusals++;
    this.pendingRefresh = this.options.tokenRejected?.(token).then(
      () => undefined,
      (error: unknown) => this.logger.warn('could not refresh the token the Yoto MQTT broker refused', { err: error }),
    );
    this.safeEmit('refused', { code, message });
  }

  private onClosed(client: MqttClient): void {
    if (client !== this.client) return;
    this.client = undefined;
    this.cancelRerequests();
    void this.dispose(client);
    if (!this.running) return;
    this.setState('reconnecting');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (!this.running || this.reconnectTimer) return;
    const delay = this.reconnectDelay;
    this.reconnectDelay = Math.min(this.options.reconnect?.maxDelayMs ?? 30_000, this.reconnectDelay * 2);
    this.logger.info('reconnecting to the Yoto MQTT broker', { inMs: delay });
    this.reconnectTimer = this.clock.setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.running) void this.connectOnce();
    }, delay);
  }

  /**
   * Ends a connection. Our handlers ignore a client that is no longer current;
   * mqtt.js's own listeners must stay, as its 'close' listener clears the
   * CONNACK timer (removing it leaks a timer that later emits an error).
   */
  private async dispose(client: MqttClient): Promise<void> {
    client.on('error', () => undefined);
    await client.endAsync(true);
  }

  private topicsFor(deviceId: string): string[] {
    const kinds = this.options.includeLegacyEvents ? [...SUBSCRIBED_KINDS, 'legacyEvents' as const] : SUBSCRIBED_KINDS;
    return kinds.map((kind) => deviceTopics[kind](deviceId));
  }

  /** Subscribes, then asks each player for its state and keeps its event push alive. */
  private async subscribeAndGreet(client: MqttClient, deviceIds: string[]): Promise<void> {
    if (deviceIds.length === 0) return;
    try {
      // AWS IoT refuses (and disconnects) a SUBSCRIBE with more than 8 topic filters.
      const topics = deviceIds.flatMap((id) => this.topicsFor(id));
      for (let i = 0; i < topics.length; i += MAX_FILTERS_PER_SUBSCRIBE) {
        if (client !== this.client) return;
        this.counters.subscribePackets++;
        await client.subscribeAsync(topics.slice(i, i + MAX_FILTERS_PER_SUBSCRIBE), { qos: 1 });
      }
    } catch (error) {
      this.logger.warn('subscribing to player topics failed', { deviceIds, err: error });
      return;
    }
    if (client !== this.client) return;
    this.safeEmit('subscribed', deviceIds);
    for (const deviceId of deviceIds) {
      if (client !== this.client || !this.followed.has(deviceId)) continue;
      this.requestEventsAndStatus(deviceId);
      this.startRerequests(deviceId);
    }
  }

  private requestEventsAndStatus(deviceId: string): void {
    this.requestEvents(deviceId).catch((error: unknown) => this.logger.warn('events request failed', { deviceId, err: error }));
    this.requestStatus(deviceId).catch((error: unknown) => this.logger.warn('status request failed', { deviceId, err: error }));
    this.requestFullStatus(deviceId).catch((error: unknown) => this.logger.warn('full status request failed', { deviceId, err: error }));
  }

  /** The cloud stops pushing events ~5 minutes after the last request: ask again every 4. */
  private startRerequests(deviceId: string): void {
    this.rerequestTimers.get(deviceId)?.cancel();
    const timer = this.clock.setInterval(() => {
      if (!this.isConnected || !this.followed.has(deviceId)) return;
      this.requestEvents(deviceId).catch((error: unknown) => this.logger.warn('events re-request failed', { deviceId, err: error }));
    }, this.options.eventsRerequestMs ?? EVENTS_REREQUEST_MS);
    this.rerequestTimers.set(deviceId, timer);
  }

  private cancelRerequests(): void {
    for (const timer of this.rerequestTimers.values()) timer.cancel();
    this.rerequestTimers.clear();
    this.statusTimer?.cancel();
    this.statusTimer = undefined;
  }

  /** One timer asks every followed player for its status each minute while connected. */
  private startStatusRequests(): void {
    if (this.statusTimer) return;
    this.statusTimer = this.clock.setInterval(() => {
      if (!this.isConnected) return;
      for (const deviceId of this.followed) {
        this.requestStatus(deviceId).catch((error: unknown) => this.logger.warn('status request failed', { deviceId, err: error }));
      }
    }, this.options.statusRequestMs ?? STATUS_REQUEST_MS);
  }

  private onMessage(topic: string, payload: Buffer): void {
    this.counters.messagesIn++;
    const parsedTopic = parseDeviceTopic(topic);
    if (!parsedTopic || !this.followed.has(parsedTopic.deviceId) || (parsedTopic.kind === 'legacyEvents' && !this.options.includeLegacyEvents)) {
      this.counters.ignored++;
      return;
    }
    const { deviceId, kind } = parsedTopic;
    const receivedAt = new Date(this.clock.now());
    const outcome = parsePlayerPayload(kind, payload);
    if (!outcome.ok) {
      this.counters.malformed++;
      this.logger.warn('malformed player message dropped', { deviceId, topic, reason: outcome.reason });
      this.safeEmit('malformed', { deviceId, kind, topic, reason: outcome.reason, receivedAt });
      return;
    }
    this.counters.byKind[kind]++;
    const { dropped } = outcome.message;
    if (dropped.length > 0) {
      this.counters.droppedFields += dropped.length;
      this.logger.debug('player message fields that could not be read were dropped', { deviceId, topic, fields: dropped });
    }
    // Field by field, not `{ ...outcome.message, ... }`: V8 copied that spread on a slow path, about a
    // fifth of the hub's CPU per message (npm run bench -- device-message-path).
    const message = { kind, payload: outcome.message.payload, dropped, extra: outcome.message.extra, deviceId, topic, receivedAt };
    this.safeEmit('message', message as YotoDeviceMessage);
  }

  /** A listener's bug must not reach mqtt.js, where it would tear down the connection. */
  private safeEmit<K extends 'message' | 'malformed' | 'subscribed' | 'refused'>(event: K, ...args: YotoMqttClientEvents[K]): void {
    try {
      (this.emit as (event: K, ...args: YotoMqttClientEvents[K]) => boolean)(event, ...args);
    } catch (error) {
      this.logger.error('a Yoto MQTT message listener failed', { event, err: error });
    }
  }

  private setState(state: YotoMqttState): void {
    if (state === this.currentState) return;
    this.currentState = state;
    this.logger.info(`Yoto MQTT ${state}`, { url: this.url });
    this.emit('state', state);
  }
}
