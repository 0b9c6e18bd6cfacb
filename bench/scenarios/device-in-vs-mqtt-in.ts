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
import { deployFlows, runningNode, startNodeRed, stopNodeRed, type EmbeddedNodeRed, type FlowConfig } from '../../test/helpers/embedded-node-red';
import { freePort } from '../../test/helpers/free-port';
import { MosquittoBroker } from '../../test/helpers/mosquitto';
import { runWhenMain, type BenchResult } from '../bench-result';
import { arrivalCounter, comparePaths, pathRatios, until, volumeChanges, type ArrivalCounter, type BenchConsumer } from '../measure';
import { compareSaturation, PublisherPool, warmUp } from '../saturation';

const BURST_MESSAGES = 10_000;
const LATENCY_ROUNDS = 500;
const RUNS = 3;
/** The cost per message is measured at this rate: below either flow's saturation. */
const PER_MESSAGE = { cpuAtRate: 10_000 } as const;
const DEVICES = DEFAULT_VIRTUAL_PLAYERS.map((player) => player.deviceId);

/** Where a flow's messages end: a debug node switched off, as a user's flow might end (Node-RED calls it, it shows nothing). */
function sink(id: string): FlowConfig {
  return { id, type: 'debug', z: 'tab', active: false, tosidebar: true, console: false, tostatus: false, complete: 'true', wires: [] };
}

/** The hub and a yoto-device-in for every player's volume changes, wired to the sink `yoto-out`. */
async function yotoFlow(brokerUrl: string, dataDir: string): Promise<FlowConfig[]> {
  return [
    { id: 'hub', type: 'yoto-hub', brokerUrl, httpPort: String(await freePort()), virtualCloudPort: String(await freePort()), cloudMode: 'virtual', dataDir, logLevel: 'warn' },
    { id: 'in', type: 'yoto-device-in', z: 'tab', hub: 'hub', deviceMode: 'all', events: ['volume_changed'], wires: [['yoto-out']] },
    sink('yoto-out'),
  ];
}

/** Core `mqtt in` (every player's events) + `json`, wired to the sink `core-out`. */
function coreFlow(brokerUrl: string): FlowConfig[] {
  const url = new URL(brokerUrl);
  return [
    { id: 'mq', type: 'mqtt-broker', broker: url.hostname, port: url.port, protocolVersion: '4', keepalive: '60', cleansession: true, autoConnect: true },
    { id: 'mqttin1', type: 'mqtt in', z: 'tab', topic: 'device/+/data/events', qos: '1', datatype: 'utf8', broker: 'mq', wires: [['parse1']] },
    { id: 'parse1', type: 'json', z: 'tab', property: 'payload', action: 'obj', wires: [['core-out']] },
    sink('core-out'),
  ];
}

/** Deploys the flows as the editor's Deploy does, waits until the hub (when there is one) follows the players and the core node (when there is one) is connected. */
async function deploy(nodeRed: EmbeddedNodeRed, flows: FlowConfig[]): Promise<void> {
  await deployFlows(nodeRed, [{ id: 'tab', type: 'tab', label: 'bench' }, ...flows]);
  if (flows.some((node) => node.id === 'hub')) {
    const hub = (runningNode(nodeRed, 'hub') as unknown as YotoHubNode).hub!;
    if (hub.state !== 'running') await new Promise<void>((resolve) => hub.on('state', (state) => state === 'running' && resolve()));
    await hub.cloud.mqtt!.whenConnected();
  }
  if (flows.some((node) => node.id === 'mqttin1')) {
    const mqttIn = runningNode(nodeRed, 'mqttin1') as Node & { brokerConn?: { connected?: boolean } };
    await until('the core mqtt in to connect', () => mqttIn.brokerConn?.connected === true);
  }
}

/** Counts what reaches a sink: every volume_changed from yoto-device-in, every parsed message with a volume from the core flow. */
function countAt(nodeRed: EmbeddedNodeRed, id: 'yoto-out' | 'core-out'): ArrivalCounter {
  const counter = arrivalCounter();
  type Input = { payload?: { volume?: number } };
  // A second input handler beside the debug node's own: Node-RED calls both.
  const node = runningNode(nodeRed, id) as unknown as { on(event: 'input', listener: (msg: Input) => void): void };
  node.on('input', (msg) => {
    if (id === 'yoto-out' || typeof msg.payload?.volume === 'number') counter.tick();
  });
  return counter;
}

export async function run(): Promise<BenchResult> {
  const broker = await MosquittoBroker.start();
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'yoto-bench-nodes-'));
  const dataDir = path.join(workDir, 'hub');
  const nodeRed = await startNodeRed(path.join(workDir, 'node-red'));
  /** Stops every flow: a full deployment of none. */
  const unload = () => deployFlows(nodeRed, []);
  const publisher = await mqtt.connectAsync(broker.url);
  const pool = await PublisherPool.start(DEVICES.length, { url: broker.url }, DEVICES);
  /** What the hub's bridge published to the home broker, and dropped while it was behind, over the saturation runs. */
  const homeBroker = { published: 0, eventsDropped: 0 };
  /** One side deployed alone, for saturation: its counter, and unloading it (the yoto side adds its bridge's counts). */
  const alone = (id: 'yoto-out' | 'core-out', flows: () => Promise<FlowConfig[]>) => async (): Promise<BenchConsumer> => {
    await deploy(nodeRed, await flows());
    const counter = countAt(nodeRed, id);
    await warmUp(pool, counter);
    const hub = id === 'yoto-out' ? (runningNode(nodeRed, 'hub') as unknown as YotoHubNode).hub : undefined;
    const stop = async (): Promise<void> => {
      const bridge = hub?.bridge.stats();
      homeBroker.published += bridge?.published ?? 0;
      homeBroker.eventsDropped += bridge?.eventsDropped ?? 0;
      await unload();
    };
    return { counter, stop };
  };
  try {
    await deploy(nodeRed, [...(await yotoFlow(broker.url, dataDir)), ...coreFlow(broker.url)]);
    const paths = await comparePaths(publisher, volumeChanges(DEVICES), { yoto: countAt(nodeRed, 'yoto-out'), core: countAt(nodeRed, 'core-out') }, { runs: RUNS, latencyRounds: LATENCY_ROUNDS, burstMessages: BURST_MESSAGES });
    await unload();
    const saturation = await compareSaturation(pool, { yoto: alone('yoto-out', () => yotoFlow(broker.url, dataDir)), core: alone('core-out', async () => coreFlow(broker.url)) }, RUNS, PER_MESSAGE);
    return {
      name: 'device-in-vs-mqtt-in',
      description: 'A player message on Mosquitto to a yoto-device-in output (adapter, device model, normalized event) against Node-RED\'s mqtt in + json on the same messages, one Node-RED: latency and burst side by side, then each flow alone at saturation.',
      results: { broker: 'mosquitto (Debian), loopback', runs: RUNS, latencyRounds: LATENCY_ROUNDS, burstMessages: BURST_MESSAGES, publisherProcesses: DEVICES.length, ...paths.results, ...saturation.results, homeBrokerPublishedYoto: homeBroker.published, homeBrokerEventsDroppedYoto: homeBroker.eventsDropped },
      ratios: pathRatios('DeviceInOverMqttIn', 'yoto', 'core', paths, saturation.sustained, saturation.perMessage),
      notes: [
        'Goal (DESIGN.md section 10, issue 16): saturationDeviceInOverMqttIn >= 1.0 (and latency ratios <= 1).',
        'Saturation: each flow deployed alone in this Node-RED, one publisher process per virtual player ramps the rate (x1.5, then x1.07) until a step is not received in full within 300 ms of its end; the highest rate kept up with. Median of the runs, interleaved.',
        `CPU per message: before each ramp, the flow alone at a fixed ${PER_MESSAGE.cpuAtRate / 1000}k messages/s for 4 s (after 2 s to warm up); this process's CPU time (user + system, every thread) and its event loop's busy time (eventLoopUtilization: the one thread that bounds the rate) over the messages. Mosquitto and the publishers run in other processes.`,
        'Latency rounds and the burst run with both flows deployed; the burst is one publisher, so it is bounded by the publisher as much as by the flows.',
        'The hub\'s home broker is the same Mosquitto: each player message also goes to the house (its event and playback, QoS 1). While 4,000 of those wait for the broker\'s acknowledgement the bridge drops events and holds state back (as a hub does with a slow home broker); homeBrokerPublishedYoto and homeBrokerEventsDroppedYoto count them over the saturation runs of the yoto flow (each with its fixed-rate measure and ramp).',
        'Node-RED runs in this process, the real runtime embedded as npm start embeds it (RED.init, flows deployed through its admin API, this package installed in its user directory); no test helper wraps its nodes. Mosquitto and the publishers are separate processes on the same cores: see machine.loadAtStart.',
      ],
    };
  } finally {
    await publisher.endAsync();
    await pool.stop();
    await stopNodeRed(nodeRed);
    await broker.stop();
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

runWhenMain(module, run);
