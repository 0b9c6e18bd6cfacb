import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { expect } from 'chai';
import { packageRoot } from '../../server/paths';
import { freePorts } from '../helpers/free-port';
import { startNodeFlags } from '../helpers/start-flags';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';
import { ADMIN_ENV, signIn } from './client';

/**
 * The product as `npm start` runs it: `node <its flags> dist/scripts/start.js` in its own process, with the
 * README's environment variables choosing free ports, a fresh Node-RED user directory and a
 * fresh data directory. The suite sees only what a user sees: the printed addresses, the log,
 * HTTP, MQTT and WebSockets. Nothing inside the process is reached into or replaced.
 */
export interface Product {
  nodeRedUrl: string;
  hubUrl: string;
  virtualCloudUrl: string;
  brokerUrl: string;
  brokerPort: number;
  userDir: string;
  dataDir: string;
  /** Everything the process printed so far (stdout and stderr), line by line. */
  readonly output: string[];
  /** Resolves with the first printed line that matches (lines already printed count). */
  line(match: RegExp): Promise<string>;
  /** Ctrl-C, as a user stops it (or `signal`, as a service manager does); resolves with the exit code once the process is gone. */
  stop(signal?: 'SIGINT' | 'SIGTERM'): Promise<number | null>;
  /** The started process's id (npm's, started through npm: then also its process group's). */
  readonly pid: number;
}

export interface StartOptions {
  /** More environment variables (YOTO_ADMIN_EMAIL, YOTO_BROKER_URL...). */
  env?: Record<string, string>;
  /** Reuse these directories (a restart); fresh ones by default. */
  userDir?: string;
  dataDir?: string;
  /** Started as the README says, `npm start` (npm, then its start script), instead of the script's node command itself. */
  throughNpm?: boolean;
}

/** npm as the test run's own npm runs it (npm_execpath under `npm test`), else the one on PATH. */
function npmCommand(): { command: string; args: string[] } {
  const cli = process.env['npm_execpath'];
  return cli && /npm-cli\.js$/.test(cli) ? { command: process.execPath, args: [cli] } : { command: 'npm', args: [] };
}

/** The environment without the developer's own YOTO_* / NODE_RED_* settings, so they cannot change a test. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('YOTO_') && !key.startsWith('NODE_RED_')) env[key] = value;
  return env;
}

export async function startProduct(options: StartOptions = {}): Promise<Product> {
  const userDir = options.userDir ?? (await makeTempDir('contract-userdir'));
  const dataDir = options.dataDir ?? (await makeTempDir('contract-data'));
  const [nodeRedPort, hubPort, cloudPort, brokerPort, signInPort] = (await freePorts(5)) as [number, number, number, number, number];
  const npm = npmCommand();
  const [command, args] = options.throughNpm ? [npm.command, [...npm.args, 'start']] : [process.execPath, [...startNodeFlags(), path.join(packageRoot, 'dist', 'scripts', 'start.js')]];
  const child: ChildProcess = spawn(command, args, {
    cwd: packageRoot,
    env: {
      ...cleanEnv(),
      NODE_RED_PORT: String(nodeRedPort),
      NODE_RED_USER_DIR: userDir,
      YOTO_HUB_PORT: String(hubPort),
      YOTO_VIRTUAL_CLOUD_PORT: String(cloudPort),
      YOTO_BROKER_PORT: String(brokerPort),
      YOTO_SIGNIN_PORT: String(signInPort),
      YOTO_DATA_DIR: dataDir,
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Through npm, a process group of its own: what a failed test leaves behind can be ended together (`-pid`).
    detached: options.throughNpm === true,
  });
  const output: string[] = [];
  const waiters: Array<{ match: RegExp; resolve: (line: string) => void }> = [];
  let exit: Promise<number | null> | undefined;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const onText = (stream: NodeJS.ReadableStream): void => {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const text of lines) {
        output.push(text);
        for (const waiter of [...waiters]) {
          if (waiter.match.test(text)) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve(text);
          }
        }
      }
    });
  };
  onText(child.stdout!);
  onText(child.stderr!);
  const line = (match: RegExp): Promise<string> => {
    const seen = output.find((text) => match.test(text));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve) => waiters.push({ match, resolve }));
  };
  const product: Product = {
    nodeRedUrl: `http://127.0.0.1:${nodeRedPort}`,
    hubUrl: `http://127.0.0.1:${hubPort}`,
    virtualCloudUrl: `http://127.0.0.1:${cloudPort}`,
    brokerUrl: `mqtt://127.0.0.1:${brokerPort}`,
    brokerPort,
    userDir,
    dataDir,
    output,
    line,
    pid: child.pid!,
    stop(signal = 'SIGINT') {
      exit ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        return exited;
      })();
      return exit;
    },
  };
  // Ready when the flows' yoto-hub says its hub runs (or the process gives up).
  const ready = await Promise.race([
    line(/Yoto hub running at /).then(() => true),
    line(/npm start failed|Yoto hub failed to start|Yoto hub settings are invalid/).then(() => false),
    exited.then(() => false),
  ]);
  if (!ready) {
    await product.stop();
    throw new Error(`the product did not start:\n${output.join('\n')}`);
  }
  return product;
}

/**
 * One product for a describe block: started (with YOTO_ADMIN_EMAIL's admin signed in) before its
 * tests, stopped by Ctrl-C after them, which must end it cleanly (exit code 0). `options` may be
 * a function, read when the product starts (after the hooks registered before this call).
 */
export function useProduct(options: StartOptions | (() => StartOptions) = {}): { product(): Product; token(): string } {
  let product: Product | undefined;
  let token: string | undefined;
  before(async () => {
    const chosen = typeof options === 'function' ? options() : options;
    product = await startProduct({ ...chosen, env: { ...ADMIN_ENV, ...chosen.env } });
    token = await signIn(product.hubUrl);
  });
  after(async () => {
    if (product) expect(await product.stop(), 'Ctrl-C stops it cleanly').to.equal(0);
    await removeTempDirs();
  });
  return {
    product: () => product ?? expect.fail('the product did not start'),
    token: () => token ?? expect.fail('no admin signed in'),
  };
}
