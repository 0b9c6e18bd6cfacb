/**
 * `npm start`: Node-RED embedded on 127.0.0.1:1880 with a git-ignored user
 * directory, this package loaded from the checkout, and on first start the
 * demo flows of flows/ deployed. The flows' yoto-hub starts the hub server
 * (1881) and, with no YOTO_BROKER_URL, an embedded MQTT broker (1883).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import RED from 'node-red';
import { DEFAULTS, ENV } from '../server/config/hub-options';
import { flowsDir, packageRoot } from '../server/paths';
import { linkPackage } from './link-package';

interface StartConfig {
  host: string;
  port: number;
  userDir: string;
}

function readConfig(env: NodeJS.ProcessEnv): StartConfig {
  const port = Number(env.NODE_RED_PORT ?? 1880);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`NODE_RED_PORT must be a port number, got "${env.NODE_RED_PORT}"`);
  }
  return {
    host: env.NODE_RED_HOST ?? '127.0.0.1',
    port,
    userDir: path.resolve(env.NODE_RED_USER_DIR ?? path.join(packageRoot, '.node-red')),
  };
}

/** On first start, the user directory gets the demo flows of flows/. */
function seedFlows(userDir: string): boolean {
  const flowFile = path.join(userDir, 'flows.json');
  if (fs.existsSync(flowFile)) return false;
  const flows: unknown[] = [];
  for (const file of fs.readdirSync(flowsDir).filter((f) => f.endsWith('.json')).sort()) {
    const content: unknown = JSON.parse(fs.readFileSync(path.join(flowsDir, file), 'utf8'));
    if (!Array.isArray(content)) throw new Error(`flows/${file} must hold an array of nodes`);
    flows.push(...content);
  }
  fs.writeFileSync(flowFile, JSON.stringify(flows, null, 2) + '\n');
  return true;
}

const NODE_RED_LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'off'] as const;
type NodeRedLogLevel = (typeof NODE_RED_LOG_LEVELS)[number];

function nodeRedLogLevel(value: string | undefined): NodeRedLogLevel {
  if (value === undefined) return 'info';
  if ((NODE_RED_LOG_LEVELS as readonly string[]).includes(value)) return value as NodeRedLogLevel;
  throw new Error(`NODE_RED_LOG_LEVEL must be one of ${NODE_RED_LOG_LEVELS.join(', ')}, got "${value}"`);
}

async function main(): Promise<void> {
  const config = readConfig(process.env);
  process.env[ENV.dataDir] ??= path.join(packageRoot, '.data');
  fs.mkdirSync(config.userDir, { recursive: true });
  linkPackage(config.userDir);
  const seeded = seedFlows(config.userDir);

  // The outer app comes from Node-RED's own Express (4.x): its HTTP-in nodes reach into
  // Express 4 internals of the app they are mounted on, and the hub's Express 5 differs there.
  const nodeRedExpress = createRequire(require.resolve('node-red'))('express') as typeof import('express');
  const app = nodeRedExpress();
  const server = http.createServer(app);
  const settings = {
    userDir: config.userDir,
    flowFile: 'flows.json',
    uiHost: config.host,
    uiPort: config.port,
    httpAdminRoot: '/',
    httpNodeRoot: '/',
    functionGlobalContext: {},
    // The hub logs through Node-RED's log: YOTO_LOG_LEVEL=debug would print nothing more at Node-RED's default level.
    logging: { console: { level: nodeRedLogLevel(process.env.NODE_RED_LOG_LEVEL ?? (process.env[ENV.logLevel] === 'debug' ? 'debug' : undefined)), metrics: false, audit: false } },
    editorTheme: { projects: { enabled: false }, tours: false },
  };
  RED.init(server, settings);
  app.use(settings.httpAdminRoot, RED.httpAdmin);
  app.use(settings.httpNodeRoot, RED.httpNode);

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new Error(error.code === 'EADDRINUSE' ? `port ${config.port} is in use; set NODE_RED_PORT` : error.message)),
    );
    server.listen(config.port, config.host, () => resolve());
  });
  await RED.start();

  const hubHost = process.env[ENV.httpHost] ?? DEFAULTS.httpHost;
  const hubPort = process.env[ENV.httpPort] ?? String(DEFAULTS.httpPort);
  const broker = process.env[ENV.brokerUrl] ?? `mqtt://${process.env[ENV.embeddedBrokerHost] ?? DEFAULTS.embeddedBrokerHost}:${process.env[ENV.embeddedBrokerPort] ?? DEFAULTS.embeddedBrokerPort} (embedded)`;
  const lines = [
    '',
    'Yoto Smart Stream is running:',
    `  Node-RED editor  http://${config.host}:${config.port}/`,
    `  Hub panel + API  http://${hubHost}:${hubPort}/   (health: /api/system/health)`,
    `  Home broker      ${broker}`,
    `  User directory   ${config.userDir}${seeded ? '   (demo flows deployed)' : ''}`,
    `  Data directory   ${process.env[ENV.dataDir]}`,
    'Press Ctrl-C to stop.',
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\n${signal}: stopping Node-RED and the hub...\n`);
    RED.stop()
      .then(() => new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }))
      .then(() => {
        process.stdout.write('stopped.\n');
        process.exit(0);
      }, (error: unknown) => {
        process.stderr.write(`failed to stop cleanly: ${String(error)}\n`);
        process.exit(1);
      });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  process.stderr.write(`npm start failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
