/**
 * The hub of the fleet bench, in its own process so its CPU time and memory
 * are its own: started as `npm start` starts it (startTestHub: embedded
 * broker, store, registry, bridge, WebSocket gateway, analytics) with a
 * virtual cloud of `players` players. It answers the parent over IPC.
 */
import type { Hub } from '../server/hub';
import { adapterLogin, houseLogin, startTestHub, stopTestHub } from '../test/helpers/test-hub';
import { until } from './measure';
import { benchPlayers } from './players';

export type FleetHubCommand =
  | { type: 'start'; players: number; adapterLogins: number }
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
}

let hub: Hub | undefined;

function reply(message: FleetHubStarted | FleetHubUsage | { type: 'stopped' } | { type: 'error'; message: string }): void {
  process.send?.(message);
}

function usage(): FleetHubUsage {
  // The fleet bench starts this process with --expose-gc: memory is read after a full collection, so
  // what it shows is what the hub holds, not garbage not collected yet.
  (globalThis as { gc?: () => void }).gc?.();
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
  };
}

process.on('message', (command: FleetHubCommand) => {
  const work = async (): Promise<void> => {
    switch (command.type) {
      case 'start': {
        const players = benchPlayers(command.players);
        hub = await startTestHub({}, { cloud: { virtual: { players } } });
        const started = hub;
        await until(`${command.players} players online`, () => started.devices.list().filter((device) => device.online).length >= command.players, 300_000);
        // Online comes from the virtual cloud's device list; the adapter subscribes to each player's topics and asks
        // for its status after that. Measuring starts once it has, so following the fleet is not in the figures.
        await until(`the adapter following ${command.players} players`, () => (started.cloud.mqtt?.stats().statusRequests ?? 0) >= command.players, 300_000);
        reply({
          type: 'started',
          url: hub.url,
          brokerUrl: hub.embeddedBroker!.url,
          deviceIds: players.map((player) => player.deviceId),
          adapterLogins: Array.from({ length: command.adapterLogins }, () => adapterLogin(started)),
          house: await houseLogin(hub),
        });
        return;
      }
      case 'usage':
        return reply(usage());
      case 'stop':
        await stopTestHub(hub);
        reply({ type: 'stopped' });
        process.disconnect();
        return;
    }
  };
  work().catch((error: unknown) => reply({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) }));
});
