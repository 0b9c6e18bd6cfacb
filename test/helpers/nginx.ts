/**
 * Debian's nginx on a free loopback port with a generated configuration, for
 * the tests (several hub instances behind nginx) and the bench (the file-serving
 * reference). Installed when missing and this process may (root with apt-get),
 * as scripts/ensure-system-deps.sh does for the tests' packages.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, isListening } from './free-port';

const BINARY = '/usr/sbin/nginx';

/** Where deploy/nginx/ is (the hub's locations file the tests include as it ships). */
export const DEPLOY_NGINX_DIR = path.join(__dirname, '..', '..', '..', 'deploy', 'nginx');

/** Installs the Debian package when nginx is missing and this process may (root, apt-get); throws how to install it otherwise. */
export function ensureNginx(): string {
  if (fs.existsSync(BINARY)) return BINARY;
  const canInstall = process.getuid?.() === 0 && fs.existsSync('/usr/bin/apt-get');
  if (!canInstall) throw new Error('nginx is not installed: run "sudo apt-get install -y nginx" (npm test and npm run bench install it when run as root)');
  process.stdout.write('installing the Debian package nginx\n');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { env, stdio: 'ignore' });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'nginx'], { env, stdio: 'ignore' });
  if (!fs.existsSync(BINARY)) throw new Error('apt-get install nginx did not install /usr/sbin/nginx');
  return BINARY;
}

export interface NginxOptions {
  /** Lines inside `http { }` before the server block (upstreams, maps). */
  http?: string[];
  /** Lines inside the `server { }` block that listens on the chosen port. */
  server: string[];
  /** Worker processes; default 1. */
  workers?: number;
}

/** nginx in the foreground on 127.0.0.1:<free port>, its configuration and logs in a temporary folder. */
export class NginxServer {
  private constructor(
    private readonly child: ChildProcess,
    readonly dir: string,
    readonly port: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(options: NginxOptions): Promise<NginxServer> {
    const binary = ensureNginx();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yoto-nginx-'));
    const port = await freePort();
    const temp = (name: string): string => `${name}_temp_path ${path.join(dir, name)};`;
    const config = path.join(dir, 'nginx.conf');
    fs.writeFileSync(
      config,
      [
        'daemon off;',
        `worker_processes ${options.workers ?? 1};`,
        `pid ${path.join(dir, 'nginx.pid')};`,
        `error_log ${path.join(dir, 'error.log')} warn;`,
        'events { worker_connections 4096; }',
        'http {',
        '  access_log off;',
        `  ${temp('client_body')} ${temp('proxy')} ${temp('fastcgi')} ${temp('uwsgi')} ${temp('scgi')}`,
        ...(options.http ?? []).map((line) => `  ${line}`),
        `  server {`,
        `    listen 127.0.0.1:${port};`,
        ...options.server.map((line) => `    ${line}`),
        '  }',
        '}',
        '',
      ].join('\n'),
    );
    const errorLog = path.join(dir, 'error.log');
    const child = spawn(binary, ['-p', dir, '-c', config, '-e', errorLog], { stdio: 'ignore' });
    let exited = false;
    child.once('exit', () => (exited = true));
    const server = new NginxServer(child, dir, port);
    const deadline = Date.now() + 10_000;
    while (!(await isListening(port))) {
      if (exited) throw new Error(`nginx exited: ${fs.existsSync(errorLog) ? fs.readFileSync(errorLog, 'utf8') : 'no error log'}`);
      if (Date.now() > deadline) {
        await server.stop();
        throw new Error('nginx did not listen within 10 s');
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return server;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * nginx in front of hub instances as deploy/nginx/nginx.conf puts it (the same locations
 * file, its `$connection_upgrade` map, a round-robin upstream), on plain HTTP.
 */
export function startHubProxy(hubPorts: readonly number[], workers = 1): Promise<NginxServer> {
  return NginxServer.start({
    workers,
    http: [
      'map $http_upgrade $connection_upgrade { default upgrade; \'\' \'\'; }',
      `upstream yoto_hubs { ${hubPorts.map((port) => `server 127.0.0.1:${port} max_fails=2 fail_timeout=5s;`).join(' ')} keepalive 32; }`,
    ],
    server: [`include ${path.join(DEPLOY_NGINX_DIR, 'yoto-hub-locations.conf')};`],
  });
}

/** nginx serving the files of `root` (the bench's file-serving reference): sendfile, no access log. */
export function startStaticNginx(root: string): Promise<NginxServer> {
  // Workers run as nobody when the master is root: they must be able to read the files.
  for (let at = root; at !== path.dirname(at) && at.startsWith(os.tmpdir()) && at !== os.tmpdir(); at = path.dirname(at)) fs.chmodSync(at, 0o755);
  return NginxServer.start({
    http: ['sendfile on; tcp_nopush on; tcp_nodelay on;', 'keepalive_requests 1000000; keepalive_timeout 60s;', 'types { audio/wav wav; audio/mpeg mp3; }'],
    server: [`root ${root};`, 'location / { }'],
  });
}
