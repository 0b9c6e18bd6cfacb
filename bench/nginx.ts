/**
 * nginx as the physical reference for file serving: the Debian package
 * (installed here when missing and running as root with apt-get, as
 * scripts/ensure-system-deps.sh does for the tests' packages), started on a
 * free loopback port with a generated configuration: one worker (the hub is
 * one Node.js thread), sendfile, no access log.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, isListening } from '../test/helpers/free-port';
import { until } from './measure';

const BINARY = '/usr/sbin/nginx';

/** Installs the Debian package when nginx is missing and this process may (root, apt-get); throws how to install it otherwise. */
export function ensureNginx(): string {
  if (fs.existsSync(BINARY)) return BINARY;
  const canInstall = process.getuid?.() === 0 && fs.existsSync('/usr/bin/apt-get');
  if (!canInstall) throw new Error('nginx is not installed: run "sudo apt-get install -y nginx" (npm run bench installs it when run as root)');
  process.stdout.write('bench: installing the Debian package nginx (the file-serving reference)\n');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { env, stdio: 'ignore' });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'nginx'], { env, stdio: 'ignore' });
  if (!fs.existsSync(BINARY)) throw new Error('apt-get install nginx did not install /usr/sbin/nginx');
  return BINARY;
}

/** nginx serving the files of `root` on 127.0.0.1. */
export class NginxServer {
  private constructor(private readonly child: ChildProcess, private readonly dir: string, readonly port: number) {}

  static async start(root: string): Promise<NginxServer> {
    const binary = ensureNginx();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yoto-bench-nginx-'));
    // Workers run as nobody when the master is root: they must be able to read the files.
    for (let at = root; at !== path.dirname(at) && at.startsWith(os.tmpdir()) && at !== os.tmpdir(); at = path.dirname(at)) fs.chmodSync(at, 0o755);
    const port = await freePort();
    const temp = (name: string): string => `${name}_temp_path ${path.join(dir, name)};`;
    fs.writeFileSync(path.join(dir, 'nginx.conf'), [
      'daemon off;',
      'worker_processes 1;',
      `pid ${path.join(dir, 'nginx.pid')};`,
      `error_log ${path.join(dir, 'error.log')} warn;`,
      'events { worker_connections 1024; }',
      'http {',
      '  access_log off;',
      `  ${temp('client_body')} ${temp('proxy')} ${temp('fastcgi')} ${temp('uwsgi')} ${temp('scgi')}`,
      '  sendfile on; tcp_nopush on; tcp_nodelay on;',
      '  keepalive_requests 1000000; keepalive_timeout 60s;',
      '  types { audio/wav wav; audio/mpeg mp3; }',
      `  server { listen 127.0.0.1:${port}; root ${root}; location / { } }`,
      '}',
      '',
    ].join('\n'));
    const child = spawn(binary, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log')], { stdio: 'ignore' });
    let exited = false;
    child.once('exit', () => (exited = true));
    const server = new NginxServer(child, dir, port);
    let listening = false;
    await until('nginx to listen', () => {
      if (exited) throw new Error(`nginx exited: ${fs.readFileSync(path.join(dir, 'error.log'), 'utf8')}`);
      void isListening(port).then((yes) => (listening ||= yes));
      return listening;
    }, 10_000);
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
