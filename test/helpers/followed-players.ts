import { DeviceRegistry } from '../../server/core/device-registry';
import { DEFAULT_VIRTUAL_PLAYERS } from '../../server/virtual/contracts';
import { YotoMqttClient } from '../../server/yoto/mqtt';

/** What a test stops when it ends, in reverse order. */
export type Stops = Array<() => Promise<void> | void>;

/** Resolves once `client` has its subscriptions for these players (call before setDevices). */
export function subscribed(client: YotoMqttClient, deviceIds: readonly string[]): Promise<void> {
  return new Promise((resolve) => {
    const pending = new Set(deviceIds);
    const onSubscribed = (ids: string[]): void => {
      for (const id of ids) pending.delete(id);
      if (pending.size > 0) return;
      client.off('subscribed', onSubscribed);
      resolve();
    };
    client.on('subscribed', onSubscribed);
  });
}

/**
 * The default virtual players followed as the hub's cloud adapter follows
 * them: a device registry fed by a YotoMqttClient on the cloud's broker at
 * `brokerUrl`. Resolves once every player's topics are subscribed; both
 * parts are put on `stops`.
 */
export async function followDefaultPlayers(brokerUrl: string, stops: Stops): Promise<{ registry: DeviceRegistry; client: YotoMqttClient }> {
  const ids = DEFAULT_VIRTUAL_PLAYERS.map((spec) => spec.deviceId);
  const registry = new DeviceRegistry();
  stops.push(() => registry.stop());
  registry.upsertDevices(DEFAULT_VIRTUAL_PLAYERS.map((spec) => ({ ...spec, online: true })));

  const client = new YotoMqttClient({ url: brokerUrl, tokenProvider: async () => 'virtual-token' });
  client.on('message', (message) => registry.ingest(message));
  const following = subscribed(client, ids);
  client.setDevices(ids);
  client.start();
  stops.push(async () => {
    client.removeAllListeners();
    await client.stop();
  });
  await following;
  return { registry, client };
}
