import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveHubOptions, type HubSettings } from '../../server/config/hub-options';
import { Hub, type HubDependencies } from '../../server/hub';
import { silentLogger } from '../../server/log/logger';

/**
 * A hub on free ports with a throwaway data directory. The environment is
 * ignored so a developer's YOTO_* variables cannot change a test.
 */
export async function startTestHub(settings: HubSettings = {}, deps: Pick<HubDependencies, 'cloud' | 'logger'> = {}): Promise<Hub> {
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
