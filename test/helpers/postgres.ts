import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { freePort } from './free-port';

const BIN_DIRS = ['/usr/lib/postgresql/15/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/17/bin'];

const PREFIX = 'yoto-postgres-';
/** The test process a cluster belongs to: one whose owner is gone (killed with SIGKILL, so no exit handler ran) is an orphan. */
const OWNER_FILE = 'owner.pid';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Stops and deletes the clusters of test processes that died without stopping them. */
function sweepOrphans(): void {
  for (const name of fs.readdirSync(os.tmpdir())) {
    if (!name.startsWith(PREFIX)) continue;
    const dir = path.join(os.tmpdir(), name);
    const read = (file: string): number => Number.parseInt(fs.readFileSync(file, 'utf8').split('\n')[0] ?? '', 10);
    try {
      const owner = read(path.join(dir, OWNER_FILE));
      if (!Number.isInteger(owner) || alive(owner)) continue;
      const postmaster = path.join(dir, 'data', 'postmaster.pid');
      if (fs.existsSync(postmaster)) {
        const server = read(postmaster);
        if (Number.isInteger(server) && alive(server)) process.kill(server, 'SIGQUIT');
      }
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // Not ours to judge (no owner file yet, or another process is sweeping it): leave it.
    }
  }
}

export interface PostgresServer {
  /** postgres://postgres@127.0.0.1:<port>/postgres (trust authentication on loopback). */
  url: string;
  port: number;
  /** Creates an empty database and resolves to its URL: one per suite or test keeps them apart. */
  createDatabase(name?: string): Promise<string>;
  /** Stops the server process (fast shutdown) and keeps its data: the database is down until resume(). */
  halt(): Promise<void>;
  /** Starts the halted server again on the same port, with the same data. */
  resume(): Promise<void>;
  /** Stops the server (fast shutdown) and deletes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

export function postgresBinDir(): string {
  const found = BIN_DIRS.find((dir) => fs.existsSync(path.join(dir, 'initdb')));
  if (!found) throw new Error('PostgreSQL is not installed: run "sudo apt-get install postgresql" (npm test installs it when run as root)');
  return found;
}

/** PostgreSQL refuses to run as root: as root, the cluster belongs to (and runs as) the postgres system user. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/**
 * A throwaway PostgreSQL cluster (initdb in a temp folder) on a free loopback port, made for
 * tests: no fsync (unless `durable`), trust authentication, the socket in its own folder.
 * Resolves once the server says it accepts connections.
 */
export async function startPostgres(options: { durable?: boolean } = {}): Promise<PostgresServer> {
  const bin = postgresBinDir();
  const owner = runAs();
  sweepOrphans();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), PREFIX));
  fs.writeFileSync(path.join(dir, OWNER_FILE), String(process.pid));
  const dataDir = path.join(dir, 'data');
  if (owner) fs.chownSync(dir, owner.uid, owner.gid);
  const spawnOptions = { ...(owner ?? {}), env: { ...process.env, LC_ALL: 'C', LANG: 'C' }, cwd: dir };
  try {
    execFileSync(path.join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'], { ...spawnOptions, stdio: 'pipe' });
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  let child: ChildProcess | undefined;
  let port = 0;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      child = await launch(path.join(bin, 'postgres'), dataDir, dir, port, spawnOptions, options.durable === true);
      break;
    } catch (error) {
      if (attempt >= 5 || !/could not bind|Address already in use/i.test((error as Error).message)) {
        fs.rmSync(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }

  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  // A test process that ends without stop() (a crash, ^C) must not leave a server running.
  let server = child!;
  const killOnExit = (): void => {
    server.kill('SIGQUIT');
  };
  const halt = async (): Promise<void> => {
    if (server.exitCode !== null || server.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
    // SIGINT: fast shutdown (clients are disconnected, no waiting for them).
    server.kill('SIGINT');
    await exited;
  };
  process.once('exit', killOnExit);
  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    async createDatabase(name = `test_${randomBytes(6).toString('hex')}`) {
      const client = new Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name}"`);
      } finally {
        await client.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    halt,
    async resume() {
      if (server.exitCode === null && server.signalCode === null) return;
      server = await launch(path.join(bin, 'postgres'), dataDir, dir, port, spawnOptions, options.durable === true);
    },
    stop() {
      stopping ??= (async () => {
        process.off('exit', killOnExit);
        await halt();
        fs.rmSync(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}

function launch(postgres: string, dataDir: string, socketDir: string, port: number, options: object, durable: boolean): Promise<ChildProcess> {
  const args = [
    '-D', dataDir,
    '-p', String(port),
    '-k', socketDir,
    '-c', 'listen_addresses=127.0.0.1',
    '-c', 'max_connections=200',
    // Tests need no durability across a power cut; `durable` (benchmarks) keeps PostgreSQL's defaults.
    ...(durable ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
  ];
  const child = spawn(postgres, args, { ...options, stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise<ChildProcess>((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes('database system is ready to accept connections')) {
        child.stderr!.off('data', onData);
        // Keep draining the log so the server never blocks on a full pipe.
        child.stderr!.resume();
        child.off('exit', onExit);
        resolve(child);
      }
    };
    const onExit = (): void => reject(new Error(`postgres exited before accepting connections:\n${output}`));
    child.stderr!.on('data', onData);
    child.once('exit', onExit);
    child.once('error', reject);
  });
}
