import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { packageRoot } from '../../server/paths';
import { RemoteHubClient } from '../../server/remote/remote-hub-client';
import { freePorts } from '../helpers/free-port';

const CLI = path.join(packageRoot, 'dist', 'server', 'cli.js');

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once stdout holds `text`. */
  printed(text: string): Promise<void>;
}

/** The CLI as a user runs it, with only the environment given (no developer YOTO_* variables). */
function run(args: string[], env: Record<string, string>): Run {
  const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const watchers: Array<{ text: string; resolve: () => void }> = [];
  const onData = (chunk: Buffer): void => {
    out += String(chunk);
    for (const watcher of watchers.filter((w) => out.includes(w.text))) {
      watchers.splice(watchers.indexOf(watcher), 1);
      watcher.resolve();
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    output: () => out,
    exited,
    printed: (text) =>
      out.includes(text)
        ? Promise.resolve()
        : Promise.race([
            new Promise<void>((resolve) => watchers.push({ text, resolve })),
            exited.then(({ code }) => {
              throw new Error(`the CLI exited (${code}) before printing "${text}":\n${out}`);
            }),
          ]),
  };
}

describe('yoto-hub-server: the hub without Node-RED', function () {
  let dataDir: string;
  const children: ChildProcess[] = [];

  /** The CLI on free ports with the test's data directory, once it says it runs; `--port` given on the command line. */
  async function startServer(env: Record<string, string> = {}, dir = dataDir): Promise<{ cli: Run; hubPort: number }> {
    const [hubPort, brokerPort, cloudPort, signInPort] = await freePorts(4);
    const cli = run(['--port', String(hubPort)], {
      YOTO_DATA_DIR: dir,
      YOTO_BROKER_PORT: String(brokerPort),
      YOTO_VIRTUAL_CLOUD_PORT: String(cloudPort),
      YOTO_SIGNIN_PORT: String(signInPort),
      YOTO_LOG_LEVEL: 'warn',
      ...env,
    });
    children.push(cli.child);
    await cli.printed('Press Ctrl-C to stop.');
    return { cli, hubPort: hubPort! };
  }

  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'yoto-cli-test-'));
  });
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('is the package\'s bin', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(pkg.bin['yoto-hub-server']).to.equal('dist/server/cli.js');
    expect(fs.readFileSync(CLI, 'utf8').startsWith('#!/usr/bin/env node')).to.equal(true);
  });

  it('prints its help and exits 0', async () => {
    const cli = run(['--help'], {});
    children.push(cli.child);
    expect((await cli.exited).code).to.equal(0);
    expect(cli.output()).to.match(/^Usage: yoto-hub-server \[options\]/);
    expect(cli.output()).to.include('--data-dir');
  });

  it('starts a hub that answers its health route, and stops cleanly on SIGTERM', async () => {
    const { cli, hubPort } = await startServer();
    expect(cli.output()).to.include(`http://127.0.0.1:${hubPort}/`);
    const health = await fetch(`http://127.0.0.1:${hubPort}/api/system/health`);
    expect(health.status).to.equal(200);
    expect(((await health.json()) as { status: string }).status).to.be.oneOf(['ok', 'degraded', 'starting']);
    expect(fs.existsSync(path.join(dataDir, 'db.json')), 'the data directory is the one given').to.equal(true);

    cli.child.kill('SIGTERM');
    const { code } = await cli.exited;
    expect(code, cli.output()).to.equal(0);
    expect(cli.output()).to.include('SIGTERM: stopping the hub...');
    expect(cli.output()).to.include('stopped.');
    // The hub's port is closed: nothing answers there any more.
    const refused = await fetch(`http://127.0.0.1:${hubPort}/api/system/health`).then(
      () => false,
      () => true,
    );
    expect(refused).to.equal(true);
  });

  it('serves a remote hub client with an API token: the players over its WebSocket, commands over REST', async () => {
    const admin = { email: 'admin@example.org', password: 'a long enough secret' };
    const { cli, hubPort } = await startServer({ YOTO_ADMIN_EMAIL: admin.email, YOTO_ADMIN_PASSWORD: admin.password });
    const url = `http://127.0.0.1:${hubPort}`;
    const post = async (route: string, body: unknown, token?: string): Promise<Record<string, unknown>> => {
      const response = await fetch(url + route, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
      expect(response.status, route).to.be.within(200, 299);
      return (await response.json()) as Record<string, unknown>;
    };
    const { accessToken } = await post('/api/auth/login', admin);
    const { token } = await post('/api/auth/tokens', { name: 'remote test' }, String(accessToken));

    const client = new RemoteHubClient({ url, token: String(token) });
    try {
      const running = new Promise<void>((resolve) => client.on('state', (state) => state === 'running' && resolve()));
      client.start();
      await running;
      expect(client.devices.list().map((state) => state.name).sort()).to.deep.equal(['Kids Bedroom', 'Living Room', 'Playroom']);
      const playing = new Promise<void>((resolve) => {
        client.devices.bus.on(resolve, 'event', (event) => {
          if (event.deviceId === 'vliving0room0yoto0player' && event.type === 'playback_started') resolve();
        });
      });
      // Playback updates are coalesced by the hub: the mirror's state may follow the event a moment later.
      const mirrored = new Promise<void>((resolve) => {
        client.devices.bus.on('cli-test', 'state', (state) => {
          if (state.deviceId === 'vliving0room0yoto0player' && state.playback.state === 'playing' && state.playback.cardId === 'demo1') resolve();
        });
      });
      const result = await client.command('vliving0room0yoto0player', { command: 'play', card_id: 'demo1' });
      expect(result).to.include({ deviceId: 'vliving0room0yoto0player', command: 'play' });
      await Promise.all([playing, mirrored]);
    } finally {
      client.close();
    }
    cli.child.kill('SIGTERM');
    expect((await cli.exited).code, cli.output()).to.equal(0);
  });

  it('stops on SIGINT too', async () => {
    const { cli } = await startServer();
    cli.child.kill('SIGINT');
    expect((await cli.exited).code, cli.output()).to.equal(0);
  });

  it('exits 2 with a clear message on bad settings or an unknown option', async () => {
    const badPort = run([], { YOTO_DATA_DIR: dataDir, YOTO_HUB_PORT: 'eighty' });
    children.push(badPort.child);
    expect((await badPort.exited).code).to.equal(2);
    expect(badPort.output()).to.include('yoto-hub-server: bad settings: hub port must be a port number from 0 to 65535, got "eighty"');

    const badCloud = run(['--data-dir', dataDir], { YOTO_CLOUD: 'yoto' });
    children.push(badCloud.child);
    expect((await badCloud.exited).code).to.equal(2);
    expect(badCloud.output()).to.include('needs a Yoto client id (YOTO_CLIENT_ID)');

    const unknown = run(['--colour', 'blue'], {});
    children.push(unknown.child);
    expect((await unknown.exited).code).to.equal(2);
    expect(unknown.output()).to.match(/bad settings: Unknown option '--colour'.*see --help/);
  });

  it('exits 1 when the hub cannot start (its port is taken)', async () => {
    const { cli: first, hubPort } = await startServer();
    const [otherBroker, otherCloud, otherSignIn] = await freePorts(3);
    const otherDir = fs.mkdtempSync(path.join(os.tmpdir(), 'yoto-cli-test-'));
    try {
      const second = run(['--port', String(hubPort)], { YOTO_DATA_DIR: otherDir, YOTO_BROKER_PORT: String(otherBroker), YOTO_VIRTUAL_CLOUD_PORT: String(otherCloud), YOTO_SIGNIN_PORT: String(otherSignIn), YOTO_LOG_LEVEL: 'error' });
      children.push(second.child);
      expect((await second.exited).code, second.output()).to.equal(1);
      expect(second.output()).to.include('yoto-hub-server: the hub did not start');
    } finally {
      fs.rmSync(otherDir, { recursive: true, force: true });
    }
    first.child.kill('SIGTERM');
    expect((await first.exited).code).to.equal(0);
  });
});
