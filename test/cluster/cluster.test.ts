import { expect } from 'chai';
import type { HealthReport } from '../../server/system/health';
import { DEFAULT_VIRTUAL_PLAYERS } from '../../server/virtual/contracts';
import { BrokerWatcher } from '../helpers/broker-watcher';
import { CLUSTER_ADMIN as ADMIN, startHubCluster, type HubCluster } from '../helpers/hub-cluster';
import { startPostgres, type PostgresServer } from '../helpers/postgres';
import { startS3, type S3Server } from '../helpers/s3';
import { multipart, wavFile } from '../library/media';
import type { HubProcess } from '../helpers/hub-process';
import { removeTempDirs } from '../helpers/temp-dir';
import { TestClient } from '../realtime/realtime-rig';

const [LIVING_ROOM, KIDS] = DEFAULT_VIRTUAL_PLAYERS.map((spec) => spec.deviceId) as [string, string];
/** The takeover bound the README promises: the lease (10 s) plus a renewal period, well inside 30 s. */
const TAKEOVER_MS = 30_000;

interface Answer<T> {
  status: number;
  body: T;
}

async function call<T = Record<string, unknown>>(base: string, method: string, path: string, options: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer<T>> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}), ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...options.headers },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : {}) as T };
}

async function signIn(base: string, headers: Record<string, string> = {}): Promise<{ accessToken: string; refreshToken: string }> {
  const answer = await call<{ accessToken: string; refreshToken: string }>(base, 'POST', '/api/auth/login', { body: ADMIN, headers });
  expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
  return answer.body;
}

async function health(base: string, token: string): Promise<HealthReport> {
  const answer = await call<HealthReport>(base, 'GET', '/api/system/health', { token });
  return answer.body;
}

/** Polls the instance's health (nothing announces a takeover to a client) until `accept` holds. */
async function healthWhen(base: string, token: string, accept: (report: HealthReport) => boolean, timeoutMs: number): Promise<HealthReport> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const report = await health(base, token).catch(() => undefined);
    if (report && accept(report)) return report;
    if (Date.now() > deadline) throw new Error(`the instance at ${base} did not get there in ${timeoutMs} ms: ${JSON.stringify(report?.components.cluster)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Several hub instances, as deploy/ runs them: hub processes (configured by the environment,
 * as in deploy/compose.yaml) on one Redis and one Mosquitto home broker, behind nginx with the
 * locations file deploy/nginx ships. Instance B starts first and leads (it holds the virtual
 * cloud and its players); A follows. Everything is checked from outside: HTTP and WebSocket
 * through nginx or on one instance, the house's MQTT client on the home broker.
 * The store is on one PostgreSQL and the audio in one S3-compatible bucket; each instance has its own data directory.
 */
describe('several hub instances on one Redis, behind nginx', function () {
  this.timeout(120_000);
  let cluster: HubCluster;
  let postgres: PostgresServer;
  let s3: S3Server;
  let mosquitto: HubCluster['mosquitto'];
  let nginx: HubCluster['nginx'];
  let a: HubProcess;
  let b: HubProcess;
  let urlA: string;
  let urlB: string;
  let token: string;
  const closers: Array<() => Promise<void> | void> = [];

  before(async () => {
    // The first instance started leads: b.
    postgres = await startPostgres();
    s3 = await startS3();
    // Each instance has its own data directory: the store is on PostgreSQL, the audio on S3.
    cluster = await startHubCluster({ names: ['b', 'a'], separateDataDirs: true, env: { YOTO_DATABASE_URL: await postgres.createDatabase(), YOTO_OBJECT_STORE_URL: s3.url } });
    ({ mosquitto, nginx } = cluster);
    a = cluster.hubs.get('a')!;
    b = cluster.hubs.get('b')!;
    urlA = a.url;
    urlB = b.url;
    token = (await signIn(nginx.url)).accessToken;
  });

  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  after(async () => {
    await cluster?.stop();
    await s3?.stop();
    await postgres?.stop();
    await removeTempDirs();
  });

  async function client(url: string): Promise<TestClient> {
    const socket = await TestClient.connect(url.replace(/^http/, 'ws') + '/ws', token, 'protocol');
    closers.push(() => socket.ws.terminate());
    return socket;
  }

  it('has exactly one leader, shown with Redis in each instance health', async () => {
    const [healthA, healthB] = [await health(urlA, token), await health(urlB, token)];
    expect(healthB.components.cluster).to.include({ role: 'leader', instanceId: 'b', status: 'ok' });
    expect(healthA.components.cluster).to.include({ role: 'follower', instanceId: 'a', leader: 'b', status: 'ok' });
    expect(healthA.components.cluster?.['redis']).to.include({ state: 'ready' });
    expect(healthA.components.cloud).to.include({ state: 'follower', leader: 'b' });
    expect(healthB.components.cloud).to.include({ state: 'running', active: 'virtual' });
    expect(healthA.status).to.equal('ok');
  });

  it('shows a WebSocket client on the follower, and one through nginx, what the leader ingested', async () => {
    const onA = await client(urlA);
    const viaNginx = await client(nginx.url);
    const first = await onA.subscribe(`device.${KIDS}`);
    expect(first.map((m) => m.type)).to.include('device.status');
    await viaNginx.subscribe(`device.${KIDS}`);
    const [markA, markN] = [onA.mark, viaNginx.mark];
    // Sent to the leader itself: it carries the command out and ingests what the player reports.
    const answer = await call(urlB, 'POST', `/api/devices/${KIDS}/command`, { token, body: { command: 'play', card_id: 'demo1' } });
    expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
    for (const socket of [onA, viaNginx]) {
      const mark = socket === onA ? markA : markN;
      const playing = await socket.next('device.playback', (m) => m.deviceId === KIDS && m.data.state === 'playing', mark);
      expect(playing.data).to.include({ card_id: 'demo1' });
      await socket.next('device.event', (m) => m.event.type === 'card_inserted', mark);
    }
    // The REST view of the follower is the leader's too.
    const status = await call<{ playback: { state: string } }>(urlA, 'GET', `/api/devices/${KIDS}/status`, { token });
    expect(status.body.playback.state).to.equal('playing');
    // Each event arrives once, in order, on every instance: a later one is the barrier.
    const later = await call(urlB, 'POST', `/api/devices/${KIDS}/command`, { token, body: { command: 'volume', volume: 25 } });
    expect(later.status, JSON.stringify(later.body)).to.equal(200);
    for (const socket of [onA, viaNginx]) {
      const mark = socket === onA ? markA : markN;
      await socket.next('device.event', (m) => m.event.type === 'volume_changed' && m.event['volume'] === 25, mark);
      const types = socket.since(mark).flatMap((m) => (m.type === 'device.event' ? [m.event.type] : []));
      expect(types.filter((type) => type === 'card_inserted'), types.join(' ')).to.have.length(1);
      expect(types.indexOf('card_inserted')).to.be.below(types.lastIndexOf('volume_changed'));
    }
  });

  it('carries a command sent to the follower to the player through the leader, and tells the caller', async () => {
    const watcher = await BrokerWatcher.connect(mosquitto.url, ['yoto/+/playback']);
    closers.push(() => watcher.close());
    const mark = watcher.mark;
    const answer = await call<{ command: string }>(urlA, 'POST', `/api/devices/${KIDS}/command`, { token, body: { command: 'pause' } });
    expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
    expect(answer.body.command).to.equal('pause');
    // Only the leader bridges the home broker: the house sees the pause there.
    expect(await watcher.nextOn(`yoto/${KIDS}/playback`, (p) => p['state'] === 'paused', mark)).to.include({ card_id: 'demo1' });
    // A refusal comes back as the same error the leader would give.
    const refused = await call<{ error: { code: string } }>(urlA, 'POST', `/api/devices/${KIDS}/command`, { token, body: { command: 'play', card_id: 'no-such-card' } });
    expect(refused.status).to.be.within(400, 499);
  });

  it('answers on the follower what needs the Yoto cloud connection (cards, player settings) through the leader', async () => {
    const [onA, onB] = [await call<{ cards: Array<{ cardId: string }> }>(urlA, 'GET', '/api/cards', { token }), await call<{ cards: Array<{ cardId: string }> }>(urlB, 'GET', '/api/cards', { token })];
    expect(onA.status, JSON.stringify(onA.body)).to.equal(200);
    expect(onA.body.cards.map((card) => card.cardId)).to.include('demo1').and.to.deep.equal(onB.body.cards.map((card) => card.cardId));
    const changed = await call<{ dayBrightness: unknown }>(urlA, 'PATCH', `/api/devices/${LIVING_ROOM}/settings`, { token, body: { dayBrightness: 80 } });
    expect(changed.status, JSON.stringify(changed.body)).to.equal(200);
    expect(changed.body.dayBrightness).to.equal(80);
    const read = await call<{ dayBrightness: unknown }>(urlB, 'GET', `/api/devices/${LIVING_ROOM}/settings`, { token });
    expect(read.body.dayBrightness).to.equal(80);
  });

  async function upload(base: string, data: Buffer): Promise<{ id: string }> {
    const { body, contentType } = multipart([{ name: 'file', fileName: 'tone.wav', data }]);
    const answer = await fetch(`${base}/api/audio`, { method: 'POST', body, headers: { 'content-type': contentType, authorization: `Bearer ${token}` } });
    expect(answer.status, await answer.clone().text()).to.equal(201);
    return (await answer.json()) as { id: string };
  }

  async function range(base: string, id: string, from: number, to: number): Promise<{ status: number; bytes: Buffer }> {
    const answer = await fetch(`${base}/api/audio/${id}/stream`, { headers: { authorization: `Bearer ${token}`, range: `bytes=${from}-${to}` } });
    return { status: answer.status, bytes: Buffer.from(await answer.arrayBuffer()) };
  }

  it('streams with Range from one instance a file uploaded through the other (one PostgreSQL, one bucket)', async () => {
    const wav = wavFile(2);
    const record = await upload(urlA, wav);
    expect(await s3.keys()).to.have.length.greaterThan(0);
    const fromB = await range(urlB, record.id, 1000, 1999);
    expect(fromB.status).to.equal(206);
    expect(fromB.bytes.equals(wav.subarray(1000, 2000))).to.equal(true);
    const viaNginx = await range(nginx.url, record.id, 0, 43);
    expect(viaNginx.status).to.equal(206);
    expect(viaNginx.bytes.equals(wav.subarray(0, 44))).to.equal(true);
  });

  it('detects a refresh token used again on another instance, and signs that sign-in out everywhere', async () => {
    const first = await signIn(urlA);
    const renewed = await call<{ accessToken: string; refreshToken: string }>(urlA, 'POST', '/api/auth/refresh', { body: { refreshToken: first.refreshToken } });
    expect(renewed.status).to.equal(200);
    const reused = await call<{ error: { code: string } }>(urlB, 'POST', '/api/auth/refresh', { body: { refreshToken: first.refreshToken } });
    expect(reused.status).to.equal(401);
    expect(reused.body.error.code).to.equal('refresh_token_reused');
    expect((await call(urlA, 'GET', '/api/auth/me', { token: renewed.body.accessToken })).status).to.equal(401);
  });

  it('takes commands from the house on the home broker (yoto/<id>/commands) once, through the leader', async () => {
    const watcher = await BrokerWatcher.connect(mosquitto.url, ['yoto/+/events', 'yoto/+/playback']);
    closers.push(() => watcher.close());
    const mark = watcher.mark;
    await watcher.publish(`yoto/${LIVING_ROOM}/commands`, JSON.stringify({ command: 'play', card_id: 'demo1' }));
    await watcher.nextOn(`yoto/${LIVING_ROOM}/playback`, (p) => p['state'] === 'playing', mark);
    await watcher.nextOn(`yoto/${LIVING_ROOM}/events`, (e) => e['type'] === 'command_completed', mark);
    // Everything the bridge said went out once: the follower does not bridge.
    const completed = watcher.messages.slice(mark).filter((m) => m.topic === `yoto/${LIVING_ROOM}/events` && (JSON.parse(m.text) as { type?: string }).type === 'command_completed');
    expect(completed).to.have.length(1);
  });

  it('refuses on every instance an access token signed out on one', async () => {
    const session = await signIn(urlA);
    const socketOnB = await TestClient.connect(urlB.replace(/^http/, 'ws') + '/ws', session.accessToken, 'protocol');
    closers.push(() => socketOnB.ws.terminate());
    expect((await call(urlB, 'GET', '/api/auth/me', { token: session.accessToken })).status).to.equal(200);
    const out = await call(urlA, 'POST', '/api/auth/logout', { token: session.accessToken, body: { refreshToken: session.refreshToken } });
    expect(out.status).to.equal(204);
    expect((await socketOnB.closed).code).to.equal(4401);
    expect((await call(urlB, 'GET', '/api/auth/me', { token: session.accessToken })).status).to.equal(401);
  });

  it('counts sign-in attempts of one client address on every instance together', async () => {
    // The address nginx forwards (X-Forwarded-For) is the client's; this one is used by no other test.
    const from = { 'x-forwarded-for': '198.51.100.23' };
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 12; attempt++) {
      const answer = await call(attempt % 2 === 0 ? urlA : urlB, 'POST', '/api/auth/login', { body: { email: ADMIN.email, password: 'wrong password' }, headers: from });
      statuses.push(answer.status);
    }
    // Ten a minute per address (the default), whichever instance answers.
    expect(statuses.slice(0, 10).every((status) => status === 401), statuses.join(' ')).to.equal(true);
    expect(statuses.slice(10)).to.deep.equal([429, 429]);
    // Another address is not limited.
    expect((await signIn(urlB, { 'x-forwarded-for': '198.51.100.24' })).accessToken).to.be.a('string');
  });

  it('moves the cloud connection to the other instance when the leader is killed, losing nothing acknowledged', async () => {
    const onA = await client(urlA);
    await onA.subscribe(`device.${KIDS}`);
    // Acknowledged by the leader just before it dies: a file it stored (record in PostgreSQL, bytes in the bucket).
    const wav = wavFile(1);
    const stored = await upload(urlB, wav);
    await b.kill();
    // Sent while nobody leads: it waits for the next leader, and is confirmed or reported failed, never dropped.
    const volume = await call(urlA, 'POST', `/api/devices/${KIDS}/command`, { token, body: { command: 'volume', volume: 25 } });
    expect(volume.status, JSON.stringify(volume.body)).to.equal(200);
    // Within the README's bound, or healthWhen fails.
    const report = await healthWhen(urlA, token, (h) => h.components.cluster?.['role'] === 'leader' && h.components.cloud['state'] === 'running', TAKEOVER_MS);
    expect(report.components.cluster).to.include({ role: 'leader', leader: 'a' });
    const status = await call<{ playback: { volume: number } }>(nginx.url, 'GET', `/api/devices/${KIDS}/status`, { token });
    expect(status.body.playback.volume).to.equal(25);

    // The new leader follows the players: a command through nginx reaches one, and the client on A sees it.
    const mark = onA.mark;
    const play = await call(nginx.url, 'POST', `/api/devices/${KIDS}/command`, { token, body: { command: 'play', card_id: 'demo1' } });
    expect(play.status, JSON.stringify(play.body)).to.equal(200);
    await onA.next('device.playback', (m) => m.deviceId === KIDS && m.data.state === 'playing', mark);
    const kept = await range(nginx.url, stored.id, 0, wav.length - 1);
    expect(kept.status).to.equal(206);
    expect(kept.bytes.equals(wav)).to.equal(true);
  });
});
