import type { MqttClient } from 'mqtt';

/**
 * Turns Nagle's algorithm off on a TCP connection. An ack published right
 * after a PUBACK otherwise waits for the peer's delayed ACK (~40 ms per hop),
 * which made every command round-trip take ~90 ms on localhost. WebSocket
 * streams have no such switch and are left as they are.
 */
export function sendWithoutDelay(client: MqttClient): void {
  const stream: unknown = client.stream;
  if (typeof stream === 'object' && stream !== null && 'setNoDelay' in stream && typeof stream.setNoDelay === 'function') {
    stream.setNoDelay(true);
  }
}
