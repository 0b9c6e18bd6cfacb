/**
 * A WebSocket client of the fleet bench, as the panel connects: subscribed to `device.*` with batches
 * (one frame per turn of the hub). It counts frames and bytes; `onFrame`, when given, also reads them.
 * Used by the bench (the client that reads every frame) and by bench/fleet-clients-process.ts (the others).
 */
import { WebSocket } from 'ws';

export interface FleetClientAt {
  /** The hub's WebSocket address (ws://host:port/ws). */
  wsUrl: string;
  /** An admin's access token (the bearer subprotocol). */
  token: string;
  /** The loopback address to connect from (the gateway limits connections per address). */
  localAddress: string;
}

export interface FleetClient {
  ws: WebSocket;
  frames: number;
  bytes: number;
}

/** Opens the client; resolves once the hub has answered its subscription. */
export function openFleetClient(at: FleetClientAt, onFrame?: (data: Buffer) => void): Promise<FleetClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(at.wsUrl, ['bearer', at.token], { localAddress: at.localAddress });
    const client: FleetClient = { ws, frames: 0, bytes: 0 };
    ws.on('message', (data: Buffer) => {
      client.frames++;
      client.bytes += data.length;
      onFrame?.(data);
    });
    ws.once('error', reject);
    ws.once('open', () => {
      ws.send(JSON.stringify({ type: 'options', batch: true }));
      ws.send(JSON.stringify({ type: 'subscribe', topic: 'device.*' }));
    });
    const onSubscribed = (data: Buffer): void => {
      if (!data.toString().includes('"subscribed"')) return;
      ws.off('message', onSubscribed);
      resolve(client);
    };
    ws.on('message', onSubscribed);
  });
}
