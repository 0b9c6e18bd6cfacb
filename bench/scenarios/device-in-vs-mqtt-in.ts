/**
 * DESIGN.md's first bar: a player's MQTT message to a `yoto-device-in`
 * output, side by side with Node-RED's own `mqtt in` + `json` nodes on the
 * same messages from the same Mosquitto, in one Node-RED, in the same run.
 * The hub follows the virtual players over that Mosquitto; the bench publishes
 * volume changes for them, each of which is one normalized event.
 * Run alone: node dist/bench/run.js device-in-vs-mqtt-in
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import mqtt from 'mqtt';
import type { Node } from 'node-red';
import { DEFAULT_VIRTUAL_PLAYERS } from '../../server/virtual/contracts';
import type { YotoHubNode } from '../../nodes/shared/yoto-hub-node';
import { freePort } from '../../test/helpers/free-port';
import { MosquittoBroker } from '../../test/helpers/mosquitto';
import { initNodeRedHelper } from '../../test/helpers/node-red';
import { runWhenMain, type BenchResult } from '../bench-result';
import { arrivalCounter, burstRates, latencyRounds, percentile, round, type BenchMessage } from '../measure';

const THROUGHPUT_MESSAGES = 10_000;
const LATENCY_ROUNDS = 1_000;
const DEVICE = DEFAULT_VIRTUAL_PLAYERS[1]!.deviceId;

/* eslint-disable @typescript-eslint/no-require-imports */
const coreNodesDir = path.dirname(require.resolve('@node-red/nodes/package.json'));
const NODES = [
  require('../../nodes/yoto-hub/yoto-hub') as (RED: unknown) => void,
  require('../../nodes/yoto-device-in/yoto-device-in') as (RED: unknown) => void,
  require(path.join(coreNodesDir, 'core', 'network', '10-mqtt.js')) as (RED: unknown) => void,
  require(path.join(coreNodesDir, 'core', 'parsers', '70-JSON.js')) as (RED: unknown) => void,
];
/* eslint-enable @typescript-eslint/no-require-imports */




export async function run(): Promise<BenchResult> {
  const broker = await MosquittoBroker.start();
  const helper = initNodeRedHelper();
  await new Promise<void>((resolve) => helper.startServer(resolve));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'yoto-bench-nodes-'));
  const url = new URL(broker.url);
  const flow = [
    { id: 'tab', type: 'tab', label: 'bench' },
    {
      id: 'hub',
      type: 'yoto-hub',
      brokerUrl: broker.url,
      httpPort: String(await freePort()),
      virtualCloudPort: String(await freePort()),
      cloudMode: 'virtual',
      dataDir,
      logLevel: 'warn',
    },
    { id: 'in', type: 'yoto-device-in', z: 'tab', hub: 'hub', deviceMode: 'all', events: ['volume_changed'], wires: [['yoto-out']] },
    { id: 'yoto-out', type: 'helper', z: 'tab' },
    { id: 'mq', type: 'mqtt-broker', broker: url.hostname, port: url.port, protocolVersion: '4', keepalive: '60', cleansession: true, autoConnect: true },
    { id: 'mqttin1', type: 'mqtt in', z: 'tab', topic: `device/${DEVICE}/data/events`, qos: '1', datatype: 'utf8', broker: 'mq', wires: [['parse1']] },
    { id: 'parse1', type: 'json', z: 'tab', property: 'payload', action: 'obj', wires: [['core-out']] },
    { id: 'core-out', type: 'helper', z: 'tab' },
  ];
  await helper.load(NODES, flow);
  const hubNode = helper.getNode('hub') as unknown as YotoHubNode;
  const hub = hubNode.hub!;
  if (hub.state !== 'running') await new Promise<void>((resolve) => hub.on('state', (state) => state === 'running' && resolve()));
  await hub.cloud.mqtt!.whenConnected();
  const mqttIn = helper.getNode('mqttin1') as Node & { brokerConn?: { connected?: boolean; on?: unknown } };
  // The core node connects on its own; wait until it has (its broker config node reports it).
  await new Promise<void>((resolve) => {
    const check = (): void => {
      if (mqttIn.brokerConn?.connected) resolve();
      else setImmediate(check);
    };
    check();
  });

  const yotoPath = arrivalCounter();
  const corePath = arrivalCounter();
  // The helper nodes are plain Node-RED nodes; their 'input' event is not in Node's published types.
  type Input = { payload?: { volume?: number } };
  const onInput = (id: string, listener: (msg: Input) => void): void => {
    (helper.getNode(id) as unknown as { on(event: 'input', listener: (msg: Input) => void): void }).on('input', listener);
  };
  onInput('yoto-out', () => yotoPath.tick());
  onInput('core-out', (msg) => {
    if (typeof msg.payload?.volume === 'number') corePath.tick();
  });

  const publisher = await mqtt.connectAsync(broker.url);
  let sequence = 0;
  const topic = `device/${DEVICE}/data/events`;
  // The virtual player's volume is 50% (level 8 of 16); alternate 5 and 9 so each message is a change.
  const nextMessage = (): BenchMessage => {
    const i = sequence++;
    return [topic, JSON.stringify({ volume: i % 2 === 0 ? 5 : 9, volumeMax: 16, eventUtc: 1_795_000_000 + i })];
  };
  const paths = { yoto: yotoPath, core: corePath };
  // Warm both paths up (and wait for the core node's subscription to be in place).
  await latencyRounds(publisher, nextMessage, paths, 20);
  const latency = await latencyRounds(publisher, nextMessage, paths, LATENCY_ROUNDS);
  const rate = await burstRates(publisher, nextMessage, paths, THROUGHPUT_MESSAGES);

  await publisher.endAsync();
  await helper.unload();
  await new Promise<void>((resolve) => helper.stopServer(resolve));
  await broker.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });

  const results = {
    broker: 'mosquitto (Debian), loopback',
    throughputMessages: THROUGHPUT_MESSAGES,
    latencyRounds: LATENCY_ROUNDS,
    deviceInMessagesPerSecond: rate.yoto,
    mqttInJsonMessagesPerSecond: rate.core,
    deviceInP50Ms: round(percentile(latency.yoto, 50)),
    deviceInP99Ms: round(percentile(latency.yoto, 99)),
    mqttInJsonP50Ms: round(percentile(latency.core, 50)),
    mqttInJsonP99Ms: round(percentile(latency.core, 99)),
  };
  return {
    name: 'device-in-vs-mqtt-in',
    description: 'A player message on Mosquitto to a yoto-device-in output (adapter, device model, normalized event) against Node-RED\'s mqtt in + json on the same messages, one Node-RED, same run.',
    results,
    ratios: {
      throughputDeviceInOverMqttIn: round(rate.yoto / rate.core, 2),
      p50DeviceInOverMqttIn: round(results.deviceInP50Ms / results.mqttInJsonP50Ms, 2),
      p99DeviceInOverMqttIn: round(results.deviceInP99Ms / results.mqttInJsonP99Ms, 2),
    },
    notes: [
      'Both paths run in one Node.js process (Node-RED through node-red-node-test-helper) and share its event loop; Mosquitto is a separate process.',
      'The bar (DESIGN.md section 10): yoto-device-in at least as fast as mqtt in + json. Throughput ratio >= 1 and latency ratios <= 1 meet it.',
      'Both paths finish the burst together (throughput ratio 1.00): the one publisher and the broker set the pace, so the burst shows the hub keeps up with mqtt in + json, not how much faster either could go.',
      'Ratios from one run; repeat to see the machine\'s noise.',
    ],
  };
}

runWhenMain(module, run);
