import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { topicMatches } from '../../server/broker/topic-filter';

export interface SeenMessage {
  topic: string;
  text: string;
  retain: boolean;
}

type Waiter = { from: number; predicate: (message: SeenMessage) => boolean; resolve: (message: SeenMessage) => void };

/**
 * An MQTT client of "the house": it records everything it receives on its
 * filters and lets a test wait for the message it expects (never a sleep).
 */
export class BrokerWatcher {
  readonly messages: SeenMessage[] = [];
  private waiters: Waiter[] = [];

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => this.record({ topic, text: payload.toString('utf8'), retain: packet.retain }));
  }

  /** Connects and subscribes; resolves once the broker has granted the subscriptions (retained messages follow). */
  static async connect(url: string, filters: string[], options: IClientOptions = {}): Promise<BrokerWatcher> {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 200, ...options });
    const watcher = new BrokerWatcher(client);
    await client.subscribeAsync(filters, { qos: 1 });
    return watcher;
  }

  /** Index to pass to `next` so only messages from now on count. */
  get mark(): number {
    return this.messages.length;
  }

  /** The first message (from index `from`) that matches. */
  next(predicate: (message: SeenMessage) => boolean, from = 0): Promise<SeenMessage> {
    const found = this.messages.slice(from).find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => this.waiters.push({ from, predicate, resolve }));
  }

  nextOn(topic: string, predicate: (json: Record<string, unknown>) => boolean = () => true, from = 0): Promise<Record<string, unknown>> {
    return this.next((m) => topicMatches(topic, m.topic) && m.text !== '' && predicate(JSON.parse(m.text) as Record<string, unknown>), from).then(
      (m) => JSON.parse(m.text) as Record<string, unknown>,
    );
  }

  /** The latest non-empty payload per topic matching `filter`, as the broker's retained view would have it. */
  latest(filter: string): Map<string, string> {
    const latest = new Map<string, string>();
    for (const message of this.messages) {
      if (!topicMatches(filter, message.topic)) continue;
      if (message.text === '') latest.delete(message.topic);
      else latest.set(message.topic, message.text);
    }
    return latest;
  }

  async publish(topic: string, payload: string): Promise<void> {
    await this.client.publishAsync(topic, payload, { qos: 1 });
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }

  private record(message: SeenMessage): void {
    this.messages.push(message);
    const index = this.messages.length - 1;
    const ready = this.waiters.filter((waiter) => index >= waiter.from && waiter.predicate(message));
    this.waiters = this.waiters.filter((waiter) => !ready.includes(waiter));
    for (const waiter of ready) waiter.resolve(message);
  }
}
