/**
 * A publisher process for the saturation benches (bench/saturation.ts forks
 * several): it plays players sending volume changes on
 * `device/<id>/data/events`, as fast as it is told, so the publishing side is
 * not what limits the consumer being measured. Each message changes its
 * player's volume (5, 9, 5, ...), so each one is a normalized event.
 */
import mqtt, { type MqttClient } from 'mqtt';

export interface PublisherInit {
  type: 'init';
  url: string;
  username?: string;
  password?: string;
  clientId?: string;
  /** This process's players; every message goes to the next one in turn. */
  devices: string[];
}

export interface PublisherBurst {
  type: 'burst';
  /** Messages per second this process publishes. */
  rate: number;
  durationMs: number;
}

export type PublisherCommand = PublisherInit | PublisherBurst | { type: 'stop' };
export type PublisherReply = { type: 'ready' } | { type: 'done'; sent: number; ms: number } | { type: 'error'; message: string };

/** Publishing ticks: each publishes the messages due since the start of the burst. */
const TICK_MS = 5;

let client: MqttClient | undefined;
let devices: string[] = [];
let sequence = 0;
const lastVolume = new Map<string, number>();

function reply(message: PublisherReply): void {
  process.send?.(message);
}

function publishOne(written?: () => void): void {
  const deviceId = devices[sequence % devices.length]!;
  const volume = lastVolume.get(deviceId) === 5 ? 9 : 5;
  lastVolume.set(deviceId, volume);
  client!.publish(`device/${deviceId}/data/events`, JSON.stringify({ volume, volumeMax: 16, eventUtc: 1_795_000_000 + sequence }), { qos: 0 }, written);
  sequence++;
}

async function burst(rate: number, durationMs: number): Promise<void> {
  const started = performance.now();
  let sent = 0;
  const total = Math.round((rate * durationMs) / 1000);
  let lastWritten: Promise<void> = Promise.resolve();
  while (sent < total) {
    const due = Math.min(total, Math.ceil(((performance.now() - started) / 1000) * rate));
    while (sent < due - 1) {
      publishOne();
      sent++;
    }
    // QoS 0: a message is out once mqtt.js handed it to the socket.
    if (sent < due) {
      lastWritten = new Promise<void>((resolve) => publishOne(resolve));
      sent++;
    }
    await new Promise((resolve) => setTimeout(resolve, TICK_MS));
  }
  await lastWritten;
  reply({ type: 'done', sent, ms: performance.now() - started });
}

process.on('message', (command: PublisherCommand) => {
  const work = async (): Promise<void> => {
    switch (command.type) {
      case 'init':
        devices = command.devices;
        client = await mqtt.connectAsync(command.url, {
          ...(command.username !== undefined ? { username: command.username, password: command.password ?? '' } : {}),
          ...(command.clientId !== undefined ? { clientId: command.clientId } : {}),
          reconnectPeriod: 0,
        });
        reply({ type: 'ready' });
        return;
      case 'burst':
        return burst(command.rate, command.durationMs);
      case 'stop':
        await client?.endAsync();
        process.disconnect();
        return;
    }
  };
  work().catch((error: unknown) => reply({ type: 'error', message: error instanceof Error ? error.message : String(error) }));
});
