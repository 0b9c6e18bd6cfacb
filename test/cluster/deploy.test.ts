import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { ENV, resolveHubOptions } from '../../server/config/hub-options';
import { ensureNginx } from '../helpers/nginx';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';

const DEPLOY = path.join(__dirname, '..', '..', '..', 'deploy');

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  environment?: Record<string, string | number>;
  volumes?: string[];
  ports?: string[];
  expose?: string[];
  depends_on?: Record<string, unknown> | string[];
  command?: string[];
  healthcheck?: unknown;
}

/** Environment variables the hub reads outside hub-options (the admin created at start, server/accounts). */
const ACCOUNT_VARIABLES = ['YOTO_ADMIN_EMAIL', 'YOTO_ADMIN_PASSWORD', 'YOTO_ADMIN_NAME'];

/** `${NAME:?message}` / `${NAME:-default}` as docker compose fills them in from deploy/.env.example. */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(/\$\{([A-Z_][A-Z0-9_]*)(?::[-?][^}]*)?\}/g, (_match, name: string) => env[name] ?? '');
}

function readEnvExample(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of fs.readFileSync(path.join(DEPLOY, '.env.example'), 'utf8').split('\n')) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) env[match[1]!] = match[2]!;
  }
  return env;
}

/**
 * deploy/ on paper: docker cannot run here, so the compose file is parsed and checked against the
 * hub's own settings, and nginx (Debian's) checks the shipped configuration with `nginx -t`.
 */
describe('deploy/: the compose file and the nginx configuration', () => {
  const compose = parse(fs.readFileSync(path.join(DEPLOY, 'compose.yaml'), 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };
  const services = compose.services;
  const hubs = Object.entries(services).filter(([, service]) => service.build?.dockerfile === 'deploy/Dockerfile');
  const envExample = readEnvExample();
  const network = compose as unknown as { networks?: { default?: { ipam?: { config?: Array<{ subnet?: string }> } } } };
  const NGINX_ADDRESS = (services['nginx'] as unknown as { networks?: { default?: { ipv4_address?: string } } }).networks?.default?.ipv4_address;

  after(removeTempDirs);

  it('runs PostgreSQL, Redis, MinIO, Mosquitto, nginx and at least two hubs built from deploy/Dockerfile', () => {
    for (const name of ['postgres', 'redis', 'minio', 'mosquitto', 'nginx']) expect(services, name).to.have.property(name);
    expect(hubs.length).to.be.at.least(2);
    expect(fs.existsSync(path.join(DEPLOY, 'Dockerfile'))).to.equal(true);
  });

  it('gives nginx a fixed address on the compose network, in its subnet', () => {
    expect(NGINX_ADDRESS).to.be.a('string');
    const subnet = network.networks?.default?.ipam?.config?.[0]?.subnet ?? '';
    expect(NGINX_ADDRESS!.split('.').slice(0, 3).join('.')).to.equal(subnet.split('/')[0]!.split('.').slice(0, 3).join('.'));
  });

  it('gives every hub only settings the hub reads, and settings it accepts', () => {
    const known = new Set<string>([...Object.values(ENV), ...ACCOUNT_VARIABLES]);
    for (const [name, hub] of hubs) {
      const environment = Object.fromEntries(Object.entries(hub.environment ?? {}).map(([key, value]) => [key, interpolate(String(value), envExample)]));
      for (const key of Object.keys(environment)) expect(known.has(key), `${name}: ${key} is a setting of the hub`).to.equal(true);
      const options = resolveHubOptions({}, '/data', environment);
      expect(options.cluster?.redisUrl, `${name} joins the cluster`).to.match(/^redis:\/\/redis:6379/);
      expect(options.broker.url, `${name} uses the shared home broker`).to.equal('mqtt://mosquitto:1883');
      expect(options.http).to.include({ host: '0.0.0.0', port: 1881 });
      expect(hub.expose).to.include(String(options.http.port));
      // The hubs believe X-Forwarded-For from nginx's fixed address only.
      expect(options.http.trustedProxies, `${name} trusts nginx`).to.deep.equal([NGINX_ADDRESS]);
    }
    const ids = hubs.map(([, hub]) => hub.environment?.['YOTO_INSTANCE_ID']);
    expect(new Set(ids).size, 'every hub has its own instance id').to.equal(hubs.length);
    // The other instances reach each one at its service name (a follower forwards cloud requests to the leader).
    for (const [name, hub] of hubs) expect(hub.environment?.['YOTO_INSTANCE_URL'], name).to.equal(`http://${name}:1881`);
    const volumes = hubs.map(([, hub]) => hub.volumes?.[0]?.split(':')[0]);
    expect(new Set(volumes).size, 'every hub has its own data volume').to.equal(hubs.length);
  });

  it('points the hubs at the services that are there, on their ports', () => {
    const [, hub] = hubs[0]!;
    const environment = hub.environment ?? {};
    const hostOf = (url: string): { host: string; port: string } => {
      const parsed = new URL(interpolate(url, envExample));
      return { host: parsed.hostname, port: parsed.port };
    };
    expect(hostOf(String(environment['YOTO_REDIS_URL']))).to.deep.equal({ host: 'redis', port: '6379' });
    expect(hostOf(String(environment['YOTO_BROKER_URL']))).to.deep.equal({ host: 'mosquitto', port: '1883' });
    expect(fs.readFileSync(path.join(DEPLOY, 'mosquitto', 'mosquitto.conf'), 'utf8')).to.match(/^listener 1883$/m);
    const database = environment['YOTO_DATABASE_URL'];
    if (database !== undefined) expect(hostOf(String(database))).to.deep.equal({ host: 'postgres', port: '5432' });
    expect(String(environment['YOTO_OBJECT_STORE_URL'] ?? '')).to.include('endpoint=http://minio:9000');
    for (const dependency of ['postgres', 'redis', 'minio', 'mosquitto']) expect(hub.depends_on, dependency).to.have.property(dependency);
    // Every file compose mounts from deploy/ is there.
    for (const [name, service] of Object.entries(services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!;
        if (source.startsWith('./')) expect(fs.existsSync(path.join(DEPLOY, source)), `${name} mounts ${source}`).to.equal(true);
      }
    }
  });

  it('lists exactly the compose hubs in nginx upstream, on the port they listen on', () => {
    const conf = fs.readFileSync(path.join(DEPLOY, 'nginx', 'nginx.conf'), 'utf8');
    const upstream = /upstream yoto_hubs \{([^}]*)\}/.exec(conf)?.[1] ?? '';
    const servers = [...upstream.matchAll(/server ([a-z0-9-]+):(\d+)/g)].map((match) => `${match[1]}:${match[2]}`);
    expect(servers.sort()).to.deep.equal(hubs.map(([name]) => `${name}:1881`).sort());
  });

  it('passes nginx -t with the TLS server, WebSocket upgrade and Range pass-through as shipped', async () => {
    const nginx = ensureNginx();
    const dir = await makeTempDir('deploy-nginx');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=yoto.example.org', '-keyout', path.join(dir, 'hub.key'), '-out', path.join(dir, 'hub.crt')], { stdio: 'ignore' });
    const conf = fs
      .readFileSync(path.join(DEPLOY, 'nginx', 'nginx.conf'), 'utf8')
      .replace(/server hub(\d+):1881/g, 'server 127.0.0.1:1881')
      .replace('/etc/nginx/tls/HUB_HOSTNAME.crt', path.join(dir, 'hub.crt'))
      .replace('/etc/nginx/tls/HUB_HOSTNAME.key', path.join(dir, 'hub.key'))
      .replace('/etc/nginx/yoto-hub-locations.conf', path.join(DEPLOY, 'nginx', 'yoto-hub-locations.conf'));
    fs.writeFileSync(path.join(dir, 'nginx.conf'), conf);
    const output = execFileSync(nginx, ['-t', '-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log'), '-g', `pid ${path.join(dir, 'nginx.pid')};`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(output).to.equal('');
    const locations = fs.readFileSync(path.join(DEPLOY, 'nginx', 'yoto-hub-locations.conf'), 'utf8');
    expect(locations).to.match(/location = \/ws \{[^}]*proxy_set_header Upgrade \$http_upgrade;/);
    expect(locations).to.match(/location \/stream\/ \{[^}]*proxy_set_header Range \$http_range;/);
  });
});
