/**
 * A hub in a process of its own, configured by the environment as a deployed one is
 * (YOTO_* variables, as deploy/compose.yaml sets them): the cluster suite runs several
 * and kills them. Tells its parent `{type:'ready', url}` once it serves, stops on
 * `{type:'stop'}` or SIGTERM. No Node-RED: just the hub.
 */
import * as path from 'node:path';
import * as os from 'node:os';
import { resolveHubOptions } from '../../server/config/hub-options';
import { Hub } from '../../server/hub';
import { createLogger, isLogLevel } from '../../server/log/logger';

async function main(): Promise<void> {
  const options = resolveHubOptions({}, path.join(os.tmpdir(), 'yoto-hub-process'), process.env);
  const level = process.env['YOTO_LOG_LEVEL'];
  const hub = new Hub(options, { logger: createLogger({ level: isLogLevel(level) ? level : 'warn', fields: { instance: options.cluster?.instanceId ?? 'hub' } }), env: process.env });
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= hub.stop().then(() => process.exit(0));
    return stopping;
  };
  process.on('SIGTERM', () => void stop());
  // The parent went away (a crashed test or bench): stop rather than linger.
  process.on('disconnect', () => void stop());
  process.on('message', (message: { type?: string }) => {
    if (message?.type === 'stop') void stop();
  });
  await hub.start();
  process.send?.({ type: 'ready', url: hub.url });
}

main().catch((error: unknown) => {
  process.stderr.write(`hub process failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
