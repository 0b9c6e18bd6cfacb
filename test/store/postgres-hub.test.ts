import { expect } from 'chai';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { resolveHubOptions } from '../../server/config/hub-options';
import { Hub } from '../../server/hub';
import { silentLogger } from '../../server/log/logger';
import type { DeviceEvent } from '../../server/store';
import { call, createResources, KIDS, onboardAdmin, type Resources } from '../hub/api-world';
import { startPostgres, type PostgresServer } from '../helpers/postgres';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';

const run = promisify(execFile);
const MIGRATE_CLI = path.join(__dirname, '..', '..', 'server', 'store', 'migrate-cli.js');
const ADMIN = { email: 'admin@example.org', name: 'Admin', password: 'correct horse battery' };

/** The hub as `npm start` builds it, on free ports, over `dataDir`, with YOTO_DATABASE_URL when given. */
async function startHub(dataDir: string, databaseUrl?: string): Promise<Hub> {
  const env = databaseUrl ? { YOTO_DATABASE_URL: databaseUrl } : {};
  const options = resolveHubOptions({ httpPort: 0, embeddedBrokerPort: 0, virtualCloudPort: 0, signInPort: 0 }, dataDir, env);
  const hub = new Hub(options, { logger: silentLogger, env: {} });
  await hub.start();
  return hub;
}

async function signIn(hub: Hub): Promise<string> {
  const answer = await call(hub, 'POST', '/api/auth/login', undefined, { email: ADMIN.email, password: ADMIN.password });
  expect(answer.status, answer.text).to.equal(200);
  return (answer.json as { accessToken: string }).accessToken;
}

/** Sets the player's volume through the API and resolves once the hub has logged the change. */
async function changeVolume(hub: Hub, token: string, volume: number): Promise<DeviceEvent> {
  const logged = new Promise<DeviceEvent>((resolve) => {
    hub.devices.bus.on('test', 'event', (event) => {
      if (event.deviceId !== KIDS || event.type !== 'volume_changed') return;
      hub.devices.bus.off('test');
      resolve(event);
    });
  });
  const answer = await call(hub, 'POST', `/api/devices/${KIDS}/command`, token, { command: 'volume', volume });
  expect(answer.status, answer.text).to.equal(200);
  const event = await logged;
  await hub.store.events.flush();
  return event;
}

interface Served {
  audio: unknown;
  files: Record<string, string>;
  scripts: unknown;
  stories: unknown;
  events: DeviceEvent[];
}

/** Everything a user sees of their content through REST (audio bytes as base64). */
async function served(hub: Hub, token: string): Promise<Served> {
  const get = async (url: string): Promise<unknown> => {
    const answer = await call(hub, 'GET', url, token);
    expect(answer.status, `${url}: ${answer.text}`).to.equal(200);
    return answer.json;
  };
  const audio = (await get('/api/audio')) as { items: Array<{ id: string }> };
  const files: Record<string, string> = {};
  for (const item of audio.items) {
    const response = await fetch(`${hub.url}/api/audio/${item.id}/download`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).to.equal(200);
    files[item.id] = Buffer.from(await response.arrayBuffer()).toString('base64');
  }
  const events = ((await get(`/api/devices/${KIDS}/events?limit=500`)) as { events: DeviceEvent[] }).events;
  return { audio, files, scripts: await get('/api/scripts'), stories: await get('/api/stories'), events };
}

describe('hub on PostgreSQL (YOTO_DATABASE_URL)', function () {
  this.timeout(180_000);
  let server: PostgresServer;
  let hub: Hub | undefined;

  before(async () => {
    server = await startPostgres();
  });
  afterEach(async () => {
    await hub?.stop();
    hub = undefined;
  });
  after(async () => {
    await server.stop();
    await removeTempDirs();
  });

  it('keeps scripts, stories, audio and events in PostgreSQL and serves them after a restart', async () => {
    const dataDir = await makeTempDir('pg-hub');
    const url = await server.createDatabase();
    hub = await startHub(dataDir, url);
    expect(hub.store.backend).to.equal('postgres');
    const admin = await onboardAdmin(hub, ADMIN);
    const resources: Resources = await createResources(hub, admin.accessToken, 'pg', true);
    const volume = await changeVolume(hub, admin.accessToken, 23);
    const before = await served(hub, admin.accessToken);
    expect(before.events.map((e) => e.id)).to.include(volume.id);
    expect(fs.existsSync(path.join(dataDir, 'db.json')), 'no db.json: records are in PostgreSQL').to.equal(false);

    const volumeChanges = async (token: string): Promise<number | undefined> => {
      const overview = await call(hub!, 'GET', '/api/analytics/overview', token);
      expect(overview.status, overview.text).to.equal(200);
      return (overview.json as { eventsByType: Record<string, number> }).eventsByType['volume_changed'];
    };
    const countedBefore = await volumeChanges(admin.accessToken);
    expect(countedBefore).to.be.at.least(1);

    await hub.stop();
    hub = await startHub(dataDir, url);
    const token = await signIn(hub);
    // The analytics rollups are rebuilt at start from the counts PostgreSQL makes of device_events.
    expect(await volumeChanges(token)).to.equal(countedBefore);
    const after = await served(hub, token);
    expect(after.scripts).to.deep.equal(before.scripts);
    expect(after.stories).to.deep.equal(before.stories);
    expect(after.audio).to.deep.equal(before.audio);
    expect(after.files).to.deep.equal(before.files);
    expect(Object.keys(after.files)).to.include(resources.fileId);
    // The restarted hub may log new events (the player coming online): every earlier one is still served, in order.
    expect(after.events.map((e) => e.id).filter((id) => before.events.some((e) => e.id === id))).to.deep.equal(before.events.map((e) => e.id));
  });

  it('a database lost under a running hub: 503 store_unavailable, health says why, nothing refused is kept, and it recovers', async () => {
    const dataDir = await makeTempDir('pg-hub-outage');
    hub = await startHub(dataDir, await server.createDatabase());
    const admin = await onboardAdmin(hub, ADMIN);
    const { fileId } = await createResources(hub, admin.accessToken, 'outage', false);
    const script = (name: string): Promise<Awaited<ReturnType<typeof call>>> =>
      call(hub!, 'POST', '/api/scripts', admin.accessToken, { name, type: 'simple', definition: { audioFileId: fileId } });
    expect((await script('kept')).status).to.equal(201);

    await server.halt();
    for (const answer of [await call(hub, 'GET', '/api/scripts', admin.accessToken), await script('refused')]) {
      expect(answer.status, answer.text).to.equal(503);
      expect(answer.json).to.have.nested.property('error.code', 'store_unavailable');
      expect(answer.text).to.not.include('127.0.0.1');
    }
    // 503 with the report: a load balancer takes the instance out, an admin reads why.
    const health = await call(hub, 'GET', '/api/system/health', admin.accessToken);
    expect(health.status).to.equal(503);
    expect(health.json).to.have.nested.property('components.store.status', 'error');
    expect(health.json).to.have.nested.property('components.store.error').that.matches(/database cannot be reached/);

    await server.resume();
    const names = async (): Promise<string[]> => {
      const answer = await call(hub!, 'GET', '/api/scripts', admin.accessToken);
      expect(answer.status, answer.text).to.equal(200);
      return (answer.json as { items: Array<{ name: string }> }).items.map((item) => item.name);
    };
    expect(await names()).to.include('kept').and.not.include('refused');
    expect((await script('after')).status).to.equal(201);
    expect(await names()).to.include.members(['kept', 'after']);
    const healthy = await call(hub, 'GET', '/api/system/health', admin.accessToken);
    expect(healthy.json).to.have.nested.property('components.store.status', 'ok');
  });

  it('serves every file, script, story and event an embedded data folder had, once migrated into PostgreSQL', async () => {
    const dataDir = await makeTempDir('pg-hub-migrated');
    hub = await startHub(dataDir);
    expect(hub.store.backend).to.equal('embedded');
    const admin = await onboardAdmin(hub, ADMIN);
    await createResources(hub, admin.accessToken, 'migrated', true);
    await changeVolume(hub, admin.accessToken, 27);
    const before = await served(hub, admin.accessToken);
    await hub.stop();
    hub = undefined;

    const url = await server.createDatabase();
    await run(process.execPath, [MIGRATE_CLI, '--from', dataDir, '--to', url]);
    hub = await startHub(dataDir, url);
    expect(hub.store.backend).to.equal('postgres');
    const after = await served(hub, await signIn(hub));
    expect(after.scripts).to.deep.equal(before.scripts);
    expect(after.stories).to.deep.equal(before.stories);
    expect(after.audio).to.deep.equal(before.audio);
    expect(after.files).to.deep.equal(before.files);
    expect(after.events.map((e) => e.id).filter((id) => before.events.some((e) => e.id === id))).to.deep.equal(before.events.map((e) => e.id));
    expect(before.events.length).to.be.greaterThan(0);
  });
});
