/**
 * DESIGN.md's first bar: a player's MQTT message to a `yoto-device-in`
 * output, side by side with Node-RED's own `mqtt in` + `json` nodes on the
 * same messages from the same Mosquitto, in one Node-RED, in the same run.
 * The hub follows the virtual players over that Mosquitto; the bench publishes
 * volume changes for them, each of which is one normalized event.
 * - Latency and burst: both flows deployed at once, on identical traffic.
 * - Saturation: each flow deployed alone, publisher processes ramping the
 *   rate up until it falls behind; the highest rate it kept up with.
 * Run alone: npm run bench -- device-in-vs-mqtt-in
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
import { arrivalCounter, comparePaths, pathRatios, until, volumeChanges, type ArrivalCounter, type BenchConsumer } from '../measure';
import { compareSaturation, PublisherPool, warmUp } from '../saturation';

const BURST_MESSAGES = 10_000;
const LATENCY_ROUNDS = 500;
const RUNS = 3;
/** The cost per message is measured at this rate: below either flow's saturation. */
const PER_MESSAGE = { cpuAtRate: 10_000 } as const;
const DEVICES = DEFAULT_VIRTUAL_PLAYERS.map((player) => player.deviceId);

/* eslint-disable @typescript-eslint/no-require-imports */
const coreNodesDir = path.dirname(require.resolve('@node-red/nodes/package.json'));
const NODES = [
  require('../../nodes/yoto-hub/yoto-hub') as (RED: unknown) => void,
  require('../../nodes/yoto-device-in/yoto-device-in') as (RED: unknown) => void,
  require(path.join(coreNodesDir, 'core', 'network', '10-mqtt.js')) as (RED: unknown) => void,
  require(path.join(coreNodesDir, 'core', 'parsers', '70-JSON.js')) as (RED: unknown) => void,
];
/* eslint-enable @typescript-eslint/no-require-imports */

type Helper = ReturnType<typeof initNodeRedHelper>;
type FlowNode = { id: string; type: string; [key: string]: unknown };

/** The hub and a yoto-device-in for every player's volume changes, wired to the helper node `yoto-out`. */
async function yotoFlow(brokerUrl: string, dataDir: string): Promise<FlowNode[]> {
  return [
    { id: 'hub', type: 'yoto-hub', brokerUrl, httpPort: String(await freePort()), virtualCloudPort: String(await freePort()), cloudMode: 'virtual', dataDir, logLevel: 'warn' },
    { id: 'in', type: 'yoto-device-in', z: 'tab', hub: 'hub', deviceMode: 'all', events: ['volume_changed'], wires: [['yoto-out']] },
    { id: 'yoto-out', type: 'helper', z: 'tab' },
  ];
}

/** Core `mqtt in` (every player's events) + `json`, wired to the helper node `core-out`. */
function coreFlow(brokerUrl: string): FlowNode[] {
  const url = new URL(brokerUrl);
  return [
    { id: 'mq', type: 'mqtt-broker', broker: url.hostname, port: url.port, protocolVersion: '4', keepalive: '60', cleansession: true, autoConnect: true },
    { id: 'mqttin1', type: 'mqtt in', z: 'tab', topic: 'device/+/data/events', qos: '1', datatype: 'utf8', broker: 'mq', wires: [['parse1']] },
    { id: 'parse1', type: 'json', z: 'tab', property: 'payload', action: 'obj', wires: [['core-out']] },
    { id: 'core-out', type: 'helper', z: 'tab' },
  ];
}

/** Deploys the flows, waits until the hub (when there is one) follows the players and the core node (when there is one) is connected. */
async function deploy(helper: Helper, flows: FlowNode[]): Promise<void> {
  const tab: FlowNode = { id: 'tab', type: 'tab', label: 'bench' };
  await helper.load(NODES, [tab, ...flows] as Parameters<Helper['load']>[1]);
  if (flows.some((node) => node['id'] === 'hub')) {
    const hub = (helper.getNode('hub') as unknown as YotoHubNode).hub!;
    if (hub.state !== 'running') await new Promise<void>((resolve) => hub.on('state', (state) => state === 'running' && resolve()));
    await hub.cloud.mqtt!.whenConnected();
  }
  if (flows.some((node) => node['id'] === 'mqttin1')) {
    const mqttIn = helper.getNode('mqttin1') as Node & { brokerConn?: { connected?: boolean } };
    await until('the core mqtt in to connect', () => mqttIn.brokerConn?.connected === true);
  }
}

/** Counts what reaches a helper node: every volume_changed from yoto-device-in, every parsed message with a volume from the core flow. */
function countAt(helper: Helper, id: 'yoto-out' | 'core-out'): ArrivalCounter {
  const counter = arrivalCounter();
  // The helper nodes are plain Node-RED nodes; their 'input' event is not in Node's published types.
  type Input = { payload?: { volume?: number } };
  const node = helper.getNode(id) as unknown as { on(event: 'input', listener: (msg: Input) => void): void };
  node.on('input', (msg) => {
    if (id === 'yoto-out' || typeof msg.payload?.volume === 'number') counter.tick();
  });
  return counter;
}

export async function run(): Promise<BenchResult> {
  const broker = await MosquittoBroker.start();
  const helper = initNodeRedHelper();
  await new Promise<void>((resolve) => helper.startServer(resolve));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'yoto-bench-nodes-'));
  const publisher = await mqtt.connectAsync(broker.url);
  const pool = await PublisherPool.start(DEVICES.length, { url: broker.url }, DEVICES);
  /** One side deployed alone, for saturation: its counter, and unloading it. */
  const alone = (id: 'yoto-out' | 'core-out', flows: () => Promise<FlowNode[]>) => async (): Promise<BenchConsumer> => {
    await deploy(helper, await flows());
    const counter = countAt(helper, id);
    await warmUp(pool, counter);
    return { counter, stop: () => helper.unload() };
  };
  try {
    await deploy(helper, [...(await yotoFlow(broker.url, dataDir)), ...coreFlow(broker.url)]);
    const paths = await comparePaths(publisher, volumeChanges(DEVICES), { yoto: countAt(helper, 'yoto-out'), core: countAt(helper, 'core-out') }, { runs: RUNS, latencyRounds: LATENCY_ROUNDS, burstMessages: BURST_MESSAGES });
    await helper.unload();
    const saturation = await compareSaturation(pool, { yoto: alone('yoto-out', () => yotoFlow(broker.url, dataDir)), core: alone('core-out', async () => coreFlow(broker.url)) }, RUNS, PER_MESSAGE);
    return {
      name: 'device-in-vs-mqtt-in',
      description: 'A player message on Mosquitto to a yoto-device-in output (adapter, device model, normalized event) against Node-RED\'s mqtt in + json on the same messages, one Node-RED: latency and burst side by side, then each flow alone at saturation.',
      results: { broker: 'mosquitto (Debian), loopback', runs: RUNS, latencyRounds: LATENCY_ROUNDS, burstMessages: BURST_MESSAGES, publisherProcesses: DEVICES.length, ...paths.results, ...saturation.results },
      ratios: pathRatios('DeviceInOverMqttIn', 'yoto', 'core', paths, saturation.sustained, saturation.perMessage),
      notes: [
        'Goal (DESIGN.md section 10, issue 16): saturationDeviceInOverMqttIn >= 1.0 (and latency ratios <= 1).',
        'Saturation: each flow deployed alone in this Node-RED, one publisher process per virtual player ramps the rate (x1.5, then x1.07) until a step is not received in full within 300 ms of its end; the highest rate kept up with. Median of the runs, interleaved.',
        `CPU per message: before each ramp, the flow alone at a fixed ${PER_MESSAGE.cpuAtRate / 1000}k messages/s for 4 s (after 2 s to warm up); this process's CPU time (user + system, every thread) and its event loop's busy time (eventLoopUtilization: the one thread that bounds the rate) over the messages. Mosquitto and the publishers run in other processes.`,
        'Latency rounds and the burst run with both flows deployed; the burst is one publisher, so it is bounded by the publisher as much as by the flows.',
        'Node-RED runs in this process (node-red-node-test-helper); Mosquitto and the publishers are separate processes on the same cores: see machine.loadAtStart.',
      ],
    };
  } finally {
    await publisher.endAsync();
    await pool.stop();
    await helper.unload().catch(() => undefined);
    await new Promise<void>((resolve) => helper.stopServer(resolve));
    await broker.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

runWhenMain(module, run);
