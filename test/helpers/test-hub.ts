import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveHubOptions, type HubSettings } from '../../server/config/hub-options';
import { Hub, type HubDependencies } from '../../server/hub';
import { silentLogger } from '../../server/log/logger';
import { mqttUsername } from '../../server/yoto/protocol';

/**
 * A hub on free ports with a throwaway data directory. The environment is
 * ignored so a developer's YOTO_* variables cannot change a test.
 */
export async function startTestHub(settings: HubSettings = {}, deps: Pick<HubDependencies, 'cloud' | 'logger' | 'clock'> = {}): Promise<Hub> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'yoto-hub-test-'));
  const options = resolveHubOptions({ httpPort: 0, embeddedBrokerPort: 0, virtualCloudPort: 0, signInPort: 0, ...settings }, dataDir, {});
  const hub = new Hub(options, { logger: silentLogger, env: {}, ...deps });
  await hub.start();
  await hub.broker.whenConnected();
  return hub;
}

export async function stopTestHub(hub: Hub | undefined): Promise<void> {
  if (!hub) return;
  await hub.stop();
  fs.rmSync(hub.options.dataDir, { recursive: true, force: true });
}

export const HOUSE_ADMIN = { email: 'house-admin@example.org', password: 'correct horse battery staple' } as const;

/**
 * The embedded broker's login of an admin of the hub (created now when the hub has no user yet):
 * what a house's MQTT client (Home Assistant, a flow) uses to read and command every player.
 */
export async function houseLogin(hub: Hub): Promise<{ username: string; password: string }> {
  const { created } = await hub.accounts.ensureAdmin({ email: HOUSE_ADMIN.email, password: HOUSE_ADMIN.password, name: 'House' });
  if (!created && !hub.store.users.list().some((user) => user.email === HOUSE_ADMIN.email)) {
    throw new Error('houseLogin() needs a hub with no user yet, or one where it already made the house admin');
  }
  return { username: HOUSE_ADMIN.email, password: HOUSE_ADMIN.password };
}

/**
 * A login of the Yoto side of the embedded broker (allowed to publish device/...): the Yoto cloud's
 * user name form with the live virtual-cloud access token the hub signed in with.
 */
export function adapterLogin(hub: Hub): { username: string; password: string; clientId: string } {
  const tokens = JSON.parse(fs.readFileSync(path.join(hub.options.dataDir, 'virtual-cloud', 'hub-tokens.json'), 'utf8')) as { accessToken: string };
  const clientId = `test-device-${process.pid}-${Math.random().toString(16).slice(2, 8)}`;
  return { username: mqttUsername(clientId), password: tokens.accessToken, clientId };
}
