/**
 * The fleet bench's WebSocket clients other than the one that reads every frame, in a process of their own:
 * 99 clients at 1,000 players receive about 170 MB a second, work that would otherwise share the event loop
 * of the process that times the probe players' messages (the raw subscriber, the house subscriber and the
 * reading client), and so delay what it measures. They count frames and bytes; the parent asks for the counts.
 */
import { openFleetClient, type FleetClient, type FleetClientAt } from './fleet-client';

export type FleetClientsCommand = { type: 'open'; clients: FleetClientAt[] } | { type: 'counts' } | { type: 'stop' };
export type FleetClientsReply =
  | { type: 'opened' }
  | { type: 'counts'; frames: number[]; bytes: number[] }
  | { type: 'stopped' }
  | { type: 'error'; message: string };

let clients: FleetClient[] = [];

function reply(message: FleetClientsReply): void {
  process.send?.(message);
}

process.on('message', (command: FleetClientsCommand) => {
  const work = async (): Promise<void> => {
    switch (command.type) {
      case 'open':
        clients = await Promise.all(command.clients.map((at) => openFleetClient(at)));
        return reply({ type: 'opened' });
      case 'counts':
        return reply({ type: 'counts', frames: clients.map((c) => c.frames), bytes: clients.map((c) => c.bytes) });
      case 'stop':
        for (const client of clients) client.ws.terminate();
        reply({ type: 'stopped' });
        process.disconnect();
        return;
    }
  };
  work().catch((error: unknown) => reply({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) }));
});
// The bench gone (killed or failed): close too.
process.on('disconnect', () => {
  for (const client of clients) client.ws.terminate();
});
