/**
 * The hub of the fleet bench, in its own process so its CPU time and memory
 * are its own: started as `npm start` starts it (startTestHub: embedded
 * broker, store, registry, bridge, WebSocket gateway, analytics), following
 * `players` players either of a Yoto cloud in another process (`cloud`: signed
 * in as to the real cloud, bench/yoto-cloud-process.ts) or of its own virtual
 * cloud, whose players then publish through the hub's embedded broker (as
 * `npm start` runs the demo). It answers the parent over IPC.
 */
import * as fs from 'node:fs';
import { Session } from 'node:inspector';
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import type { Hub } from '../server/hub';
import { finalAddress } from '../test/helpers/yoto-cloud-stand-in';
import { adapterLogin, HOUSE_ADMIN, houseLogin, startTestHub, stopTestHub } from '../test/helpers/test-hub';
import { until } from './measure';
import { benchPlayers } from './players';
import type { YotoCloudStarted } from './yoto-cloud-process';

export type FleetHubCommand =
  | { type: 'start'; players: number; adapterLogins: number; cloud?: YotoCloudStarted['settings'] }
  | { type: 'usage' }
  | { type: 'stop' };

export interface FleetHubStarted {
  type: 'started';
  url: string;
  brokerUrl: string;
  deviceIds: string[];
  /** Logins of the Yoto side of the embedded broker (may publish as players), one per publisher. */
  adapterLogins: Array<{ username: string; password: string; clientId: string }>;
  /** The house's login (reads the bridge's topics). */
  house: { username: string; password: string };
}

export interface FleetHubUsage {
  type: 'usage';
  /** process.cpuUsage() now, microseconds (user + system). */
  cpuMicros: number;
  rssBytes: number;
  heapUsedBytes: number;
  /** Bytes queued on the WebSocket clients' sockets, the largest and all together. */
  wsBufferedMax: number;
  wsBufferedTotal: number;
  wsMessagesSent: number;
  wsClients: number;
  wsClosedForBackpressure: number;
  /** The event loop's delay since the last reading (perf_hooks histogram, 10 ms resolution), p99 and max, ms. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** Garbage collection pauses since the last reading: the longest and all together, ms. */
  gcPauseMaxMs: number;
  gcPauseTotalMs: number;
}

const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
/** Garbage collection pauses since the last reading, ms; the collections the readings force are left out. */
let gcPauses: number[] = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const flags = (entry as PerformanceEntry & { detail?: { flags?: number } }).detail?.flags ?? 0;
    if ((flags & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) === 0) gcPauses.push(entry.duration);
  }
}).observe({ entryTypes: ['gc'] });

let hub: Hub | undefined;

/**
 * BENCH_ALLOC_PROF=<file>: V8's sampling heap profiler from the start of the measured part to the stop,
 * counting objects collected since (what the hub allocates, not only what it keeps), written as a .heapprofile.
 */
const allocationProfile = process.env['BENCH_ALLOC_PROF'];
let profiler: Session | undefined;

function post<T>(session: Session, method: string, params: object = {}): Promise<T> {
  return new Promise((resolve, reject) => session.post(method, params, (error, result) => (error ? reject(error) : resolve(result as T))));
}

async function startAllocationProfile(): Promise<void> {
  if (!allocationProfile) return;
  profiler = new Session();
  profiler.connect();
  await post(profiler, 'HeapProfiler.startSampling', { samplingInterval: 16_384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
}

async function writeAllocationProfile(): Promise<void> {
  if (!profiler || !allocationProfile) return;
  const { profile } = await post<{ profile: object }>(profiler, 'HeapProfiler.stopSampling');
  fs.writeFileSync(allocationProfile, JSON.stringify(profile));
  profiler.disconnect();
}

/** The house admin signs the hub in to the Yoto cloud as a user does: the link, the browser's final address pasted back. */
async function signIn(signingIn: Hub): Promise<void> {
  const call = async <T>(route: string, body: object, token?: string): Promise<T> => {
    const answer = await fetch(`${signingIn.url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
    if (!answer.ok) throw new Error(`${route} answered ${answer.status}: ${await answer.text()}`);
    return (await answer.json()) as T;
  };
  const { accessToken } = await call<{ accessToken: string }>('/api/auth/login', { email: HOUSE_ADMIN.email, password: HOUSE_ADMIN.password });
  const link = await call<{ url: string }>('/api/system/cloud/sign-in', {}, accessToken);
  await call('/api/system/cloud/sign-in/complete', { url: await finalAddress(link.url) }, accessToken);
  await signingIn.cloud.mqtt!.whenConnected();
}

function reply(message: FleetHubStarted | FleetHubUsage | { type: 'stopped' } | { type: 'error'; message: string }): void {
  process.send?.(message);
}

function usage(): FleetHubUsage {
  const delay = { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 };
  const pauses = gcPauses.sort((a, b) => a - b);
  gcPauses = [];
  // The fleet bench starts this process with --expose-gc: memory is read after a full collection, so
  // what it shows is what the hub holds, not garbage not collected yet. That collection is the bench's
  // own pause: the delay it causes is sampled once the loop runs again, so the next window starts after it.
  (globalThis as { gc?: () => void }).gc?.();
  setTimeout(() => loopDelay.reset(), 50);
  const cpu = process.cpuUsage();
  const memory = process.memoryUsage();
  let max = 0;
  let total = 0;
  for (const client of hub!.http.wss.clients) {
    max = Math.max(max, client.bufferedAmount);
    total += client.bufferedAmount;
  }
  const stats = hub!.realtime.stats();
  return {
    type: 'usage',
    cpuMicros: cpu.user + cpu.system,
    rssBytes: memory.rss,
    heapUsedBytes: memory.heapUsed,
    wsBufferedMax: max,
    wsBufferedTotal: total,
    wsMessagesSent: stats.messagesSent,
    wsClients: stats.clients,
    wsClosedForBackpressure: stats.closedForBackpressure,
    loopDelayP99Ms: delay.p99,
    loopDelayMaxMs: delay.max,
    gcPauseMaxMs: pauses.at(-1) ?? 0,
    gcPauseTotalMs: pauses.reduce((sum, pause) => sum + pause, 0),
  };
}

process.on('message', (command: FleetHubCommand) => {
  const work = async (): Promise<void> => {
    switch (command.type) {
      case 'start': {
        const players = benchPlayers(command.players);
        hub = command.cloud ? await startTestHub(command.cloud) : await startTestHub({}, { cloud: { virtual: { players } } });
        const started = hub;
        const house = await houseLogin(started);
        if (command.cloud) await signIn(started);
        await until(`${command.players} players online`, () => started.devices.list().filter((device) => device.online).length >= command.players, 300_000);
        // Online comes from the virtual cloud's device list; the adapter subscribes to each player's topics and asks
        // for its status after that. Measuring starts once it has, so following the fleet is not in the figures.
        await until(`the adapter following ${command.players} players`, () => (started.cloud.mqtt?.stats().statusRequests ?? 0) >= command.players, 300_000);
        await startAllocationProfile();
        reply({
          type: 'started',
          url: hub.url,
          brokerUrl: hub.embeddedBroker!.url,
          deviceIds: players.map((player) => player.deviceId),
          adapterLogins: command.cloud ? [] : Array.from({ length: command.adapterLogins }, () => adapterLogin(started)),
          house,
        });
        return;
      }
      case 'usage':
        return reply(usage());
      case 'stop':
        await writeAllocationProfile();
        await stopTestHub(hub);
        hub = undefined;
        reply({ type: 'stopped' });
        process.disconnect();
        return;
    }
  };
  work().catch((error: unknown) => reply({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) }));
});
// The bench gone without a stop (it failed or was killed): stop the hub too, leaving no process behind.
process.on('disconnect', () => {
  void stopTestHub(hub).finally(() => process.exit(0));
});
