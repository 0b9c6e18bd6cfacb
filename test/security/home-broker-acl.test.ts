import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Hub } from '../../server/hub';
import { DEFAULT_VIRTUAL_PLAYERS } from '../../server/virtual/contracts';
import { call, inviteMember, type SignIn } from '../hub/api-world';
import { BrokerWatcher } from '../helpers/broker-watcher';
import { makeTempDir, removeTempDirs } from '../helpers/temp-dir';
import { HOUSE_ADMIN, adapterLogin, houseLogin, startTestHub, stopTestHub } from '../helpers/test-hub';

const [LIVING_ROOM, KIDS] = DEFAULT_VIRTUAL_PLAYERS.map((spec) => spec.deviceId) as [string, string];
const MEMBER_PASSWORD = 'another long secret';

/** Connects, or resolves to the broker's refusal. */
async function tryConnect(url: string, options: IClientOptions): Promise<MqttClient | Error> {
  try {
    return await mqtt.connectAsync(url, { reconnectPeriod: 0, ...options });
  } catch (error) {
    return error as Error;
  }
}

/**
 * Everything the broker delivers on `filters` before a marker retained on a house topic
 * subscribed afterwards: the broker sends retained messages in subscription order, so once the
 * marker is in, whatever the first subscription could deliver has been delivered.
 */
async function retainedVisibleTo(watcher: BrokerWatcher, marker: string): Promise<string[]> {
  await watcher.client.subscribeAsync(`house/marker/${marker}`, { qos: 1 });
  await watcher.next((m) => m.topic === `house/marker/${marker}`);
  return watcher.messages.map((m) => m.topic).filter((topic) => !topic.startsWith('house/'));
}

describe('the embedded home broker: users, ACL, client ids, TLS', function () {
  this.timeout(60_000);
  let hub: Hub | undefined;
  const closers: Array<() => Promise<void>> = [];

  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
    await stopTestHub(hub);
    hub = undefined;
  });
  after(removeTempDirs);

  async function watcher(filters: string[], options: IClientOptions = {}): Promise<BrokerWatcher> {
    const w = await BrokerWatcher.connect(hub!.broker.url, filters, { reconnectPeriod: 0, ...options });
    closers.push(() => w.close());
    return w;
  }

  /** A marker retained on a house topic (anonymous clients may use those). */
  async function retainMarker(marker: string): Promise<void> {
    const house = await mqtt.connectAsync(hub!.broker.url, { reconnectPeriod: 0 });
    await house.publishAsync(`house/marker/${marker}`, 'here', { qos: 1, retain: true });
    await house.endAsync();
  }

  async function claimKidsAsMember(): Promise<{ admin: SignIn; member: SignIn; login: IClientOptions }> {
    const adminLogin = await houseLogin(hub!);
    const signIn = await call(hub!, 'POST', '/api/auth/login', undefined, { email: adminLogin.username, password: adminLogin.password });
    expect(signIn.status, signIn.text).to.equal(200);
    const admin = signIn.json as SignIn;
    const member = await inviteMember(hub!, admin, 'kid@example.org', 'Kid');
    const claimed = await call(hub!, 'POST', '/api/devices', member.accessToken, { deviceId: KIDS, name: 'Kids room' });
    expect(claimed.status, claimed.text).to.equal(201);
    return { admin, member, login: { username: 'kid@example.org', password: MEMBER_PASSWORD } };
  }

  it('gives an anonymous client none of the hub\'s topics: it reads no yoto/, device/ or discovery message and cannot command, spoof or take the hub\'s client id', async () => {
    hub = await startTestHub();
    const admin = await watcher(['yoto/+/status', 'yoto/+/events'], await houseLogin(hub));
    await admin.nextOn(`yoto/${KIDS}/status`, (s) => s['online'] === true);
    await retainMarker('anonymous');

    const anonymous = await watcher(['yoto/#', 'device/#', 'homeassistant/#', '$SYS/#']);
    expect(await retainedVisibleTo(anonymous, 'anonymous'), 'retained messages an anonymous client got').to.deep.equal([]);

    const refusedBefore = hub.embeddedBroker!.refused.publishes;
    for (const [topic, payload] of [
      [`yoto/${KIDS}/commands`, JSON.stringify({ command: 'play', card_id: 'demo1' })],
      [`device/${KIDS}/data/status`, JSON.stringify({ status: { batteryLevel: 1 } })],
      [`yoto/${KIDS}/status`, JSON.stringify({ online: false, spoofed: true })],
      [`homeassistant/sensor/${KIDS}/battery/config`, '{}'],
    ] as const) {
      const intruder = await mqtt.connectAsync(hub.broker.url, { reconnectPeriod: 0 });
      const closed = new Promise<void>((resolve) => intruder.once('close', () => resolve()));
      intruder.publish(topic, payload, { qos: 0, retain: true });
      await closed; // Aedes answers a refused publish by closing the connection
      await intruder.endAsync(true);
    }
    expect(hub.embeddedBroker!.refused.publishes - refusedBefore).to.equal(4);

    // The hub's link is untouched, and the admin's next look at the retained status is the hub's, not a spoof.
    const takeover = await tryConnect(hub.broker.url, { clientId: hub.broker.clientId });
    expect(takeover).to.be.instanceOf(Error);
    expect(hub.broker.status).to.equal('connected');
    const fresh = await watcher([`yoto/${KIDS}/status`], await houseLogin(hub));
    expect(await fresh.nextOn(`yoto/${KIDS}/status`)).to.not.have.property('spoofed');
    expect(hub.devices.get(KIDS)?.online).to.equal(true);
  });

  it('lets a member read and command only the players registered to them, and an admin all; a deleted member gets nothing more', async () => {
    hub = await startTestHub();
    const { admin, member, login } = await claimKidsAsMember();
    await retainMarker('member');
    const adminWatcher = await watcher(['yoto/+/playback', 'yoto/+/events'], await houseLogin(hub));
    await adminWatcher.nextOn(`yoto/${LIVING_ROOM}/playback`);

    const kid = await watcher(['yoto/#', 'homeassistant/#', 'device/#'], login);
    const seen = await retainedVisibleTo(kid, 'member');
    expect(seen.some((topic) => topic === `yoto/${KIDS}/status`), 'their own player').to.equal(true);
    expect(seen.filter((topic) => topic.includes(LIVING_ROOM) || topic.startsWith('device/')), 'another player, or the Yoto side').to.deep.equal([]);

    // Their own player obeys them.
    let mark = adminWatcher.mark;
    await kid.publish(`yoto/${KIDS}/commands`, JSON.stringify({ command: 'play', card_id: 'demo1' }));
    await adminWatcher.nextOn(`yoto/${KIDS}/playback`, (p) => p['state'] === 'playing', mark);

    // Another player's commands are refused at the broker: the hub never sees them.
    const other = await mqtt.connectAsync(hub.broker.url, { reconnectPeriod: 0, ...login });
    const closed = new Promise<void>((resolve) => other.once('close', () => resolve()));
    other.publish(`yoto/${LIVING_ROOM}/commands`, JSON.stringify({ command: 'play', card_id: 'demo1' }));
    await closed;
    await other.endAsync(true);
    mark = adminWatcher.mark;
    await adminWatcher.publish(`yoto/${LIVING_ROOM}/commands`, JSON.stringify({ command: 'volume', volume: 5 }));
    const completed = await adminWatcher.nextOn(`yoto/${LIVING_ROOM}/events`, (e) => e['type'] === 'command_completed' || e['type'] === 'command_rejected', mark);
    expect(completed).to.include({ command: 'volume' });

    // Deleted: the open connection receives nothing more, and the login is refused.
    const deleted = await call(hub, 'DELETE', `/api/auth/users/${member.user.id}`, admin.accessToken);
    expect(deleted.status, deleted.text).to.equal(204);
    mark = kid.mark;
    await retainMarker('after-delete');
    await adminWatcher.publish(`yoto/${KIDS}/commands`, JSON.stringify({ command: 'pause' }));
    await adminWatcher.nextOn(`yoto/${KIDS}/playback`, (p) => p['state'] === 'paused');
    await kid.client.subscribeAsync('house/marker/after-delete', { qos: 1 });
    await kid.next((m) => m.topic === 'house/marker/after-delete', mark);
    expect(kid.messages.slice(mark).filter((m) => m.topic.startsWith('yoto/'))).to.deep.equal([]);
    expect(await tryConnect(hub.broker.url, login)).to.be.instanceOf(Error);
    expect(await tryConnect(hub.broker.url, { username: HOUSE_ADMIN.email, password: 'wrong password!' })).to.be.instanceOf(Error);
  });

  it('lets only the Yoto side publish device/...: the adapter\'s login feeds the model, a member\'s is refused', async () => {
    hub = await startTestHub();
    const { login } = await claimKidsAsMember();
    const member = await mqtt.connectAsync(hub.broker.url, { reconnectPeriod: 0, ...login });
    const closed = new Promise<void>((resolve) => member.once('close', () => resolve()));
    member.publish(`device/${KIDS}/data/events`, JSON.stringify({ playbackStatus: 'stopped' }));
    await closed;
    await member.endAsync(true);
    const adapter = adapterLogin(hub);
    const yotoSide = await mqtt.connectAsync(hub.broker.url, { reconnectPeriod: 0, ...adapter });
    closers.push(() => yotoSide.endAsync());
    expect(yotoSide.connected).to.equal(true);
    expect(await tryConnect(hub.broker.url, { ...adapter, clientId: `${adapter.clientId}-2`, password: 'not-a-token' })).to.be.instanceOf(Error);
  });

  it('refuses anonymous clients altogether with YOTO_BROKER_ANONYMOUS=off, and serves TLS beside the plain port', async () => {
    const dir = await makeTempDir('broker-tls');
    const certFile = path.join(dir, 'cert.pem');
    const keyFile = path.join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
    hub = await startTestHub({ embeddedBrokerAnonymous: 'off', embeddedBrokerTlsPort: 0, embeddedBrokerTlsCert: certFile, embeddedBrokerTlsKey: keyFile });
    expect(await tryConnect(hub.broker.url, {})).to.be.instanceOf(Error);
    const tlsUrl = hub.embeddedBroker!.tlsUrl;
    expect(tlsUrl).to.match(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    const secure = await BrokerWatcher.connect(tlsUrl!, [`yoto/${KIDS}/status`], { ...(await houseLogin(hub)), reconnectPeriod: 0, ca: fs.readFileSync(certFile) });
    closers.push(() => secure.close());
    expect(await secure.nextOn(`yoto/${KIDS}/status`)).to.have.property('online');
  });
});
