/**
 * The whole hub at fleet scale: the hub in its own process (bench/fleet-hub-process.ts:
 * embedded broker, store, registry, bridge, WebSocket gateway, analytics) following N
 * players of a Yoto cloud in another process (bench/yoto-cloud-process.ts: the virtual
 * cloud standing in for the real one, its own broker with AWS IoT's rules), signed in
 * to it as to the real cloud; publisher processes play those players, each sending
 * 5 volume changes a second on its `device/<id>/data/events` topic to that broker, as
 * real players publish to Yoto's; authenticated WebSocket clients
 * subscribed to `device.*` with batches, as the panel (one frame per turn of the
 * hub); the bridge publishing to the home broker (the embedded one). Measuring
 * starts once the adapter follows every player. Measured in the same run:
 * - the hub process's CPU time over wall time (share of one core) and its memory;
 * - the messages of 20 probe players (each one in flight at a time, at a player's 5 a
 *   second: about 100 samples a second) to a WebSocket client and to a house subscriber
 *   of the bridge's topic, against the raw round trip of the same message to a
 *   subscriber of the device topic on the same broker;
 * - the WebSocket send buffers and the gateway's closes for backpressure;
 * - the events, messages and frames each client got a second (the first client parses
 *   every frame; the others' byte counts show they got the same).
 * Two scales: 200 players with 20 clients (DESIGN.md's bar) and 1,000 with 100; and,
 * reported beside them, 1,000 players of the hub's own virtual cloud publishing through
 * its embedded broker (npm start's demo arrangement: the hub also does the Yoto broker's
 * routing of every player message).
 * Run alone: npm run bench -- fleet (BENCH_FLEET_SECONDS shortens the measured time,
 * BENCH_FLEET_PLAYERS=200 runs one scale, BENCH_FLEET_CLOUD=separate|in-hub one arrangement,
 * BENCH_FLEET_CLIENTS=<n> changes the WebSocket clients, 0 for the
 * hub without them, BENCH_CPU_PROF=<dir> writes the hub's --cpu-prof there, BENCH_ALLOC_PROF=<file> a
 * sampling profile of what it allocates once following the fleet, collected objects included).
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import mqtt, { type MqttClient } from 'mqtt';
import { MAX_FILTERS_PER_SUBSCRIBE } from '../../server/yoto/protocol';
import { startNodeFlags } from '../../test/helpers/start-flags';
import { HOUSE_ADMIN } from '../../test/helpers/test-hub';
import { runWhenMain, type BenchResult } from '../bench-result';
import { median, percentile, round, volumeChanges, type BenchMessage } from '../measure';
import { askChild, endChild } from '../child-process';
import { openFleetClient, type FleetClient } from '../fleet-client';
import type { FleetClientsCommand, FleetClientsReply } from '../fleet-clients-process';
import { PublisherPool } from '../saturation';
import type { FleetHubCommand, FleetHubStarted, FleetHubUsage } from '../fleet-hub-process';
import type { YotoCloudStarted } from '../yoto-cloud-process';

type FleetCloud = 'separate' | 'in-hub';

const EVENTS_PER_PLAYER_PER_SECOND = 5;
/** The goal's arrangement (the Yoto cloud in its own process) at both scales; the hub also brokering its own virtual cloud at 1,000, reported. */
const SCALES = [
  { players: 200, clients: 20, cloud: 'separate', key: 'players200' },
  { players: 1000, clients: 100, cloud: 'separate', key: 'players1000' },
  { players: 1000, clients: 100, cloud: 'in-hub', key: 'players1000InHubCloud' },
] as const;
/** The run's shape: seconds measured (after a warm-up) in windows, publisher processes, the latency probe's pace. */
const RUN = {
  measuredSeconds: Number(process.env['BENCH_FLEET_SECONDS'] ?? 60),
  windows: 3,
  warmupSeconds: 5,
  publishers: 2,
  probe: { players: 20, everyMs: 200, timeoutMs: 2000 },
  /** The gateway's defaults: connections per user and per client address. */
  clientsPerUser: 20,
  clientsPerAddress: 25,
  password: 'correct horse battery staple',
} as const;

class HubProcess {
  private constructor(private readonly child: ChildProcess) {}

  static start(): HubProcess {
    const profileDir = process.env['BENCH_CPU_PROF'];
    // With the Node.js flags npm start runs the hub with.
    const execArgv = [...startNodeFlags(), '--expose-gc', ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])];
    return new HubProcess(fork(path.join(__dirname, '..', 'fleet-hub-process.js'), [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  }

  ask<T>(command: FleetHubCommand): Promise<T> {
    return askChild<T>(this.child, command, 'fleet hub');
  }

  async stop(): Promise<void> {
    await endChild(this.child, () => this.ask({ type: 'stop' }));
  }
}

async function post<T>(url: string, body: object, token?: string): Promise<T> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`${url} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

/** Access tokens of `count` admins (each may hold 20 connections): the house's admin and invited ones. */
async function adminTokens(url: string, count: number): Promise<string[]> {
  const first = await post<{ accessToken: string }>(`${url}/api/auth/login`, { email: HOUSE_ADMIN.email, password: HOUSE_ADMIN.password });
  const tokens = [first.accessToken];
  for (let i = 1; i < count; i++) {
    const { invitationToken } = await post<{ invitationToken: string }>(`${url}/api/auth/invitations`, { email: `fleet${i}@example.test`, role: 'admin' }, first.accessToken);
    tokens.push((await post<{ accessToken: string }>(`${url}/api/auth/register`, { invitationToken, name: `Fleet Admin ${i}`, password: RUN.password })).accessToken);
  }
  return tokens;
}

type WsMessage = { type: string; deviceId?: string };

/**
 * `count` WebSocket clients subscribed to device.*, spread over users and loopback addresses as the gateway's
 * limits ask. The first, in this process, reads every frame (the probe, the counts); the others, in
 * bench/fleet-clients-process.ts, count theirs: their bytes show they got the same.
 */
class FleetClients {
  /** Messages the first client received (a batch frame holds several), and device.event messages among them. */
  messages = 0;
  events = 0;

  private reader: FleetClient | undefined;
  private others: ChildProcess | undefined;

  static async open(url: string, tokens: string[], count: number, onMessages: (messages: WsMessage[]) => void): Promise<FleetClients> {
    const wsUrl = `${url.replace(/^http/, 'ws')}/ws`;
    const at = Array.from({ length: count }, (_, i) => ({ wsUrl, token: tokens[Math.floor(i / RUN.clientsPerUser)]!, localAddress: `127.0.0.${1 + Math.floor(i / RUN.clientsPerAddress)}` }));
    const clients = new FleetClients();
    if (count > 0) {
      clients.reader = await openFleetClient(at[0]!, (data) => {
        const frame = JSON.parse(data.toString()) as WsMessage | WsMessage[];
        const messages = Array.isArray(frame) ? frame : [frame];
        clients.messages += messages.length;
        for (const message of messages) if (message.type === 'device.event') clients.events++;
        onMessages(messages);
      });
    }
    if (count > 1) {
      const others = (clients.others = fork(path.join(__dirname, '..', 'fleet-clients-process.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
      await askChild<FleetClientsReply>(others, { type: 'open', clients: at.slice(1) } satisfies FleetClientsCommand, 'fleet clients');
    }
    return clients;
  }

  /** Frames of all the clients together, and each client's bytes, so far. */
  async counts(): Promise<{ frames: number; bytes: number[] }> {
    if (!this.reader) return { frames: 0, bytes: [] };
    const others = this.others ? await askChild<Extract<FleetClientsReply, { type: 'counts' }>>(this.others, { type: 'counts' } satisfies FleetClientsCommand, 'fleet clients') : { frames: [], bytes: [] };
    return { frames: this.reader.frames + others.frames.reduce((n, f) => n + f, 0), bytes: [this.reader.bytes, ...others.bytes] };
  }

  async stop(): Promise<void> {
    this.reader?.ws.terminate();
    const others = this.others;
    if (others) await endChild(others, () => others.send({ type: 'stop' } satisfies FleetClientsCommand));
  }
}

interface Probe {
  raw: number[];
  ws: number[];
  home: number[];
  lost: number;
}

interface InFlight {
  sentAt: number;
  raw?: number;
  ws?: number;
  home?: number;
  done: () => void;
}

/**
 * Probe players: players of the fleet whose messages are timed. Each keeps one message in flight and a player's
 * pace (RUN.probe.everyMs, 5 a second), so together they give enough samples for a p99 (20 players: about 100 a
 * second, 2,000 in a 20 s window) without adding load; their arrival at the raw subscriber, the WebSocket client and
 * the house subscriber is matched by device id.
 */
class ProbeLoop {
  readonly samples: Probe = { raw: [], ws: [], home: [], lost: 0 };
  private readonly inFlight = new Map<string, InFlight>();
  private readonly messages = new Map<string, () => BenchMessage>();
  private running = true;
  private loops: Promise<void>[] = [];
  /** Set while the hub's memory is read (a forced full collection): no probe is sent, none is in flight. */
  private paused: { released: Promise<void>; idle: Set<string>; allIdle: () => void } | undefined;

  /** Without WebSocket clients (BENCH_FLEET_CLIENTS=0) a probe is complete at the raw and home subscribers. */
  constructor(private readonly publisher: MqttClient, private readonly deviceIds: readonly string[], private readonly withWebSocket: boolean) {}

  arrived(path: 'raw' | 'ws' | 'home', deviceId: string): void {
    const waiting = this.inFlight.get(deviceId);
    if (!waiting || waiting[path] !== undefined) return;
    waiting[path] = performance.now() - waiting.sentAt;
    if (waiting.raw !== undefined && (waiting.ws !== undefined || !this.withWebSocket) && waiting.home !== undefined) waiting.done();
  }

  start(): void {
    this.loops = this.deviceIds.map((deviceId, i) => this.player(deviceId, i));
  }

  /** Spread over a player's pace: player i starts i / players of it later. */
  private stagger(index: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, (index * RUN.probe.everyMs) / this.deviceIds.length));
  }

  /** Publishes the device's next message and waits for it at each subscriber: its times, or undefined when lost. */
  private async roundTrip(deviceId: string): Promise<InFlight | undefined> {
    let next = this.messages.get(deviceId);
    if (!next) this.messages.set(deviceId, (next = volumeChanges([deviceId])));
    const [topic, payload] = next();
    let timer: NodeJS.Timeout | undefined;
    const complete = new Promise<boolean>((resolve) => {
      this.inFlight.set(deviceId, { sentAt: performance.now(), done: () => resolve(true) });
      timer = setTimeout(() => resolve(false), RUN.probe.timeoutMs);
    });
    this.publisher.publish(topic, payload, { qos: 0 });
    const ok = await complete;
    clearTimeout(timer);
    const times = this.inFlight.get(deviceId)!;
    this.inFlight.delete(deviceId);
    return ok ? times : undefined;
  }

  private async player(deviceId: string, index: number): Promise<void> {
    await this.stagger(index);
    while (this.running) {
      const paused = this.paused;
      if (paused) {
        paused.idle.add(deviceId);
        if (paused.idle.size === this.deviceIds.length) paused.allIdle();
        await paused.released;
        await this.stagger(index);
        continue;
      }
      const times = await this.roundTrip(deviceId);
      if (!times) {
        this.samples.lost++;
        continue;
      }
      this.samples.raw.push(times.raw!);
      if (times.ws !== undefined) this.samples.ws.push(times.ws);
      this.samples.home.push(times.home!);
      // A player's pace: the next message RUN.probe.everyMs after this one was sent.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, times.sentAt + RUN.probe.everyMs - performance.now())));
    }
  }

  /**
   * Runs `reading` with no probe in flight: the hub's memory is read after a full collection the bench
   * forces, a pause of the hub's own doing that is no latency a player or a client would see. The players
   * go on publishing meanwhile, so the probes start again once the hub has caught up: one message, not
   * counted, has gone all the way through it (the hub handles a connection's messages in order).
   */
  async between<T>(reading: () => Promise<T>): Promise<T> {
    let release = (): void => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    let allIdle = (): void => undefined;
    const idle = new Promise<void>((resolve) => (allIdle = resolve));
    this.paused = { released, idle: new Set(), allIdle };
    if (this.loops.length > 0) await idle;
    try {
      const result = await reading();
      if (this.loops.length > 0) await this.roundTrip(this.deviceIds[0]!);
      return result;
    } finally {
      this.paused = undefined;
      release();
    }
  }

  /** Answers the samples since the last take. */
  take(): Probe {
    const taken = { raw: [...this.samples.raw], ws: [...this.samples.ws], home: [...this.samples.home], lost: this.samples.lost };
    Object.assign(this.samples, { raw: [], ws: [], home: [], lost: 0 });
    return taken;
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}

const PROBE_PATHS = ['raw', 'webSocket', 'homeBroker'] as const;
type ProbePath = (typeof PROBE_PATHS)[number];

interface WindowResult {
  cpuShare: number;
  /** The probe's way to the raw subscriber, a WebSocket client and a house subscriber: p50 and p99, ms. */
  latencyMs: Record<ProbePath, { p50: number; p99: number }>;
  lost: number;
  heapUsedMB: number;
  rssMB: number;
  wsBufferedMaxBytes: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  gcPauseMaxMs: number;
  /** Share of the window's wall time spent in garbage collection pauses. */
  gcPauseShare: number;
}

interface ScaleResult {
  windows: WindowResult[];
  closedForBackpressure: number;
  /** Per client and second over the measured time. */
  framesPerClientPerSecond: number;
  messagesPerClientPerSecond: number;
  eventsPerClientPerSecond: number;
  clientBytesMinOverMax: number;
  offeredPerSecond: number;
}

/** The Yoto cloud in its own process (bench/yoto-cloud-process.ts); stops when disconnected. */
async function startYotoCloud(players: number): Promise<{ child: ChildProcess; started: YotoCloudStarted }> {
  const child = fork(path.join(__dirname, '..', 'yoto-cloud-process.js'), [String(players)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const started = await new Promise<YotoCloudStarted>((resolve, reject) => {
    child.once('message', (message) => resolve(message as YotoCloudStarted));
    child.once('exit', (code) => reject(new Error(`the Yoto cloud process exited with ${code}`)));
  });
  return { child, started };
}

async function stopYotoCloud(child: ChildProcess | undefined): Promise<void> {
  if (child) await endChild(child, () => child.disconnect());
}

/**
 * `cloud`: "separate", the Yoto cloud in its own process as the real one (the goal's arrangement), or
 * "in-hub", the hub's own virtual cloud whose players publish through the hub's embedded broker (npm start's demo).
 */
async function runScale(players: number, clientCount: number, cloud: FleetCloud): Promise<ScaleResult> {
  const hub = HubProcess.start();
  const pools: PublisherPool[] = [];
  const mqttClients: MqttClient[] = [];
  let clients: FleetClients | undefined;
  let cloudChild: ChildProcess | undefined;
  try {
    const yotoCloud = cloud === 'separate' ? await startYotoCloud(players) : undefined;
    cloudChild = yotoCloud?.child;
    const info = await hub.ask<FleetHubStarted>({ type: 'start', players, adapterLogins: RUN.publishers + 1, ...(yotoCloud ? { cloud: yotoCloud.started.settings } : {}) });
    // Players publish to the Yoto cloud's broker: the other process's, or the hub's own with the Yoto side's logins.
    const playerBroker = yotoCloud?.started.brokerUrl ?? info.brokerUrl;
    const playerLogins = yotoCloud
      ? Array.from({ length: RUN.publishers + 1 }, (_, i) => ({ ...yotoCloud.started.playersLogin, clientId: `bench-player-${process.pid}-${i}` }))
      : info.adapterLogins;
    const probeDevices = info.deviceIds.slice(0, RUN.probe.players);
    const isProbe = new Set(probeDevices);
    const fleetDevices = info.deviceIds.slice(RUN.probe.players);
    const probeLogin = playerLogins[RUN.publishers]!;
    const raw = await mqtt.connectAsync(playerBroker, { ...probeLogin, reconnectPeriod: 0 });
    const house = await mqtt.connectAsync(info.brokerUrl, { ...info.house, reconnectPeriod: 0 });
    mqttClients.push(raw, house);
    const probe = new ProbeLoop(raw, probeDevices, clientCount > 0);
    // device/<id>/data/events and yoto/<id>/events: the id is the topic's second level.
    raw.on('message', (topic) => probe.arrived('raw', topic.split('/')[1]!));
    house.on('message', (topic) => probe.arrived('home', topic.split('/')[1]!));
    // AWS IoT's rule, which the broker of the hub's own virtual cloud applies to its Yoto logins: at most 8 filters a SUBSCRIBE.
    const rawTopics = probeDevices.map((id) => `device/${id}/data/events`);
    for (let i = 0; i < rawTopics.length; i += MAX_FILTERS_PER_SUBSCRIBE) await raw.subscribeAsync(rawTopics.slice(i, i + MAX_FILTERS_PER_SUBSCRIBE), { qos: 0 });
    await house.subscribeAsync(probeDevices.map((id) => `yoto/${id}/events`), { qos: 0 });
    const tokens = await adminTokens(info.url, Math.ceil(clientCount / RUN.clientsPerUser));
    clients = await FleetClients.open(info.url, tokens, clientCount, (messages) => {
      for (const message of messages) if (message.type === 'device.event' && isProbe.has(message.deviceId!)) probe.arrived('ws', message.deviceId!);
    });
    const pool = await PublisherPool.start(RUN.publishers, playerLogins.slice(0, RUN.publishers).map((login) => ({ url: playerBroker, ...login })), fleetDevices);
    pools.push(pool);
    // The probe players keep a player's pace too (RUN.probe.everyMs): the publishers play the others.
    const offered = info.deviceIds.length * EVENTS_PER_PLAYER_PER_SECOND;
    const published = fleetDevices.length * EVENTS_PER_PLAYER_PER_SECOND;
    const seconds = RUN.warmupSeconds + RUN.measuredSeconds;
    // Killed once measured: a hub that falls behind leaves a backlog in the publishers that is not waited for.
    const publishing = pool.burst(published, seconds * 1000).catch(() => undefined);
    probe.start();
    await new Promise((resolve) => setTimeout(resolve, RUN.warmupSeconds * 1000));
    probe.take();
    const windows: WindowResult[] = [];
    const atStart = { ...(await clients.counts()), messages: clients.messages, events: clients.events };
    const measuredStart = performance.now();
    let before = await probe.between(() => hub.ask<FleetHubUsage>({ type: 'usage' }));
    let at = performance.now();
    for (let w = 0; w < RUN.windows; w++) {
      await new Promise((resolve) => setTimeout(resolve, (RUN.measuredSeconds * 1000) / RUN.windows));
      const now = performance.now();
      const usage = await probe.between(() => hub.ask<FleetHubUsage>({ type: 'usage' }));
      const samples = probe.take();
      const sorted = (values: number[]): number[] => [...values].sort((a, b) => a - b);
      const p = (values: number[], q: number): number => (values.length ? round(percentile(sorted(values), q), 2) : Number.NaN);
      const quantiles = (values: number[]): { p50: number; p99: number } => ({ p50: p(values, 50), p99: p(values, 99) });
      windows.push({
        cpuShare: round((usage.cpuMicros - before.cpuMicros) / 1000 / (now - at), 3),
        latencyMs: { raw: quantiles(samples.raw), webSocket: quantiles(samples.ws), homeBroker: quantiles(samples.home) },
        lost: samples.lost,
        heapUsedMB: round(usage.heapUsedBytes / 1e6, 1),
        rssMB: round(usage.rssBytes / 1e6, 1),
        wsBufferedMaxBytes: usage.wsBufferedMax,
        loopDelayP99Ms: round(usage.loopDelayP99Ms, 1),
        loopDelayMaxMs: round(usage.loopDelayMaxMs, 1),
        gcPauseMaxMs: round(usage.gcPauseMaxMs, 1),
        gcPauseShare: round(usage.gcPauseTotalMs / (now - at), 3),
      });
      before = usage;
      at = now;
    }
    const atEnd = await clients.counts();
    const measuredMs = performance.now() - measuredStart;
    const perClientPerSecond = (total: number): number => (clientCount > 0 ? Math.round(total / clientCount / (measuredMs / 1000)) : 0);
    const measuredSeconds = measuredMs / 1000;
    const bytes = atEnd.bytes.map((b, i) => b - atStart.bytes[i]!);
    const delivered = {
      framesPerClientPerSecond: perClientPerSecond(atEnd.frames - atStart.frames),
      messagesPerClientPerSecond: clientCount > 0 ? Math.round((clients.messages - atStart.messages) / measuredSeconds) : 0,
      eventsPerClientPerSecond: clientCount > 0 ? Math.round((clients.events - atStart.events) / measuredSeconds) : 0,
      /** The fewest bytes a client got over the most: near 1 when every client kept up. */
      clientBytesMinOverMax: bytes.length > 0 ? round(Math.min(...bytes) / Math.max(...bytes), 2) : 1,
    };
    await probe.stop();
    await pool.kill();
    await publishing;
    const last = await hub.ask<FleetHubUsage>({ type: 'usage' });
    return { windows, closedForBackpressure: last.wsClosedForBackpressure, ...delivered, offeredPerSecond: offered };
  } finally {
    await clients?.stop();
    await Promise.all(mqttClients.map((client) => client.endAsync()));
    for (const pool of pools) await pool.stop();
    await hub.stop();
    await stopYotoCloud(cloudChild);
  }
}

function capitalized(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

export async function run(): Promise<BenchResult> {
  const results: Record<string, number | string> = { eventsPerPlayerPerSecond: EVENTS_PER_PLAYER_PER_SECOND, measuredSeconds: RUN.measuredSeconds, windows: RUN.windows };
  const ratios: Record<string, number> = {};
  const only = process.env['BENCH_FLEET_PLAYERS'];
  const onlyCloud = process.env['BENCH_FLEET_CLOUD'];
  const clientsOverride = process.env['BENCH_FLEET_CLIENTS'];
  for (const scaleSpec of SCALES.filter((scale) => (!only || String(scale.players) === only) && (!onlyCloud || scale.cloud === onlyCloud))) {
    const { players, key } = scaleSpec;
    const clients = clientsOverride !== undefined ? Number(clientsOverride) : scaleSpec.clients;
    const scale = await runScale(players, clients, scaleSpec.cloud);
    const med = (pick: (w: WindowResult) => number): number => round(median(scale.windows.map(pick)), 3);
    const list = (pick: (w: WindowResult) => number): string => scale.windows.map(pick).join(' ');
    // The median of the windows, and for some figures the windows one by one too.
    results[`${key}CpuShareOfOneCore`] = med((w) => w.cpuShare);
    for (const path of PROBE_PATHS) for (const q of ['p50', 'p99'] as const) results[`${key}${capitalized(path)}${q.toUpperCase()}Ms`] = med((w) => w.latencyMs[path][q]);
    const listed = ['cpuShare', 'heapUsedMB', 'rssMB', 'wsBufferedMaxBytes', 'loopDelayP99Ms', 'loopDelayMaxMs', 'gcPauseMaxMs', 'gcPauseShare'] as const;
    for (const field of listed) results[`${key}${capitalized(field)}Windows`] = list((w) => w[field]);
    Object.assign(results, {
      [`${key}Clients`]: clients,
      [`${key}OfferedPerSecond`]: scale.offeredPerSecond,
      [`${key}ProbesLost`]: scale.windows.reduce((n, w) => n + w.lost, 0),
      [`${key}WsClosedForBackpressure`]: scale.closedForBackpressure,
      [`${key}WsFramesPerClientPerSecond`]: scale.framesPerClientPerSecond,
      [`${key}WsMessagesPerClientPerSecond`]: scale.messagesPerClientPerSecond,
      // A volume change is a device.event to each client (and a device.playback, coalesced per player).
      [`${key}WsEventsPerClientPerSecond`]: scale.eventsPerClientPerSecond,
      [`${key}WsClientBytesMinOverMax`]: scale.clientBytesMinOverMax,
    });
    ratios[`${key}CpuShareOfOneCore`] = med((w) => w.cpuShare);
    const p99 = (path: ProbePath): number => med((w) => w.latencyMs[path].p99);
    ratios[`${key}WebSocketP99OverRaw`] = round(p99('webSocket') / p99('raw'), 2);
    ratios[`${key}HomeBrokerP99OverRaw`] = round(p99('homeBroker') / p99('raw'), 2);
    const first = scale.windows[0]!;
    const lastWindow = scale.windows[scale.windows.length - 1]!;
    if (clients > 0) ratios[`${key}WsEventsDeliveredOverOffered`] = round(scale.eventsPerClientPerSecond / scale.offeredPerSecond, 2);
    ratios[`${key}HeapGrowthLastOverFirstWindow`] = round(lastWindow.heapUsedMB / first.heapUsedMB, 2);
  }
  return {
    name: 'fleet',
    description: `The hub (own process) following N players of a Yoto cloud in another process, each sending ${EVENTS_PER_PLAYER_PER_SECOND} volume changes/s to that cloud's broker (${RUN.publishers} publisher processes), WebSocket clients subscribed to device.*, the bridge publishing to the home broker; ${SCALES.map((s) => `${s.key}: ${s.players} players with ${s.clients} clients, cloud ${s.cloud}`).join('; ')}; ${RUN.measuredSeconds} s measured after ${RUN.warmupSeconds} s, in ${RUN.windows} windows (median).`,
    results,
    ratios,
    notes: [
      'Goals (issue 16) at 1,000 players: CpuShareOfOneCore < 0.5, WebSocketP99OverRaw <= 2, flat memory (HeapGrowthLastOverFirstWindow near 1, WsBufferedMaxBytes not growing, no closes for backpressure).',
      'players1000InHubCloud: the players belong to the hub\'s own virtual cloud and publish through the hub\'s embedded broker (npm start\'s demo), so the hub process also routes every player message as the Yoto cloud\'s broker would; reported, not the goal\'s arrangement (real players publish to Yoto\'s broker, not the hub\'s).',
      'Latency: 20 of the players are probe players, each with one message in flight and a player\'s pace (5 a second), about 100 samples a second (2,000 in a 20 s window); p99 is per window, the median of the windows reported.',
      'Raw: the probe message from its publisher to a subscriber of its device topic on the same broker (the players\' broker), in the same run; WebSocket: to a device.event at a client; HomeBroker: to the bridge\'s yoto/<id>/events at a house subscriber.',
      'Each volume change is a device.event to every client (never dropped) and a device.playback (coalesced: at most one per player every 250 ms), so 1,000 players x 5/s is 5,000 events and about 4,000 playback updates a second per client. The clients ask for batches as the panel does ({"type":"options","batch":true}): one frame per turn of the hub, an array of that turn\'s messages.',
      'Memory is read after a full collection (the hub runs with --expose-gc; the bench calls gc() at each reading, which the CPU share includes).',
      'The WebSocket clients but the first (which reads every frame) run in a process of their own, so their 170 MB/s at 1,000 players does not delay the process timing the probes (raw and house subscribers, the first client); they, the probe and the publishers share the cores with the hub: see machine.loadAtStart.',
    ],
  };
}

runWhenMain(module, run);
