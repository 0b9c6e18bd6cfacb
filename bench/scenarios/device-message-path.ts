/**
 * The path from a player's MQTT message to the hub's normalized event
 * (YotoMqttClient: parse and check the payload, DeviceRegistry: merge into
 * the live state and emit `volume_changed`), side by side with a bare mqtt.js
 * subscriber that only JSON.parses the same messages from the same broker in
 * the same run. Both are subscribed at once, so they see identical traffic.
 * Run alone: node dist/bench/run.js device-message-path
 */
import mqtt from 'mqtt';
import { DeviceRegistry } from '../../server/core/device-registry';
import { YotoMqttClient } from '../../server/yoto/mqtt';
import { MosquittoBroker } from '../../test/helpers/mosquitto';
import { runWhenMain, type BenchResult } from '../bench-result';
import { arrivalCounter, burstRates, latencyRounds, percentile, round, type BenchMessage } from '../measure';

const DEVICES = 50;
const THROUGHPUT_MESSAGES = 20_000;
const LATENCY_ROUNDS = 2_000;





export async function run(): Promise<BenchResult> {
  const broker = await MosquittoBroker.start();
  const deviceIds = Array.from({ length: DEVICES }, (_, i) => `bench${String(i).padStart(4, '0')}`);
  const registry = new DeviceRegistry();
  registry.upsertDevices(deviceIds.map((deviceId) => ({ deviceId, name: deviceId, online: true, deviceType: 'mini', deviceFamily: 'mini' })));
  const hubPath = arrivalCounter();
  registry.bus.on('test', 'event', (event) => event.type === 'volume_changed' && hubPath.tick());
  const adapter = new YotoMqttClient({ url: broker.url, tokenProvider: async () => 'bench-token', eventsRerequestMs: 24 * 60 * 60_000 });
  adapter.on('message', (message) => registry.ingest(message));
  const subscribed = new Promise<void>((resolve) => {
    const pending = new Set(deviceIds);
    adapter.on('subscribed', (ids) => {
      for (const id of ids) pending.delete(id);
      if (pending.size === 0) resolve();
    });
  });
  adapter.setDevices(deviceIds);
  adapter.start();
  await subscribed;

  const bare = arrivalCounter();
  const bareClient = await mqtt.connectAsync(broker.url);
  bareClient.on('message', (_topic, payload) => {
    JSON.parse(payload.toString('utf8'));
    bare.tick();
  });
  await bareClient.subscribeAsync('device/+/data/events', { qos: 1 });

  const publisher = await mqtt.connectAsync(broker.url);
  // A first volume per player: the registry reports a change only once it knows the volume before it.
  const primed = arrivalCounter();
  const onPrimed = (): void => primed.tick();
  registry.bus.on(onPrimed, 'state', onPrimed);
  for (const deviceId of deviceIds) publisher.publish(`device/${deviceId}/data/events`, JSON.stringify({ volume: 1, volumeMax: 16, eventUtc: 1_794_999_999 }), { qos: 1 });
  await Promise.all([primed.whenCount(DEVICES), bare.whenCount(DEVICES)]);
  registry.bus.off(onPrimed);

  let sequence = 0;
  // Each message changes its device's volume, so each one is a normalized event.
  const nextMessage = (): BenchMessage => {
    const i = sequence++;
    const deviceId = deviceIds[i % DEVICES]!;
    const volume = Math.floor(i / DEVICES) % 2 === 0 ? 5 : 9;
    return [`device/${deviceId}/data/events`, JSON.stringify({ volume, volumeMax: 16, eventUtc: 1_795_000_000 + i })];
  };

  const paths = { hub: hubPath, bare };
  // Latency: one message at a time; each consumer's receive time against the publish time.
  const latency = await latencyRounds(publisher, nextMessage, paths, LATENCY_ROUNDS);
  // Throughput: a burst; the time from the first publish to each consumer's last message.
  const rate = await burstRates(publisher, nextMessage, paths, THROUGHPUT_MESSAGES);
  const malformed = adapter.stats().malformed;

  await publisher.endAsync();
  await bareClient.endAsync();
  await adapter.stop();
  registry.stop();
  await broker.stop();

  const results = {
    broker: 'mosquitto (Debian), loopback',
    devices: DEVICES,
    throughputMessages: THROUGHPUT_MESSAGES,
    latencyRounds: LATENCY_ROUNDS,
    hubEventsPerSecond: rate.hub,
    bareMessagesPerSecond: rate.bare,
    hubP50Ms: round(percentile(latency.hub, 50)),
    hubP99Ms: round(percentile(latency.hub, 99)),
    bareP50Ms: round(percentile(latency.bare, 50)),
    bareP99Ms: round(percentile(latency.bare, 99)),
    malformed,
  };
  return {
    name: 'device-message-path',
    description: 'A player message on the broker to the hub\'s normalized event (adapter + device registry) against a bare mqtt.js subscriber that JSON.parses the same messages, same broker, same run.',
    results,
    ratios: {
      throughputHubOverBare: round(rate.hub / rate.bare, 2),
      p50HubOverBare: round(results.hubP50Ms / results.bareP50Ms, 2),
      p99HubOverBare: round(results.hubP99Ms / results.bareP99Ms, 2),
    },
    notes: [
      'Both consumers run in this one Node.js process and share its event loop; the broker is a separate Mosquitto process.',
      'Latency rounds send one message and wait for both consumers before the next, so they measure the path, not queueing.',
      'Both paths finish the burst together (throughput ratio 1.00): the one publisher and the broker set the pace, so the burst shows the hub keeps up with the bare subscriber, not how much faster either could go.',
      'Ratios from one run; repeat with npm run bench to see the machine\'s noise.',
    ],
  };
}

runWhenMain(module, run);
