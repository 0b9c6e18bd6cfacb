import { expect } from 'chai';
import { YotoMqttClient, type YotoDeviceMessage, type MalformedMessage } from '../../server/yoto/mqtt';
import { parseDeviceTopic } from '../../server/yoto/protocol';
import { getValidator } from '../../server/validation';
import { BrokerWatcher } from '../helpers/broker-watcher';
import { MosquittoBroker } from '../helpers/mosquitto';
import { startBridgeRig, type BridgeRig } from '../bridge/bridge-rig';
import { RawObserver, subscribed } from '../yoto-mqtt/harness';
import { mqttItems, sourceRepo, type MqttItem } from './corpus';

/** The known fields the adapter converts on the way in: a 0/1 flag becomes a boolean, a size in KiB bytes. */
const BOOLEAN_FIELDS = new Set(['repeatAll', 'streaming', 'playbackWait', 'sleepTimerActive', 'charging', 'headphones', 'bluetoothHp']);
const KIB_FIELDS = new Set(['freeDisk', 'totalDisk']);

function fieldsSent(item: MqttItem): Record<string, unknown> {
  const payload = item.payload as Record<string, unknown>;
  const kind = parseDeviceTopic(item.topic)!.kind;
  if (kind === 'status' || kind === 'legacyStatus' || kind === 'fullStatus') return payload['status'] as Record<string, unknown>;
  if (kind === 'response') return payload['status'] as Record<string, unknown>;
  return payload;
}

/** Every field a real message carried is in the typed message: read (converted where the hub converts) or kept as sent. */
function expectNothingLost(item: MqttItem, message: YotoDeviceMessage): void {
  const typed = (message.kind === 'response' ? message.payload.status : message.payload) as Record<string, unknown>;
  for (const [field, sent] of Object.entries(fieldsSent(item))) {
    const where = `${item.id}: ${field}`;
    if (Object.hasOwn(message.extra, field)) {
      expect(message.extra[field], where).to.deep.equal(sent);
    } else if (KIB_FIELDS.has(field)) {
      expect(typed[field], where).to.equal((sent as number) * 1024);
    } else if (BOOLEAN_FIELDS.has(field)) {
      expect(typed[field], where).to.equal(sent === true || sent === 1);
    } else if (typeof sent === 'number' && typeof typed[field] === 'string') {
      expect(typed[field], where).to.equal(String(sent));
    } else {
      expect(typed[field], where).to.deep.equal(sent);
    }
  }
}

describe('real corpus: every published player message through the adapter, the core and the home bridge', function () {
  const items = mqttItems();
  const deviceIds = [...new Set(items.map((item) => parseDeviceTopic(item.topic)!.deviceId))];
  let broker: MosquittoBroker;
  let client: YotoMqttClient;
  let rig: BridgeRig;
  let watcher: BrokerWatcher;
  const received = new Map<string, YotoDeviceMessage>();
  const malformed: MalformedMessage[] = [];

  before(async () => {
    broker = await MosquittoBroker.start();
    rig = await startBridgeRig(broker.url);
    watcher = await BrokerWatcher.connect(broker.url, ['yoto/+/playback', 'yoto/+/status', 'yoto/+/events', 'yoto/+/telemetry']);
    client = new YotoMqttClient({ url: broker.url, tokenProvider: async () => 'token', includeLegacyEvents: true });
    client.on('message', (message) => rig.registry.ingest(message));
    client.on('malformed', (message) => malformed.push(message));
    const ready = subscribed(client, deviceIds);
    client.setDevices(deviceIds);
    client.start();
    await ready;
    // Each real message, published as its source recorded it, in order; each one awaited before the next.
    const publisher = await RawObserver.start(broker.url, 'nothing/at/all');
    for (const item of items) {
      const { deviceId } = parseDeviceTopic(item.topic)!;
      const arrived = new Promise<YotoDeviceMessage | MalformedMessage>((resolve) => {
        const onMessage = (message: YotoDeviceMessage): void => {
          if (message.topic !== item.topic || message.deviceId !== deviceId) return;
          client.off('message', onMessage);
          client.off('malformed', onMalformed);
          resolve(message);
        };
        const onMalformed = (message: MalformedMessage): void => {
          if (message.topic !== item.topic) return;
          client.off('message', onMessage);
          client.off('malformed', onMalformed);
          resolve(message);
        };
        client.on('message', onMessage);
        client.on('malformed', onMalformed);
      });
      await publisher.publish(item.topic, JSON.stringify(item.payload));
      const message = await arrived;
      if ('payload' in message) received.set(item.id, message);
    }
    await publisher.stop();
  });

  after(async () => {
    await client.stop();
    await watcher.close();
    await rig.stop();
    await broker.stop();
  });

  it('holds real messages from at least three public sources', () => {
    expect(items.length).to.be.at.least(30);
    expect(new Set(items.map(sourceRepo)).size).to.be.at.least(3);
  });

  it('rejects none of them and drops no field of any', () => {
    expect(malformed.map((message) => `${message.topic}: ${message.reason}`)).to.deep.equal([]);
    expect(received.size).to.equal(items.length);
    for (const item of items) expect(received.get(item.id)!.dropped, item.id).to.deep.equal([]);
    expect(client.stats()).to.include({ malformed: 0, droppedFields: 0 });
    expect(rig.registry.stats().malformed).to.equal(0);
  });

  it('keeps every field each message carries: read into the typed form, or kept as sent', () => {
    for (const item of items) expectNothingLost(item, received.get(item.id)!);
  });

  it('reads 0/1 booleans as booleans (yoto_api: "Yoto sometimes sends 0/1 ints where the type expects bool")', () => {
    // device "d" last received the native booleans: replay the 0/1 message alone on a fresh model to see it.
    const message = received.get('yoto_api-events-int-booleans')!;
    expect(message.payload).to.deep.include({ repeatAll: true, streaming: false, sleepTimerActive: true });
    const status = received.get('yoto_api-status-v1')!;
    expect(status.payload).to.deep.include({ charging: true, headphones: true });
  });

  it('keeps what real players say of their charger, headphones, Bluetooth audio and card slot, in the model and on yoto/<id>/status', async () => {
    // yoto_api's v1 status: charging, headphones plugged in (0/1).
    expect(rig.registry.get('dev1')).to.deep.include({ charging: true, headphones: true });
    // A Yoto Mini's captured status (bcomnes): nothing plugged in, no card.
    expect(rig.registry.get('y2iYT7ItkMRWbuMzTDuGjgmS')).to.deep.include({ charging: false, headphones: false, bluetoothAudio: false, cardSlot: 'none' });
    // Home Assistant's test status: a physical card in, on its charger.
    expect(rig.registry.get('player-test')).to.deep.include({ charging: true, headphones: false, bluetoothAudio: false, cardSlot: 'physical' });
    const status = await watcher.next((m) => m.topic === 'yoto/player-test/status' && m.text.includes('card_slot'));
    const payload = getValidator().validate('broker-status', JSON.parse(status.text)) as unknown as Record<string, unknown>;
    expect(payload).to.deep.include({ charging: true, headphones: false, bluetooth_audio: false, card_slot: 'physical' });
  });

  it('turns disk sizes reported in KiB into bytes, in the model and on the home broker', async () => {
    expect(rig.registry.get('d')?.telemetry).to.deep.include({ freeDisk: 24333760 * 1024, totalDisk: 30535680 * 1024 });
    const telemetry = await watcher.next((m) => m.topic === 'yoto/y2iYT7ItkMRWbuMzTDuGjgmS/telemetry' && m.text.includes('free_disk'));
    const payload = getValidator().validate('broker-telemetry', JSON.parse(telemetry.text)) as { free_disk: number };
    expect(payload.free_disk).to.equal(25160368 * 1024);
  });

  it('uses the extended status of status/full (wifi network) and marks a player offline at once on its presence topic', () => {
    const dev1 = rig.registry.get('dev1')!;
    expect(dev1.telemetry).to.deep.include({ ssid: 'X' });
    // The last real message for dev1 is the broker's "offline" last will.
    expect(dev1.online).to.equal(false);
    const presenceEvents = rig.logged.filter((event) => event.deviceId === 'dev1' && (event.type === 'online' || event.type === 'offline'));
    expect(presenceEvents.map((event) => [event.type, event.data['reason']])).to.deep.equal([['offline', 'presence']]);
  });

  it('publishes the real chapter and track keys on yoto/<id>/playback', async () => {
    const playback = await watcher.next((m) => m.topic === 'yoto/player-test/playback' && m.text.includes('01-INT'));
    const payload = getValidator().validate('broker-playback', JSON.parse(playback.text)) as unknown as Record<string, unknown>;
    expect(payload).to.include({ chapter_key: '01', track_key: '01-INT', card_id: 'card-test' });
  });
});
