import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import mqtt, { type IClientPublishOptions, type MqttClient } from 'mqtt';
import type { Logger } from '../log/logger';
import { mqttLogOption } from '../yoto/mqtt/mqtt-log';
import { sendWithoutDelay } from '../yoto/mqtt/no-delay';
import { untilConnected } from '../yoto/mqtt/until-connected';
import { topicMatches } from './topic-filter';

export type BrokerState = 'stopped' | 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

export interface BrokerHealth {
  status: BrokerState;
  url: string;
  embedded: boolean;
  clientId: string;
  connectedSince?: string;
  lastError?: string;
  messagesIn: number;
  messagesOut: number;
  /** Bytes waiting to be written to the (external) broker. */
  bufferedBytes: number;
  /** QoS 1 messages sent (or queued by mqtt.js while disconnected) that the broker has not acknowledged yet. */
  inFlight: number;
  /** More than maxBufferedBytes wait to be written to it, or maxInFlight messages wait for its acknowledgement: see isBehind(). */
  behind: boolean;
}

export type MessageHandler = (topic: string, payload: Buffer) => void;

interface Subscription {
  filter: string;
  handler: MessageHandler;
}

/**
 * Puts a QoS 1 message into the home broker from inside the process (the embedded broker's
 * publishLocal); `done` hears when the broker has taken it, or why not.
 */
export type LocalPublish = (topic: string, payload: string, retain: boolean, done: (error?: Error) => void) => void;

export interface HomeBrokerClientEvents {
  status: [state: BrokerState];
  /** A client that was behind caught up: half its unacknowledged messages came back and the connection wrote what waited. */
  drain: [];
}

/** Bytes waiting to be written to an external broker above which the client is behind (isBehind). */
export const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;
/** QoS 1 messages the broker has not acknowledged from which the client is behind (isBehind). */
export const DEFAULT_MAX_IN_FLIGHT = 4000;

/**
 * The hub's one connection to the home broker. It keeps its subscriptions
 * across reconnects, reports its state as events, and counts messages.
 */
export class HomeBrokerClient extends EventEmitter<HomeBrokerClientEvents> {
  readonly clientId = `yoto-hub-${randomBytes(4).toString('hex')}`;
  private client: MqttClient | undefined;
  private readonly subscriptions = new Set<Subscription>();
  private state: BrokerState = 'stopped';
  private connectedSince: Date | undefined;
  private lastError: string | undefined;
  private messagesIn = 0;
  private messagesOut = 0;
  /** QoS 1 messages published to an external broker and not acknowledged yet. */
  private inFlight = 0;
  /** isBehind() answered true since the last `drain`. */
  private wasBehind = false;

  constructor(
    readonly url: string,
    private readonly credentials: { username?: string; password?: string },
    readonly embedded: boolean,
    private readonly logger: Logger,
    /**
     * When the home broker runs in this process: what the hub publishes goes in through it, not over
     * the connection (which still carries the subscriptions and says whether the broker is there).
     */
    private readonly local?: LocalPublish,
    private readonly maxBufferedBytes = DEFAULT_MAX_BUFFERED_BYTES,
    private readonly maxInFlight = DEFAULT_MAX_IN_FLIGHT,
  ) {
    super();
  }

  get status(): BrokerState {
    return this.state;
  }

  health(): BrokerHealth {
    return {
      status: this.state,
      url: this.url,
      embedded: this.embedded,
      clientId: this.clientId,
      ...(this.connectedSince ? { connectedSince: this.connectedSince.toISOString() } : {}),
      ...(this.lastError ? { lastError: this.lastError } : {}),
      messagesIn: this.messagesIn,
      messagesOut: this.messagesOut,
      bufferedBytes: this.bufferedBytes(),
      inFlight: this.inFlight,
      behind: this.isBehind(),
    };
  }

  private bufferedBytes(): number {
    return this.local ? 0 : (this.client?.stream?.writableLength ?? 0);
  }

  /**
   * Whether the external broker takes what the hub publishes more slowly than the hub publishes
   * it: more than maxBufferedBytes wait in the connection, or maxInFlight messages wait for its
   * acknowledgement (also while it is away: mqtt.js keeps them for the reconnection). mqtt.js would
   * keep everything, so the bridge holds back while this is true and publishes again on `drain`.
   * Bounding the acknowledgements also bounds the PUBACKs one read can bring: mqtt.js queues a
   * read's packets in an array it shifts one by one, which costs the square of their number.
   * The embedded broker takes every message in the same turn: never behind.
   */
  isBehind(): boolean {
    const behind = this.inFlight >= this.maxInFlight || this.bufferedBytes() > this.maxBufferedBytes;
    if (behind) this.wasBehind = true;
    return behind;
  }

  /** After being behind: `drain` once half the acknowledgements have come and the connection has written what waited. */
  private checkCaughtUp(): void {
    if (!this.wasBehind || this.inFlight > this.maxInFlight / 2 || this.bufferedBytes() > this.maxBufferedBytes) return;
    this.wasBehind = false;
    this.emit('drain');
  }

  /** Starts connecting; does not wait for the broker (an absent broker is retried). */
  start(): void {
    if (this.client) return;
    this.setState('connecting');
    const client = mqtt.connect(this.url, {
      clientId: this.clientId,
      ...(this.credentials.username ? { username: this.credentials.username } : {}),
      ...(this.credentials.password ? { password: this.credentials.password } : {}),
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      resubscribe: true,
      ...mqttLogOption(),
    });
    // Handlers ignore a client that stop() has let go of: mqtt.js still needs its own
    // listeners to clear its timers as the socket closes, so none are removed.
    const current = (): boolean => client === this.client;
    client.on('connect', () => {
      if (!current()) return;
      // Each reconnection is a new socket.
      sendWithoutDelay(client);
      client.stream.on('drain', () => current() && this.checkCaughtUp());
      this.connectedSince = new Date();
      this.lastError = undefined;
      this.setState('connected');
    });
    client.on('reconnect', () => current() && this.setState('reconnecting'));
    client.on('close', () => {
      if (current() && this.state === 'connected') this.setState('disconnected');
    });
    client.on('error', (error) => {
      if (!current()) return;
      this.lastError = error.message;
      this.logger.warn('home broker error', { url: this.url, err: error });
    });
    client.on('message', (topic, payload) => {
      if (!current()) return;
      this.messagesIn++;
      for (const sub of this.subscriptions) {
        if (!topicMatches(sub.filter, topic)) continue;
        try {
          sub.handler(topic, payload);
        } catch (error) {
          // A handler's bug must not take down the connection or the other handlers.
          this.logger.error('home broker message handler failed', { topic, err: error });
        }
      }
    });
    this.client = client;
    // Subscriptions made before start() reach the broker now; mqtt.js repeats them after each reconnect.
    for (const filter of new Set([...this.subscriptions].map((sub) => sub.filter))) client.subscribe(filter, { qos: 1 });
  }

  /** Resolves once connected (at once if already connected). */
  whenConnected(): Promise<void> {
    return untilConnected(this, 'status', this.state === 'connected');
  }

  /**
   * Subscribes `handler` to `filter`; returns the function that removes it.
   * The subscription is kept across reconnects.
   */
  subscribe(filter: string, handler: MessageHandler, qos: 0 | 1 = 1): () => void {
    const sub: Subscription = { filter, handler };
    this.subscriptions.add(sub);
    this.client?.subscribe(filter, { qos });
    return () => {
      this.subscriptions.delete(sub);
      const stillUsed = [...this.subscriptions].some((s) => s.filter === filter);
      if (!stillUsed) this.client?.unsubscribe(filter);
    };
  }

  async publish(topic: string, payload: string | Buffer, options: IClientPublishOptions = {}): Promise<void> {
    const client = this.client;
    if (!client) throw new Error('home broker client is not started');
    if (this.local && typeof payload === 'string' && (options.qos ?? 1) === 1) {
      await new Promise<void>((resolve, reject) => this.post(topic, payload, options.retain ?? false, (error) => (error ? reject(error) : resolve())));
      return;
    }
    this.inFlight++;
    try {
      await client.publishAsync(topic, payload, { qos: 1, ...options });
    } finally {
      this.acknowledged(client);
    }
    this.messagesOut++;
  }

  /** A QoS 1 message of `client` was acknowledged (or failed). */
  private acknowledged(client: MqttClient): void {
    if (client !== this.client) return;
    this.inFlight--;
    this.checkCaughtUp();
  }

  /**
   * Publishes at QoS 1 as publish() does, for the bridges' steady stream of messages: no
   * promise, `done` hears the outcome. In the process of an embedded broker, straight into it.
   */
  post(topic: string, payload: string, retain: boolean, done: (error: Error | undefined) => void): void {
    const client = this.client;
    if (!client) {
      done(new Error('home broker client is not started'));
      return;
    }
    const sent = (error?: Error): void => {
      if (!error) this.messagesOut++;
      done(error);
    };
    if (this.local) this.local(topic, payload, retain, sent);
    else {
      this.inFlight++;
      client.publish(topic, payload, { qos: 1, retain }, (error) => {
        this.acknowledged(client);
        sent(error);
      });
    }
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.inFlight = 0;
    this.wasBehind = false;
    this.subscriptions.clear();
    if (client) await client.endAsync(true);
    this.connectedSince = undefined;
    this.setState('stopped');
  }

  private setState(state: BrokerState): void {
    if (state === this.state) return;
    this.state = state;
    this.logger.info('home broker ' + state, { url: this.url });
    this.emit('status', state);
  }
}
