import * as fs from 'node:fs';
import * as path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { fixturesDir } from '../helpers/fixtures';
import type { YotoCard } from '../../server/yoto/card';
import type { DeviceTopicKind } from '../../server/yoto/protocol';
import type { YotoDeviceMessage, YotoMqttClient } from '../../server/yoto/mqtt';
import type { VirtualCardLibrary } from '../../server/virtual/contracts';
import { startAedes } from '../helpers/aedes-broker';
import { MosquittoBroker } from '../helpers/mosquitto';
import { interactiveContent } from '../yoto-rest/sample-cards';

/** A broker the suites run against: a real Mosquitto, and the Aedes the hub embeds. */
export interface TestBroker {
  url: string;
  stop(): Promise<void>;
}

export const BROKERS: Array<{ name: string; start(): Promise<TestBroker> }> = [
  { name: 'Mosquitto', start: async () => MosquittoBroker.start() },
  {
    name: 'Aedes',
    start: async () => {
      const broker = await startAedes();
      return { url: broker.url, stop: () => broker.stop() };
    },
  },
];

export interface CapturedMessage {
  source: string;
  receivedAt: string | null;
  topic: string;
  payload: Record<string, unknown>;
}

export function capturedMessages(): CapturedMessage[] {
  const text = fs.readFileSync(path.join(fixturesDir, 'yoto-mqtt-captured.jsonl'), 'utf8');
  return text.split('\n').filter((line) => line.trim()).map((line) => JSON.parse(line) as CapturedMessage);
}

export const CAPTURED_DEVICE = 'y2iYT7ItkMRWbuMzTDuGjgmS';

export class CardShelf implements VirtualCardLibrary {
  private readonly cards = new Map<string, YotoCard>();
  constructor(cards: YotoCard[] = []) {
    for (const card of cards) this.add(card);
  }
  add(card: YotoCard): void {
    this.cards.set(card.cardId, card);
  }
  get(cardId: string): YotoCard | undefined {
    return this.cards.get(cardId);
  }
  /** For the commander: the hub's view of the same library. */
  readonly lookup = async (cardId: string): Promise<YotoCard | undefined> => this.cards.get(cardId);
}

function audioTrack(key: string, title: string, duration: number) {
  return { key, title, type: 'audio' as const, format: 'mp3', trackUrl: `yoto:#${key}${title.length}`, duration };
}

/** Two chapters with zero-padded keys: 01/01 (30 s), 01/02 (20 s), 02/01 (40 s). */
export const BEDTIME_CARD: YotoCard = {
  cardId: 'Bed01',
  title: 'Bedtime Stories',
  content: {
    playbackType: 'linear',
    chapters: [
      { key: '01', title: 'The Owl', tracks: [audioTrack('01', 'Owl part one', 30), audioTrack('02', 'Owl part two', 20)] },
      { key: '02', title: 'The Fox', tracks: [audioTrack('01', 'Fox', 40)] },
    ],
  },
};

/**
 * An interactive card shaped like Yoto's Twine converter output (the spy
 * story in shared/fixtures/twine-spyshort): one chapter, one track per node.
 * Track 05 has goto keys the card lacks.
 */
export const SPY_CARD: YotoCard = {
  cardId: 'Spy01',
  title: 'Spy Mission',
  content: interactiveContent('Spy Mission', [
    { ...audioTrack('01', 'Start', 10), events: { onLhb: goto('02'), onRhb: goto('03'), onEnd: { cmd: 'stop' } } },
    { ...audioTrack('02', 'SolveRiddle', 8), events: { onLhb: goto('01'), onRhb: goto('04') } },
    { ...audioTrack('03', 'SearchElsewhere', 9), events: { onLhb: goto('01'), onEnd: goto('04') } },
    { ...audioTrack('04', 'End', 5), events: { onLhb: goto('01'), onEnd: { cmd: 'stop' } } },
    { ...audioTrack('05', 'Broken', 6), events: { onRhb: goto('5'), onEnd: goto('99') } },
  ]),
};

function goto(trackKey: string) {
  return { cmd: 'goto' as const, params: { chapterKey: '01', trackKey } };
}

/** The next message of this kind from this player that passes `accept`. Register before acting. */
export function nextMessage<K extends DeviceTopicKind>(
  client: YotoMqttClient,
  deviceId: string,
  kind: K,
  accept: (message: Extract<YotoDeviceMessage, { kind: K }>) => boolean = () => true,
): Promise<Extract<YotoDeviceMessage, { kind: K }>> {
  return new Promise((resolve) => {
    const onMessage = (message: YotoDeviceMessage): void => {
      if (message.deviceId !== deviceId || message.kind !== kind) return;
      const typed = message as Extract<YotoDeviceMessage, { kind: K }>;
      if (!accept(typed)) return;
      client.off('message', onMessage);
      resolve(typed);
    };
    client.on('message', onMessage);
  });
}

export { subscribed } from '../helpers/followed-players';

export interface RawMessage {
  topic: string;
  text: string;
  json: unknown;
}

/** A plain MQTT client that records what crosses the broker, for checks on the wire format. */
export class RawObserver {
  readonly messages: RawMessage[] = [];
  private waiters: Array<{ accept: (m: RawMessage) => boolean; resolve: (m: RawMessage) => void; from: number }> = [];

  private constructor(readonly client: MqttClient) {}

  static async start(url: string, filter: string): Promise<RawObserver> {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 200 });
    const observer = new RawObserver(client);
    client.on('message', (topic, payload) => observer.record(topic, payload));
    await client.subscribeAsync(filter, { qos: 1 });
    return observer;
  }

  /** The first message from now on (or from index `from`) that passes `accept`. */
  waitFor(accept: (message: RawMessage) => boolean, from = this.messages.length): Promise<RawMessage> {
    const already = this.messages.slice(from).find(accept);
    if (already) return Promise.resolve(already);
    return new Promise((resolve) => this.waiters.push({ accept, resolve, from }));
  }

  async publish(topic: string, payload: string): Promise<void> {
    await this.client.publishAsync(topic, payload, { qos: 1 });
  }

  async stop(): Promise<void> {
    await this.client.endAsync(true);
  }

  private record(topic: string, payload: Buffer): void {
    const text = payload.toString('utf8');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const message = { topic, text, json };
    this.messages.push(message);
    this.waiters = this.waiters.filter((waiter) => {
      if (!waiter.accept(message)) return true;
      waiter.resolve(message);
      return false;
    });
  }
}

/**
 * Active handles by kind. It yields first: mocha arms a test's timeout timer
 * only after the test function returns its promise, so a count taken
 * synchronously at the start of a test would miss that timer.
 */
export async function activeResources(): Promise<Record<string, number>> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function statusOf(message: RawMessage): Record<string, unknown> {
  if (!isRecord(message.json) || !isRecord(message.json.status)) throw new Error(`no status object in ${message.text}`);
  return message.json.status;
}
