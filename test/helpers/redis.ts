import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RedisConnection } from '../../server/cluster/redis-connection';
import { freePort } from './free-port';

const CANDIDATES = ['/usr/bin/redis-server', '/usr/sbin/redis-server', '/usr/local/bin/redis-server'];

export function redisBinary(): string {
  const found = CANDIDATES.find((candidate) => fs.existsSync(candidate));
  if (!found) throw new Error('redis-server is not installed: run "sudo apt-get install redis-server" (npm test installs it when run as root)');
  return found;
}

/** A real Redis server (Debian's redis-server) on a free loopback port, in a temporary folder, persisting nothing. */
export class RedisServer {
  private child: ChildProcess | undefined;

  private constructor(
    private listenPort: number,
    private readonly dir: string,
  ) {}

  get port(): number {
    return this.listenPort;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.listenPort}`;
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** Starts on a port that was free a moment ago; another one is tried when something took it first. */
  static async start(): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), fs.mkdtempSync(path.join(os.tmpdir(), 'yoto-redis-')));
    for (let attempt = 1; ; attempt++) {
      try {
        await server.launch();
        return server;
      } catch (error) {
        if (attempt >= 5 || !/Address already in use/i.test((error as Error).message)) {
          fs.rmSync(server.dir, { recursive: true, force: true });
          throw error;
        }
        server.listenPort = await freePort();
      }
    }
  }

  private async launch(): Promise<void> {
    const args = ['--port', String(this.listenPort), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'notice', '--logfile', ''];
    const child = spawn(redisBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        output += chunk.toString();
        if (/Ready to accept connections/.test(output)) {
          child.stdout?.off('data', onData);
          child.off('exit', onExit);
          resolve();
        }
      };
      const onExit = (code: number | null): void => reject(new Error(`redis-server exited (${code}) before it was ready:\n${output}`));
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', onExit);
    });
    // Keep draining its output so the pipes never fill.
    child.stdout?.resume();
    child.stderr?.resume();
  }
}

/** A Redis server for one suite: `after(() => redis.stop())`. */
export function startRedis(): Promise<RedisServer> {
  return RedisServer.start();
}

/**
 * A fresh Redis server for each test of the calling suite, with connections to it; what a test
 * registers with `onStop` (and every connection) is stopped after it, last first, then the server.
 */
export function useRedis(): { url(): string; connection(): Promise<RedisConnection>; onStop(stop: () => Promise<void>): void; stopServer(): Promise<void> } {
  let server: RedisServer | undefined;
  const stops: Array<() => Promise<void>> = [];
  beforeEach(async () => {
    server = await startRedis();
  });
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
    await server?.stop();
    server = undefined;
  });
  const url = (): string => {
    if (!server) throw new Error('useRedis(): the server runs only within a test');
    return server.url;
  };
  return {
    url,
    async connection() {
      const opened = new RedisConnection(url());
      await opened.connect();
      stops.push(() => opened.close());
      return opened;
    },
    onStop(stop) {
      stops.push(stop);
    },
    /** Redis goes away in the middle of a test (the connections find it gone). */
    async stopServer() {
      const running = server;
      server = undefined;
      await running?.stop();
    },
  };
}
