import { expect } from 'chai';
import { YotoMqttClient, type YotoDeviceMessage } from '../../server/yoto/mqtt';
import { VirtualPlayerFleet } from '../../server/virtual/players';
import { hooked } from '../helpers/hooked';
import {
  BROKERS,
  CAPTURED_DEVICE,
  capturedMessages,
  CardShelf,
  isRecord,
  RawObserver,
  statusOf,
  subscribed,
  type CapturedMessage,
  type RawMessage,
  type TestBroker,
} from './harness';

const KIND_BY_SUFFIX: Array<[string, YotoDeviceMessage['kind']]> = [
  ['/data/events', 'events'],
  ['/data/status', 'status'],
  ['/response', 'response'],
  ['/events', 'legacyEvents'],
  ['/status', 'legacyStatus'],
];

function expectedKind(topic: string): YotoDeviceMessage['kind'] {
  const match = KIND_BY_SUFFIX.find(([suffix]) => topic.endsWith(suffix));
  if (!match) throw new Error(`unexpected fixture topic ${topic}`);
  return match[1];
}

function keysOf(value: unknown): string[] {
  return isRecord(value) ? Object.keys(value).sort() : [];
}

function fixturePayload(captured: CapturedMessage[], topicSuffix: string, accept: (payload: Record<string, unknown>) => boolean): Record<string, unknown> {
  const found = captured.find((m) => m.topic.endsWith(topicSuffix) && accept(m.payload));
  if (!found) throw new Error(`no fixture on ${topicSuffix}`);
  return found.payload;
}

function typesOf(record: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, typeof value]));
}

for (const { name, start } of BROKERS) {
  describe(`captured Yoto traffic on ${name}`, function () {
    const broker = hooked('suite', start, (started) => started.stop());

    it('reaches the adapter as typed messages with the right device, kind and payload', async () => {
      const captured = capturedMessages();
      const client = new YotoMqttClient({ url: broker.url, tokenProvider: async () => 'token', includeLegacyEvents: true });
      const ready = subscribed(client, [CAPTURED_DEVICE]);
      client.addDevice(CAPTURED_DEVICE);
      client.start();
      await ready;
      const received: YotoDeviceMessage[] = [];
      const all = new Promise<void>((resolve) => {
        client.on('message', (message) => {
          received.push(message);
          if (received.length === captured.length) resolve();
        });
      });
      const publisher = await RawObserver.start(broker.url, 'nothing/at/all');
      for (const message of captured) await publisher.publish(message.topic, JSON.stringify(message.payload));
      await all;
      await publisher.stop();
      await client.stop();

      expect(received.map((m) => ({ deviceId: m.deviceId, kind: m.kind }))).to.deep.equal(
        captured.map((m) => ({ deviceId: CAPTURED_DEVICE, kind: expectedKind(m.topic) })),
      );
      received.forEach((message, i) => {
        const raw = captured[i]!.payload;
        if (message.kind === 'events' || message.kind === 'legacyEvents' || message.kind === 'response') {
          expect(message.payload).to.deep.equal(raw);
        } else {
          // Status: every field the hub knows, read as sent, with the booleans as booleans and the disk in bytes.
          const status = (raw as { status: Record<string, unknown> }).status;
          for (const [field, value] of Object.entries(message.payload)) {
            const sent = status[field];
            if (field === 'freeDisk' || field === 'totalDisk') expect(value, field).to.equal((sent as number) * 1024);
            else if (typeof value === 'boolean') expect(value, field).to.equal(sent === 1 || sent === true);
            else expect(value, field).to.equal(sent);
          }
        }
        expect(message.dropped).to.deep.equal([]);
      });
      expect(client.stats()).to.include({ malformed: 0, droppedFields: 0 });
    });
  });
}

describe('virtual players speak the captured shapes', function () {
  let broker: TestBroker;
  let observer: RawObserver;
  let fleet: VirtualPlayerFleet;
  const captured = capturedMessages();
  const mini = { deviceId: 'vmini0shapes', name: 'Shapes Mini', deviceType: 'mini' as const, deviceFamily: 'mini', hasNightLight: false, firmware: 'v2.23.2' };
  const topic = (suffix: string): string => `device/${mini.deviceId}/${suffix}`;

  before(async () => {
    broker = await BROKERS[0]!.start();
    observer = await RawObserver.start(broker.url, `device/${mini.deviceId}/#`);
    fleet = new VirtualPlayerFleet({ brokerUrl: broker.url, cards: new CardShelf(), specs: [mini] });
    await fleet.start();
  });
  after(async () => {
    await fleet.stop();
    await observer.stop();
    await broker.stop();
  });

  it('boots with the full legacy status, then the diagnostics, then data/status, as a Mini does', async () => {
    const full = await observer.waitFor((m) => m.topic === topic('status'), 0);
    const diagnostics = await observer.waitFor((m) => m.topic === topic('status') && m !== full, 0);
    const status = await observer.waitFor((m) => m.topic === topic('data/status'), 0);
    const capturedFull = fixturePayload(captured, '/status', (p) => isRecord(p.status) && 'shutDown' in p.status);
    const capturedDiagnostics = fixturePayload(captured, '/status', (p) => isRecord(p.status) && !('shutDown' in p.status));
    const capturedStatus = fixturePayload(captured, '/data/status', () => true);

    expect(keysOf(statusOf(full))).to.deep.equal(keysOf(capturedFull.status));
    expect(typesOf(statusOf(full))).to.deep.equal(typesOf(capturedFull.status as Record<string, unknown>));
    expect(statusOf(full).shutDown).to.equal('nA');
    expect(statusOf(full).utcTime).to.equal(0);
    expect(keysOf(statusOf(diagnostics))).to.deep.equal(keysOf(capturedDiagnostics.status));
    expect(keysOf(statusOf(status))).to.include.members(keysOf(capturedStatus.status));
    expect(typesOf(statusOf(status))).to.include(typesOf(capturedStatus.status as Record<string, unknown>));
  });

  it('answers an events request with the echoed ack and a full event, and a volume turn with a volume-only event', async () => {
    const from = observer.messages.length;
    await observer.publish(topic('command/events/request'), 'interactive-1766520307411');
    const ack = await observer.waitFor((m) => m.topic === topic('response'), from);
    const full = await observer.waitFor((m) => m.topic === topic('data/events'), from);
    expect(ack.json).to.deep.equal(fixturePayload(captured, '/response', () => true));
    expect(keysOf(full.json)).to.include.members(keysOf(fixturePayload(captured, '/data/events', (p) => 'cardId' in p)));
    // The full event's copy on the legacy events topic must be in before the volume turn, or it would be taken for the turn's.
    await observer.waitFor((m) => m.topic === topic('events'), from);

    const turned = observer.messages.length;
    await fleet.player(mini.deviceId)!.turnVolume(1);
    const volume = await observer.waitFor((m) => m.topic === topic('data/events'), turned);
    const legacy = await observer.waitFor((m) => m.topic === topic('events'), turned);
    const capturedVolume = fixturePayload(captured, '/data/events', (p) => !('cardId' in p));
    expect(keysOf(volume.json)).to.deep.equal(keysOf(capturedVolume));
    expect(legacy.json).to.deep.equal(volume.json);
    expect(volume.json).to.include({ volume: 9, volumeMax: 16 });
  });

  it('answers a status request with data/status carrying every captured field, and says goodbye with shutDown on power off', async () => {
    const from = observer.messages.length;
    await observer.publish(topic('command/status/request'), 'status-1');
    const ack: RawMessage = await observer.waitFor((m) => m.topic === topic('response'), from);
    const status = await observer.waitFor((m) => m.topic === topic('data/status'), from);
    expect(ack.json).to.deep.equal({ status: { status: 'OK', req_body: 'status-1' } });
    expect(keysOf(statusOf(status))).to.include.members(keysOf(fixturePayload(captured, '/data/status', () => true).status));
    expect(statusOf(status)).to.include({ nightlightMode: 'off', productType: 'mini', userVolume: 56 });

    const before = observer.messages.length;
    await fleet.player(mini.deviceId)!.powerOff();
    const goodbye = await observer.waitFor((m) => m.topic === topic('status'), before);
    expect(keysOf(statusOf(goodbye))).to.deep.equal(keysOf(fixturePayload(captured, '/status', (p) => isRecord(p.status) && 'shutDown' in p.status).status));
    expect(statusOf(goodbye).shutDown).to.equal('userShutdown');
  });
});
