#!/usr/bin/env node
/**
 * `yoto-hub-server` (`npx yoto-hub-server`, `node dist/server/cli.js`): the hub
 * without Node-RED. The same settings as the yoto-hub node and `npm start`:
 * the YOTO_* environment variables, then what the panel saved in the data
 * directory (hub-config.json), then the defaults; a few of them also as
 * command-line options, which win. Node-RED flows reach it with a yoto-hub
 * node in "Remote hub" mode (URL + API token).
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { HubConfigError, type HubSettings } from './config/hub-options';
import { resolveHubOptionsWithSaved } from './config/saved-config';
import { Hub } from './hub';
import { createLogger } from './log/logger';
import { packageRoot, packageVersion } from './paths';

const HELP = `Usage: yoto-hub-server [options]

Runs the Yoto Smart Stream hub (REST API, WebSocket, panel, home broker
bridge, virtual or real Yoto cloud) without Node-RED.

Options:
  --data-dir <dir>   where the hub keeps its data (YOTO_DATA_DIR; default <package>/.data)
  --host <address>   address the hub listens on (YOTO_HUB_HOST; default 127.0.0.1)
  --port <port>      port of the panel, API and WebSocket (YOTO_HUB_PORT; default 1881; 0: any free port)
  --log-level <lvl>  debug, info, warn or error (YOTO_LOG_LEVEL; default info)
  -v, --version      print the version and exit
  -h, --help         print this help and exit

Every other setting comes from the environment, as for "npm start" (README
"Configuration"): YOTO_BROKER_URL, YOTO_CLOUD, YOTO_CLIENT_ID, YOTO_ADMIN_EMAIL,
YOTO_ADMIN_PASSWORD, ...

Stop it with Ctrl-C (SIGINT) or SIGTERM: every part stops and the process
exits with 0 (a second Ctrl-C ends it at once). Bad settings exit with 2,
a failed start with 1.`;

/** Exit codes: 0 stopped cleanly, 1 failed to start or to stop, 2 bad command line or settings. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export interface CliArguments {
  help: boolean;
  version: boolean;
  settings: HubSettings;
}

/** Reads the command line; throws HubConfigError for an unknown option or a missing value. */
export function parseCliArguments(argv: readonly string[]): CliArguments {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw new HubConfigError(`${error instanceof Error ? error.message : String(error)} (see --help)`);
  }
  const { values } = parsed;
  const settings: HubSettings = {};
  if (values['data-dir'] !== undefined) settings.dataDir = values['data-dir'];
  if (values.host !== undefined) settings.httpHost = values.host;
  if (values.port !== undefined) settings.httpPort = values.port;
  if (values['log-level'] !== undefined) settings.logLevel = values['log-level'];
  return { help: values.help === true, version: values.version === true, settings };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      'data-dir': { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'log-level': { type: 'string' },
      version: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

async function main(): Promise<number> {
  let args: CliArguments;
  let hub: Hub;
  const startupLogger = createLogger({ level: 'info', fields: { component: 'cli' } });
  try {
    args = parseCliArguments(process.argv.slice(2));
    if (args.help) {
      process.stdout.write(HELP + '\n');
      return EXIT.ok;
    }
    if (args.version) {
      process.stdout.write(packageVersion() + '\n');
      return EXIT.ok;
    }
    const options = resolveHubOptionsWithSaved(args.settings, path.join(packageRoot, '.data'), process.env, startupLogger);
    hub = new Hub(options, { logger: createLogger({ level: options.logLevel, fields: { component: 'hub' } }) });
  } catch (error) {
    process.stderr.write(`yoto-hub-server: ${error instanceof HubConfigError ? 'bad settings: ' : ''}${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.usage;
  }

  // Signals are handled from the start, so a stop asked for while starting waits for the start, then stops.
  const stopped = new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      process.stdout.write(`${signal}: stopping the hub...\n`);
      hub.stop().then(
        () => {
          process.stdout.write('stopped.\n');
          resolve(EXIT.ok);
        },
        (error: unknown) => {
          process.stderr.write(`yoto-hub-server: failed to stop cleanly: ${error instanceof Error ? error.message : String(error)}\n`);
          resolve(EXIT.failed);
        },
      );
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

  try {
    await hub.start();
  } catch (error) {
    process.stderr.write(`yoto-hub-server: the hub did not start: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.failed;
  }
  // Stopped by a signal while it started: nothing to announce.
  if (hub.state !== 'running') return stopped;
  const { options } = hub;
  const broker = options.broker.url ?? `${hub.embeddedBroker?.url ?? ''} (embedded)`;
  process.stdout.write(
    [
      '',
      `Yoto hub server ${packageVersion()} is running:`,
      `  Panel + API + WebSocket  ${hub.url}/   (health: ${hub.url}/api/system/health)`,
      `  Home broker              ${broker}`,
      `  Data directory           ${options.dataDir}`,
      'Press Ctrl-C to stop.',
      '',
    ].join('\n') + '\n',
  );
  return stopped;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`yoto-hub-server: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(EXIT.failed);
    },
  );
}
