/**
 * The fleet on one hub instance and on two behind nginx (README "Several hub instances"),
 * at the same load: hub processes configured as deploy/compose.yaml runs them (Redis, a shared
 * Mosquitto home broker, nginx with deploy/nginx's locations; test/helpers/hub-cluster.ts),
 * the leader's virtual cloud with 100 players, publisher processes playing those players
 * (volume changes on `device/<id>/data/events`, as fast as told), and WebSocket clients through
 * nginx subscribed to `device.*` (round robin: half of them on each instance when there are two).
 * Measured: WebSocket messages delivered per second over all clients, against what was offered,
 * and the CPU time of each hub process; the ratio two/one of delivered throughput.
 * Run alone: npm run bench -- fleet-cluster (BENCH_FLEET_SECONDS shortens the measured time).
 */
import * as fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { virtualFleetSpecs } from '../../server/virtual/contracts';
import { CLUSTER_ADMIN, startHubCluster } from '../../test/helpers/hub-cluster';
import { runWhenMain, type BenchResult } from '../bench-result';
import { interleaved, medianResults, round } from '../measure';
import { PublisherPool } from '../saturation';

const RUN = {
  players: 100,
  /** Volume changes per second over all players. */
  eventsPerSecond: 1500,
  /** One admin holds at most 20 connections per instance: 20 clients fit one instance. */
  clients: 20,
  warmupSeconds: 5,
  measuredSeconds: Number(process.env['BENCH_FLEET_SECONDS'] ?? 20),
  publishers: 2,
  runs: 3,
} as const;

interface SetupResult {
  deliveredPerSecond: number;
  offeredPerSecond: number;
  /** Clients the hub closed (1013: they read too slowly, through nginx) before the end of the measured time. */
  closed: number;
  /** Each hub process's CPU time over the measured wall time (share of one core), in instance order. */
  cpuShares: number[];
}

/** utime + stime of a process, in milliseconds (Linux /proc; 100 ticks a second). */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function runSetup(instances: 1 | 2): Promise<SetupResult> {
  const cluster = await startHubCluster({ names: instances === 1 ? ['a'] : ['a', 'b'], players: RUN.players });
  const sockets: WebSocket[] = [];
  let pool: PublisherPool | undefined;
  try {
    const login = await fetch(`${cluster.nginx.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(CLUSTER_ADMIN) });
    const { accessToken } = (await login.json()) as { accessToken: string };
    let frames = 0;
    let closed = 0;
    for (let i = 0; i < RUN.clients; i++) {
      const ws = new WebSocket(`${cluster.nginx.url.replace(/^http/, 'ws')}/ws`, ['bearer', accessToken]);
      sockets.push(ws);
      await new Promise<void>((resolve, reject) => {
        ws.once('error', reject);
        ws.once('open', () => ws.send(JSON.stringify({ type: 'subscribe', topic: 'device.*' })));
        const onMessage = (data: Buffer): void => {
          if (!data.toString().includes('"subscribed"')) return;
          ws.off('message', onMessage);
          ws.on('message', () => frames++);
          ws.once('close', () => closed++);
          resolve();
        };
        ws.on('message', onMessage);
      });
    }
    const devices = virtualFleetSpecs(RUN.players).map((spec) => spec.deviceId);
    pool = await PublisherPool.start(RUN.publishers, { url: cluster.mosquitto.url }, devices);
    const publishing = pool.burst(RUN.eventsPerSecond, (RUN.warmupSeconds + RUN.measuredSeconds) * 1000).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, RUN.warmupSeconds * 1000));
    const hubs = [...cluster.hubs.values()];
    const cpuBefore = hubs.map((hub) => cpuMs(hub.pid));
    const framesBefore = frames;
    const startedAt = performance.now();
    await new Promise((resolve) => setTimeout(resolve, RUN.measuredSeconds * 1000));
    const wallMs = performance.now() - startedAt;
    const delivered = frames - framesBefore;
    const cpuShares = hubs.map((hub, i) => round((cpuMs(hub.pid) - cpuBefore[i]!) / wallMs, 2));
    const closedDuringRun = closed;
    await pool.kill();
    pool = undefined;
    await publishing;
    // A volume change is a device.status and a device.event to each client.
    return { deliveredPerSecond: Math.round(delivered / (wallMs / 1000)), offeredPerSecond: RUN.eventsPerSecond * 2 * RUN.clients, closed: closedDuringRun, cpuShares };
  } finally {
    for (const ws of sockets) ws.terminate();
    await pool?.stop();
    await cluster.stop();
  }
}

export async function run(): Promise<BenchResult> {
  const runs = await interleaved({ one: () => runSetup(1), two: () => runSetup(2) }, RUN.runs);
  const delivered = medianResults('deliveredPerSecond', { one: runs.one.map((r) => r.deliveredPerSecond), two: runs.two.map((r) => r.deliveredPerSecond) }, 0);
  const results: Record<string, number | string> = {
    players: RUN.players,
    eventsPerSecond: RUN.eventsPerSecond,
    clients: RUN.clients,
    measuredSeconds: RUN.measuredSeconds,
    offeredPerSecond: runs.one[0]!.offeredPerSecond,
    ...delivered.results,
    cpuSharesOneRuns: runs.one.map((r) => r.cpuShares.join('/')).join(' '),
    cpuSharesTwoRuns: runs.two.map((r) => r.cpuShares.join('/')).join(' '),
    clientsClosedOneRuns: runs.one.map((r) => r.closed).join(' '),
    clientsClosedTwoRuns: runs.two.map((r) => r.closed).join(' '),
  };
  return {
    name: 'fleet-cluster',
    description: `The fleet on one hub instance and on two behind nginx, same load: ${RUN.players} virtual players, ${RUN.eventsPerSecond} volume changes/s from ${RUN.publishers} publisher processes on a shared Mosquitto, ${RUN.clients} WebSocket clients through nginx subscribed to device.*, Redis between the instances; ${RUN.measuredSeconds} s measured after ${RUN.warmupSeconds} s, ${RUN.runs} runs of each interleaved (median).`,
    results,
    ratios: {
      twoOverOneDelivered: round(delivered.medians.two / delivered.medians.one, 2),
      oneDeliveredOverOffered: round(delivered.medians.one / runs.one[0]!.offeredPerSecond, 2),
      twoDeliveredOverOffered: round(delivered.medians.two / runs.two[0]!.offeredPerSecond, 2),
    },
    notes: [
      'Goal (issue 17): two/one >= 1.8 at the same p99. Only the leader ingests the players\' messages (one cloud connection); followers share the WebSocket fan-out, so the gain is bounded by the fan-out\'s share of the work.',
      'cpuShares: each hub process\'s CPU time over wall time (leader first); on a 2-core machine the publishers, Mosquitto, Redis, nginx and the clients compete for the same cores: see machine.loadAtStart.',
      'Until the store runs on PostgreSQL the instances share one data directory; one admin holds every connection (20 per instance at most).',
    ],
  };
}

runWhenMain(module, run);
